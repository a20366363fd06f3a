package controller_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
	"github.com/instorage-csi/instorage-csi/driver/pkg/controller"
	"github.com/instorage-csi/instorage-csi/driver/pkg/volumeid"
	"github.com/instorage-csi/instorage-csi/emulator/model"
	"github.com/instorage-csi/instorage-csi/sanity/harness"
)

const (
	node1 = "worker-1;iqn=iqn.2026-01.io.example:worker-1"
	node2 = "worker-2;iqn=iqn.2026-01.io.example:worker-2"
)

var ctx = context.Background()

type env struct {
	t   testing.TB
	s   *controller.Server
	emu *harness.Emulator
	st  config.Storage
}

func newEnv(t testing.TB, o harness.Options, mutate ...func(*config.Storage, *controller.Options)) *env {
	emu := harness.Start(t, o)
	st := config.Storage{Name: "emu", Type: "AS18000", BarrierPath: t.TempDir()}
	opts := controller.Options{Link: "iscsi"}
	for _, m := range mutate {
		m(&st, &opts)
	}
	s, err := controller.New([]config.Storage{st}, map[string]array.Client{"emu": emu.Client}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, s: s, emu: emu, st: st}
}

func rwo() []*csi.VolumeCapability {
	return []*csi.VolumeCapability{{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: "ext4"}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
	}}
}

func createReq(name string, size int64, params map[string]string) *csi.CreateVolumeRequest {
	if params == nil {
		params = map[string]string{"volPoolName": "Pool0"}
	}
	return &csi.CreateVolumeRequest{Name: name, CapacityRange: &csi.CapacityRange{RequiredBytes: size},
		VolumeCapabilities: rwo(), Parameters: params}
}

func (e *env) mustCreate(name string, size int64, params map[string]string) *csi.Volume {
	e.t.Helper()
	r, err := e.s.CreateVolume(ctx, createReq(name, size, params))
	if err != nil {
		e.t.Fatalf("CreateVolume %s: %v", name, err)
	}
	return r.GetVolume()
}

func (e *env) vdisks() []array.VDisk {
	e.t.Helper()
	v, err := e.emu.Client.LsVDisks(ctx, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

func (e *env) lcmaps() []array.LCMap {
	e.t.Helper()
	m, err := e.emu.Client.LsLCMaps(ctx, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *env) hosts() []array.Host {
	e.t.Helper()
	h, err := e.emu.Client.LsHosts(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return h
}

func wantCode(t testing.TB, err error, c codes.Code) {
	t.Helper()
	if status.Code(err) != c {
		t.Fatalf("got %v, want code %v", err, c)
	}
}

func TestCreateVolume_SameNameSameParams_SameVolume(t *testing.T) {
	e := newEnv(t, harness.Options{})
	a := e.mustCreate("pvc-1", 1<<30, nil)
	b := e.mustCreate("pvc-1", 1<<30, nil)
	if a.VolumeId != b.VolumeId || a.CapacityBytes != 1<<30 {
		t.Fatalf("retry returned %v, first %v", b, a)
	}
	if n := len(e.vdisks()); n != 1 {
		t.Fatalf("%d vdisks on the array, want 1", n)
	}
	id, err := volumeid.ParseVolume(a.VolumeId)
	if err != nil || id.Storage != "emu" || id.UID != e.vdisks()[0].UID {
		t.Fatalf("volume id %q does not carry the vdisk_UID: %v", a.VolumeId, err)
	}
}

func TestCreateVolume_SameNameDifferentProperties_AlreadyExists(t *testing.T) {
	e := newEnv(t, harness.Options{})
	e.mustCreate("pvc-1", 1<<30, nil)
	for name, req := range map[string]*csi.CreateVolumeRequest{
		"size": createReq("pvc-1", 2<<30, nil),
		"pool": createReq("pvc-1", 1<<30, map[string]string{"volPoolName": "Pool1"}),
		"thin": createReq("pvc-1", 1<<30, map[string]string{"volPoolName": "Pool0", "volThin": "true"}),
	} {
		_, err := e.s.CreateVolume(ctx, req)
		if status.Code(err) != codes.AlreadyExists {
			t.Errorf("different %s: %v, want AlreadyExists", name, err)
		}
	}
	if n := len(e.vdisks()); n != 1 {
		t.Fatalf("%d vdisks, want 1", n)
	}
}

func TestCreateVolume_LongName_ShortDeterministicVDiskName(t *testing.T) {
	e := newEnv(t, harness.Options{})
	long := strings.Repeat("very-long-claim-name-", 10)
	a := e.mustCreate(long, 1<<30, nil)
	b := e.mustCreate(long, 1<<30, nil)
	v := e.vdisks()
	if a.VolumeId != b.VolumeId || len(v) != 1 || len(v[0].Name) > volumeid.MaxNameLen {
		t.Fatalf("ids %s/%s, vdisks %+v", a.VolumeId, b.VolumeId, v)
	}
}

func TestCreateVolume_BadParameters_InvalidArgument_NothingCreated(t *testing.T) {
	e := newEnv(t, harness.Options{})
	for _, p := range []map[string]string{
		{"volPoolName": "NoSuchPool"},
		{"volPoolName": "Pool0", "volLevel": "raid"},
		{"volPoolName": "Pool0", "devName": "other-array"},
	} {
		_, err := e.s.CreateVolume(ctx, createReq("pvc-bad", 1<<30, p))
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("%v: %v, want InvalidArgument", p, err)
		}
	}
	if n := len(e.vdisks()); n != 0 {
		t.Fatalf("%d vdisks left", n)
	}
}

func TestCreateVolume_PoolFull_ResourceExhausted(t *testing.T) {
	e := newEnv(t, harness.Options{})
	_, err := e.s.CreateVolume(ctx, createReq("pvc-huge", 4<<40, nil))
	wantCode(t, err, codes.ResourceExhausted)
}

func TestSnapshot_LifecycleAndDeleteOrder(t *testing.T) {
	e := newEnv(t, harness.Options{})
	vol := e.mustCreate("pvc-src", 1<<30, nil)
	snapReq := &csi.CreateSnapshotRequest{Name: "snapshot-1", SourceVolumeId: vol.VolumeId}
	s1, err := e.s.CreateSnapshot(ctx, snapReq)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := e.s.CreateSnapshot(ctx, snapReq)
	if err != nil || s2.Snapshot.SnapshotId != s1.Snapshot.SnapshotId || !s1.Snapshot.ReadyToUse {
		t.Fatalf("retry %v %v; first %v", s2, err, s1)
	}
	if s1.Snapshot.SizeBytes != vol.CapacityBytes || s1.Snapshot.SourceVolumeId != vol.VolumeId {
		t.Fatalf("snapshot %v", s1.Snapshot)
	}
	other := e.mustCreate("pvc-other", 1<<30, nil)
	_, err = e.s.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snapshot-1", SourceVolumeId: other.VolumeId})
	wantCode(t, err, codes.AlreadyExists)

	// A snapshot ID is not a volume ID: DeleteVolume cannot remove it.
	if _, err := volumeid.ParseVolume(s1.Snapshot.SnapshotId); err == nil {
		t.Fatal("snapshot id parses as a volume id")
	}
	_, err = e.s.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: vol.VolumeId})
	wantCode(t, err, codes.FailedPrecondition)

	// Restore into a new volume, then the snapshot, then the source go.
	clone, err := e.s.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-restore", VolumeCapabilities: rwo(),
		Parameters:          map[string]string{"volPoolName": "Pool0"},
		VolumeContentSource: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: s1.Snapshot.SnapshotId}}}})
	if err != nil {
		t.Fatal(err)
	}
	if clone.Volume.CapacityBytes != vol.CapacityBytes || clone.Volume.ContentSource == nil {
		t.Fatalf("restore %v", clone.Volume)
	}
	list, err := e.s.ListSnapshots(ctx, &csi.ListSnapshotsRequest{SourceVolumeId: vol.VolumeId})
	if err != nil || len(list.Entries) != 1 {
		t.Fatalf("ListSnapshots: %v %v", list, err)
	}
	for _, id := range []string{clone.Volume.VolumeId} {
		if _, err := e.s.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.s.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: s1.Snapshot.SnapshotId}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: s1.Snapshot.SnapshotId}); err != nil {
		t.Fatalf("second DeleteSnapshot: %v", err)
	}
	for _, id := range []string{vol.VolumeId, other.VolumeId} {
		if _, err := e.s.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id}); err != nil {
			t.Fatal(err)
		}
	}
	if v, m := e.vdisks(), e.lcmaps(); len(v) != 0 || len(m) != 0 {
		t.Fatalf("left on the array: vdisks %+v lcmaps %+v", v, m)
	}
}

func TestPublish_HostMapAndPaths_ThenUnpublishRemovesHost(t *testing.T) {
	e := newEnv(t, harness.Options{})
	vol := e.mustCreate("pvc-pub", 1<<30, nil)
	req := &csi.ControllerPublishVolumeRequest{VolumeId: vol.VolumeId, NodeId: node1, VolumeCapability: rwo()[0]}
	r1, err := e.s.ControllerPublishVolume(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := e.s.ControllerPublishVolume(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	pc := r1.PublishContext
	if pc["linkType"] != "iscsi" || pc["targetPortals"] != "127.0.0.1:3260,127.0.0.2:3260" || pc["targetLUNs"] != "0,0" ||
		!strings.EqualFold(pc["vdiskUID"], e.vdisks()[0].UID) || len(strings.Split(pc["targetIQNs"], ",")) != 2 {
		t.Fatalf("publish context %v", pc)
	}
	if r2.PublishContext["targetLUNs"] != pc["targetLUNs"] {
		t.Fatalf("retry changed the LUN: %v", r2.PublishContext)
	}
	h := e.hosts()
	if len(h) != 1 || h[0].Name != "worker-1" {
		t.Fatalf("hosts %+v", h)
	}
	// RWO: another node may not take it.
	_, err = e.s.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: vol.VolumeId, NodeId: node2, VolumeCapability: rwo()[0]})
	wantCode(t, err, codes.FailedPrecondition)

	got, err := e.s.ControllerGetVolume(ctx, &csi.ControllerGetVolumeRequest{VolumeId: vol.VolumeId})
	if err != nil || len(got.Status.PublishedNodeIds) != 1 || got.Status.PublishedNodeIds[0] != node1 {
		t.Fatalf("ControllerGetVolume %v %v", got, err)
	}
	lv, err := e.s.ListVolumes(ctx, &csi.ListVolumesRequest{})
	if err != nil || len(lv.Entries) != 1 || len(lv.Entries[0].Status.PublishedNodeIds) != 1 {
		t.Fatalf("ListVolumes %v %v", lv, err)
	}
	for i := 0; i < 2; i++ {
		if _, err := e.s.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: vol.VolumeId, NodeId: node1}); err != nil {
			t.Fatal(err)
		}
	}
	if h := e.hosts(); len(h) != 0 {
		t.Fatalf("host left after the last unmap: %+v", h)
	}
}

func TestPublish_PortalTableRestrictsPaths(t *testing.T) {
	e := newEnv(t, harness.Options{}, func(st *config.Storage, _ *controller.Options) {
		st.PortalTable = config.PortalTable{Table: map[string][]string{"worker-1": {"127.0.0.2"}}}
	})
	vol := e.mustCreate("pvc-pt", 1<<30, nil)
	r, err := e.s.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: vol.VolumeId, NodeId: node1, VolumeCapability: rwo()[0]})
	if err != nil || r.PublishContext["targetPortals"] != "127.0.0.2:3260" {
		t.Fatalf("%v %v", r, err)
	}
}

func TestPublish_PredefinedHostMissing_NotFound(t *testing.T) {
	e := newEnv(t, harness.Options{})
	vol := e.mustCreate("pvc-x", 1<<30, nil)
	_, err := e.s.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: vol.VolumeId, NodeId: "no-such-host", VolumeCapability: rwo()[0]})
	wantCode(t, err, codes.NotFound)
}

func TestExpand_Basic_AndRefusedWithSnapshots(t *testing.T) {
	e := newEnv(t, harness.Options{})
	vol := e.mustCreate("pvc-grow", 1<<30, nil)
	r, err := e.s.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: vol.VolumeId, CapacityRange: &csi.CapacityRange{RequiredBytes: 3 << 30}})
	if err != nil || r.CapacityBytes != 3<<30 || !r.NodeExpansionRequired || e.vdisks()[0].Capacity != 3<<30 {
		t.Fatalf("%v %v", r, err)
	}
	if _, err := e.s.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snap-g", SourceVolumeId: vol.VolumeId}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: vol.VolumeId, CapacityRange: &csi.CapacityRange{RequiredBytes: 4 << 30}})
	wantCode(t, err, codes.FailedPrecondition)
}

func aaParams() map[string]string {
	return map[string]string{"volPoolName": "Pool0", "volAuxPoolName": "Pool1", "volLevel": "aa", "volIOGrp": "0", "volAuxIOGrp": "1"}
}

func TestActiveActive_CreateExpandDelete(t *testing.T) {
	topo := model.TwoSiteTopology()
	e := newEnv(t, harness.Options{Topology: &topo})
	vol := e.mustCreate("pvc-aa", 1<<30, aaParams())
	if n := len(e.vdisks()); n != 4 {
		t.Fatalf("%d vdisks for an aa volume, want 4", n)
	}
	lv, err := e.s.ListVolumes(ctx, &csi.ListVolumesRequest{})
	if err != nil || len(lv.Entries) != 1 {
		t.Fatalf("ListVolumes shows aux/change vdisks: %v %v", lv, err)
	}
	r, err := e.s.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: vol.VolumeId, CapacityRange: &csi.CapacityRange{RequiredBytes: 2 << 30}})
	if err != nil || r.CapacityBytes != 2<<30 {
		t.Fatalf("aa expand: %v %v", r, err)
	}
	for _, v := range e.vdisks() {
		if v.Capacity != 2<<30 {
			t.Errorf("vdisk %s (%s) is %d bytes after expand", v.Name, v.Function, v.Capacity)
		}
	}
	if _, err := os.Stat(filepath.Join(e.st.BarrierPath, "aa-extend-failure.barrier")); err == nil {
		t.Fatal("barrier written on success")
	}
	if _, err := e.s.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: vol.VolumeId}); err != nil {
		t.Fatal(err)
	}
	if v, m := e.vdisks(), e.lcmaps(); len(v) != 0 || len(m) != 0 {
		t.Fatalf("left: %+v %+v", v, m)
	}
}

// A failure in the middle of the nine steps cannot be undone: the barrier
// is written and blocks the next active-active expand.
func TestActiveActive_ExpandFailure_WritesBarrier(t *testing.T) {
	topo := model.TwoSiteTopology()
	e := newEnv(t, harness.Options{Topology: &topo})
	vol := e.mustCreate("pvc-aa", 1<<30, aaParams())
	if _, err := e.emu.Faults.Add(faultRule("mkrcrelationship", "CMMVC5753E")); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: vol.VolumeId, CapacityRange: &csi.CapacityRange{RequiredBytes: 2 << 30}})
	if err == nil {
		t.Fatal("expand succeeded through an injected failure")
	}
	barrier := filepath.Join(e.st.BarrierPath, "aa-extend-failure.barrier")
	text, rerr := os.ReadFile(barrier)
	if rerr != nil || !strings.Contains(string(text), "pvc-aa") {
		t.Fatalf("barrier: %q %v", text, rerr)
	}
	e.emu.Faults.Clear()
	_, err = e.s.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: vol.VolumeId, CapacityRange: &csi.CapacityRange{RequiredBytes: 3 << 30}})
	wantCode(t, err, codes.FailedPrecondition)
}

// Tokens are positions in id order, not offsets: deleting the last volume
// of a page does not make the next page skip one.
func TestListVolumes_PagingSurvivesDeletes(t *testing.T) {
	e := newEnv(t, harness.Options{})
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, e.mustCreate(fmt.Sprintf("pvc-page-%d", i), 1<<30, nil).VolumeId)
	}
	p1, err := e.s.ListVolumes(ctx, &csi.ListVolumesRequest{MaxEntries: 2})
	if err != nil || len(p1.Entries) != 2 || p1.NextToken == "" {
		t.Fatalf("page 1: %v %v", p1, err)
	}
	if _, err := e.s.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: p1.Entries[1].Volume.VolumeId}); err != nil {
		t.Fatal(err)
	}
	p2, err := e.s.ListVolumes(ctx, &csi.ListVolumesRequest{MaxEntries: 2, StartingToken: p1.NextToken})
	if err != nil || len(p2.Entries) != 2 || p2.Entries[0].Volume.VolumeId != ids[2] || p2.Entries[1].Volume.VolumeId != ids[3] {
		t.Fatalf("page 2 after a delete: %v %v (want %s, %s)", p2, err, ids[2], ids[3])
	}
	p3, err := e.s.ListVolumes(ctx, &csi.ListVolumesRequest{StartingToken: p2.NextToken})
	if err != nil || len(p3.Entries) != 1 || p3.Entries[0].Volume.VolumeId != ids[4] || p3.NextToken != "" {
		t.Fatalf("page 3: %v %v", p3, err)
	}
	_, err = e.s.ListVolumes(ctx, &csi.ListVolumesRequest{StartingToken: "garbage"})
	wantCode(t, err, codes.Aborted)
}

// A volume deleted while still published (rmvdisk -force drops the map):
// the late unpublish still removes the node's now empty host object.
func TestUnpublish_AfterDelete_RemovesEmptyHost(t *testing.T) {
	e := newEnv(t, harness.Options{})
	vol := e.mustCreate("pvc-gone", 1<<30, nil)
	if _, err := e.s.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: vol.VolumeId, NodeId: node1, VolumeCapability: rwo()[0]}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: vol.VolumeId}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: vol.VolumeId, NodeId: node1}); err != nil {
		t.Fatal(err)
	}
	e.assertClean(t)
}

// An active-active volume is reachable through both sites' nodes, each path
// with the LUN of its node's I/O group, and its host carries the site.
func TestActiveActive_Publish_PathsInBothIOGroups(t *testing.T) {
	topo := model.TwoSiteTopology()
	e := newEnv(t, harness.Options{Topology: &topo})
	vol := e.mustCreate("pvc-aa-pub", 1<<30, aaParams())
	r, err := e.s.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: vol.VolumeId, NodeId: node1, VolumeCapability: rwo()[0]})
	if err != nil {
		t.Fatal(err)
	}
	portals := strings.Split(r.PublishContext["targetPortals"], ",")
	luns := strings.Split(r.PublishContext["targetLUNs"], ",")
	if len(portals) != 4 || len(luns) != 4 {
		t.Fatalf("want a path through each of the 4 nodes: %v", r.PublishContext)
	}
	h, err := e.emu.Client.LsHost(ctx, "worker-1")
	if err != nil || h.SiteName != "site1" {
		t.Fatalf("host %+v %v: want site1 (the master's I/O group)", h, err)
	}
}

func TestPublish_LinkMismatch_FailedPrecondition(t *testing.T) {
	e := newEnv(t, harness.Options{})
	vol := e.mustCreate("pvc-link", 1<<30, nil)
	_, err := e.s.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: vol.VolumeId,
		NodeId: "worker-9;wwpn=10000000C9A1B2C3", VolumeCapability: rwo()[0]})
	wantCode(t, err, codes.FailedPrecondition)
	if h := e.hosts(); len(h) != 0 {
		t.Fatalf("host made for a mismatched node: %+v", h)
	}
}

// A controller-publish secret with chapSecret sets it on the node's host object
// before the vdisk is mapped (lsiscsiauth shows it), a changed Secret replaces
// it, a publish without one leaves it, and a malformed one is refused before
// anything is made on the array, without echoing it.
func TestPublish_CHAPSecretSetOnHost(t *testing.T) {
	e := newEnv(t, harness.Options{})
	v1 := e.mustCreate("pvc-chap-1", 1<<30, nil)
	v2 := e.mustCreate("pvc-chap-2", 1<<30, nil)
	auth := func() (method, secret string) {
		t.Helper()
		rows, err := e.emu.Client.LsISCSIAuth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.Name == "worker-1" {
				return r.Method, r.Secret
			}
		}
		t.Fatalf("no lsiscsiauth row for worker-1: %+v", rows)
		return "", ""
	}
	publish := func(vol *csi.Volume, secrets map[string]string) error {
		_, err := e.s.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: vol.VolumeId, NodeId: node1,
			VolumeCapability: rwo()[0], Secrets: secrets})
		return err
	}

	const bad = "has space!"
	err := publish(v1, map[string]string{"chapSecret": bad})
	wantCode(t, err, codes.InvalidArgument)
	if strings.Contains(err.Error(), bad) {
		t.Fatalf("error echoes the secret: %v", err)
	}
	if h := e.hosts(); len(h) != 0 {
		t.Fatalf("a refused publish made a host: %+v", h)
	}

	if err := publish(v1, map[string]string{"chapSecret": "FirstSecret2345"}); err != nil {
		t.Fatal(err)
	}
	if m, s := auth(); m != "chap" || s != "FirstSecret2345" {
		t.Fatalf("after publish: %s %q", m, s)
	}
	if err := publish(v2, map[string]string{"chapSecret": "RotatedSecret678"}); err != nil {
		t.Fatal(err)
	}
	if m, s := auth(); m != "chap" || s != "RotatedSecret678" {
		t.Fatalf("after a publish with a rotated secret: %s %q", m, s)
	}
	if err := publish(v1, nil); err != nil { // retry of an existing map, no Secret
		t.Fatal(err)
	}
	if m, s := auth(); m != "chap" || s != "RotatedSecret678" {
		t.Fatalf("a publish without a Secret changed it: %s %q", m, s)
	}
	if maps, err := e.emu.Client.LsHostVDiskMap(ctx, "worker-1"); err != nil || len(maps) != 2 {
		t.Fatalf("maps of worker-1: %+v %v", maps, err)
	}
}

func TestPublish_CHAPOnFC_InvalidArgument(t *testing.T) {
	e := newEnv(t, harness.Options{}, func(_ *config.Storage, o *controller.Options) { o.Link = "fc" })
	vol := e.mustCreate("pvc-fc-chap", 1<<30, nil)
	_, err := e.s.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: vol.VolumeId,
		NodeId: "worker-9;wwpn=10000000C9A1B2C3", VolumeCapability: rwo()[0], Secrets: map[string]string{"chapSecret": "FirstSecret2345"}})
	wantCode(t, err, codes.InvalidArgument)
}
