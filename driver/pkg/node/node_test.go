package node

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	mount "k8s.io/mount-utils"

	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/hostexec/hostexectest"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/hosttest"
)

const (
	volA        = "storage-01:60050760008989C0D00000000002AA53"
	initiator   = "iqn.1993-08.org.debian:01:abcdef"
	testNodeTag = "worker-1"
)

// env is one node: fake kernel + fake iscsid/multipathd + fake mounter + fs tools.
type env struct {
	t         *testing.T
	h         *hosttest.Host
	mounter   *mount.FakeMounter
	stateDir  string
	dir       string
	mu        sync.Mutex
	formatted map[string]string // device → fs type
	srv       *Server
}

func newEnv(t *testing.T, hc config.Host) *env {
	h := hosttest.New(t, hosttest.FastSettings())
	dir := t.TempDir()
	e := &env{t: t, h: h, mounter: mount.NewFakeMounter(nil), stateDir: filepath.Join(dir, "state"), dir: dir, formatted: map[string]string{}}
	if err := os.WriteFile(filepath.Join(dir, "initiatorname.iscsi"), []byte("## generated\nInitiatorName="+initiator+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.X.Handle("blkid", func(args []string) (string, int) {
		e.mu.Lock()
		defer e.mu.Unlock()
		dev := args[len(args)-1]
		if fs := e.formatted[dev]; fs != "" {
			return "DEVNAME=" + dev + "\nTYPE=" + fs + "\n", 0
		}
		return "", 2 // blkid: nothing found
	})
	for _, fs := range []string{"ext4", "xfs"} {
		h.X.Handle("mkfs."+fs, func(args []string) (string, int) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.formatted[args[len(args)-1]] = fs
			return "", 0
		})
	}
	h.X.Handle("fsck", hostexectest.OK(""))
	h.X.Handle("resize2fs", hostexectest.OK(""))
	h.X.Handle("xfs_growfs", hostexectest.OK(""))
	e.srv = e.newServer(hc)
	return e
}

// newServer builds a plugin instance over the same host, as a restart would.
func (e *env) newServer(hc config.Host) *Server {
	opts := Options{DriverName: "csi-instorage", NodeName: testNodeTag, StateDir: e.stateDir,
		InitiatorNameFile: filepath.Join(e.dir, "initiatorname.iscsi"), SysRoot: e.h.K.Sys.SysRoot, DevRoot: e.h.K.Sys.DevRoot, MaxVolumesPerNode: 64}
	s, err := New(opts, hc, e.h.X, &mount.SafeFormatAndMount{Interface: e.mounter, Exec: e.h.X})
	if err != nil {
		e.t.Fatal(err)
	}
	s.connector.Sys = e.h.K.Sys // shares the fake kernel's write hook
	s.connector.ISCSI.Sys, s.connector.Multipath.Sys = e.h.K.Sys, e.h.K.Sys
	s.connector.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	return s
}

func iscsiHost() config.Host { return config.Host{Link: "iscsi"} }

func mountCap(fs string, mode csi.VolumeCapability_AccessMode_Mode) *csi.VolumeCapability {
	return &csi.VolumeCapability{AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: fs}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: mode}}
}

func blockCap() *csi.VolumeCapability {
	return &csi.VolumeCapability{AccessType: &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER}}
}

// publishContext presents LUN lun of vdisk UIDA on both portals.
func (e *env) publishContext(lun string) map[string]string {
	e.h.Present(hosttest.P1, hosttest.IQN1, atoi(lun), hosttest.UIDA)
	e.h.Present(hosttest.P2, hosttest.IQN2, atoi(lun), hosttest.UIDA)
	return map[string]string{
		CtxLinkType: "iscsi", CtxVDiskUID: strings.ToUpper(hosttest.UIDA),
		CtxTargetPortals: hosttest.P1 + "," + hosttest.P2, CtxTargetIQNs: hosttest.IQN1 + "," + hosttest.IQN2, CtxTargetLUNs: lun + "," + lun,
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func code(err error) codes.Code { return status.Code(err) }

func (e *env) stage(c *csi.VolumeCapability, pc map[string]string) (string, error) {
	staging := filepath.Join(e.dir, "staging", "globalmount")
	_, err := e.srv.NodeStageVolume(context.Background(), &csi.NodeStageVolumeRequest{VolumeId: volA, StagingTargetPath: staging, VolumeCapability: c, PublishContext: pc})
	return staging, err
}

func TestNodeGetInfo_NodeIDCarriesInitiator(t *testing.T) {
	e := newEnv(t, iscsiHost())
	r, err := e.srv.NodeGetInfo(context.Background(), &csi.NodeGetInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if r.NodeId != testNodeTag+";iqn="+initiator || r.MaxVolumesPerNode != 64 {
		t.Fatalf("NodeGetInfo = %v", r)
	}
	fcEnv := newEnv(t, config.Host{Link: "fc"})
	fcEnv.h.K.AddFCHost(3, "21000024ff3ab9c8")
	fcEnv.h.K.AddFCHost(4, "21000024FF3AB9C9")
	r, err = fcEnv.srv.NodeGetInfo(context.Background(), &csi.NodeGetInfoRequest{})
	if err != nil || r.NodeId != testNodeTag+";wwpn=21000024FF3AB9C8,21000024FF3AB9C9" {
		t.Fatalf("FC NodeGetInfo = %v, %v", r, err)
	}
	noHBA := newEnv(t, config.Host{Link: "fc"})
	if _, err := noHBA.srv.NodeGetInfo(context.Background(), &csi.NodeGetInfoRequest{}); code(err) != codes.FailedPrecondition {
		t.Fatalf("FC without HBA: want FailedPrecondition, got %v", err)
	}
}

func TestNew_RejectsBadConfig(t *testing.T) {
	e := newEnv(t, iscsiHost())
	m := &mount.SafeFormatAndMount{Interface: e.mounter, Exec: e.h.X}
	for name, hc := range map[string]config.Host{"link": {Link: "nvme"}, "fcScanLevel": {Link: "fc", FCScanLevel: "every"}} {
		if _, err := New(Options{DriverName: "d", NodeName: "n", StateDir: "/tmp/x"}, hc, e.h.X, m); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(Options{DriverName: "d"}, iscsiHost(), e.h.X, m); err == nil {
		t.Error("missing node name accepted")
	}
}

func TestStagePublishUnpublishUnstage_Filesystem(t *testing.T) {
	e := newEnv(t, iscsiHost())
	e.h.K.AutoMultipath = true
	pc := e.publishContext("4")
	capRW := mountCap("ext4", csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER)
	staging, err := e.stage(capRW, pc)
	if err != nil {
		t.Fatal(err)
	}
	dev := e.h.K.Sys.Dev("dm-0")
	if e.formatted[dev] != "ext4" {
		t.Fatalf("multipath device not formatted: %v (calls %v)", e.formatted, e.h.X.CallsOf("mkfs"))
	}
	if notMnt, _ := e.mounter.IsLikelyNotMountPoint(staging); notMnt {
		t.Fatal("staging path not mounted")
	}
	// Repeat: same answer, no second login or format.
	logins := len(e.h.X.CallsOf("iscsiadm -m node -p " + hosttest.P1 + " -T " + hosttest.IQN1 + " --login"))
	if _, err := e.stage(capRW, pc); err != nil {
		t.Fatal(err)
	}
	if n := len(e.h.X.CallsOf("iscsiadm -m node -p " + hosttest.P1 + " -T " + hosttest.IQN1 + " --login")); n != logins || len(e.h.X.CallsOf("mkfs")) != 1 {
		t.Fatalf("repeated stage logged in again (%d→%d) or reformatted (%v)", logins, n, e.h.X.CallsOf("mkfs"))
	}
	target := filepath.Join(e.dir, "pods", "vol")
	pub := &csi.NodePublishVolumeRequest{VolumeId: volA, StagingTargetPath: staging, TargetPath: target, VolumeCapability: capRW}
	if _, err := e.srv.NodePublishVolume(context.Background(), pub); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.NodePublishVolume(context.Background(), pub); err != nil {
		t.Fatalf("repeated publish: %v", err)
	}
	pubRO := &csi.NodePublishVolumeRequest{VolumeId: volA, StagingTargetPath: staging, TargetPath: target, VolumeCapability: capRW, Readonly: true}
	if _, err := e.srv.NodePublishVolume(context.Background(), pubRO); code(err) != codes.AlreadyExists {
		t.Fatalf("publish again read-only: want AlreadyExists, got %v", err)
	}
	for _, un := range []int{1, 2} {
		if _, err := e.srv.NodeUnpublishVolume(context.Background(), &csi.NodeUnpublishVolumeRequest{VolumeId: volA, TargetPath: target}); err != nil {
			t.Fatalf("unpublish #%d: %v", un, err)
		}
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("target path left behind: %v", err)
	}
	for _, un := range []int{1, 2} {
		if _, err := e.srv.NodeUnstageVolume(context.Background(), &csi.NodeUnstageVolumeRequest{VolumeId: volA, StagingTargetPath: staging}); err != nil {
			t.Fatalf("unstage #%d: %v", un, err)
		}
	}
	if len(e.h.K.Disks()) != 0 || len(e.h.K.Maps()) != 0 || len(e.h.K.Sessions()) != 0 {
		t.Fatalf("left behind: disks=%v maps=%v sessions=%v", e.h.K.Disks(), e.h.K.Maps(), e.h.K.Sessions())
	}
	if rec, _ := e.srv.state.load(volA); rec != nil {
		t.Fatalf("stage record left: %+v", rec)
	}
}

func TestStage_ExistingFilesystemIsNeverReformatted(t *testing.T) {
	e := newEnv(t, iscsiHost())
	pc := e.publishContext("0")
	pc[CtxTargetPortals], pc[CtxTargetIQNs], pc[CtxTargetLUNs] = hosttest.P1, hosttest.IQN1, "0"
	e.formatted[e.h.K.Sys.Dev("sda")] = "ext4"
	if _, err := e.stage(mountCap("ext4", csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER), pc); err != nil {
		t.Fatal(err)
	}
	if got := e.h.X.CallsOf("mkfs"); len(got) != 0 {
		t.Fatalf("formatted a disk holding ext4: %v", got)
	}
	// A disk holding xfs requested as ext4 is refused, not reformatted.
	e2 := newEnv(t, iscsiHost())
	pc2 := e2.publishContext("0")
	e2.h.K.AutoMultipath = true
	e2.formatted[e2.h.K.Sys.Dev("dm-0")] = "xfs"
	_, err := e2.stage(mountCap("ext4", csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER), pc2)
	if len(e2.h.X.CallsOf("mkfs")) != 0 {
		t.Fatalf("reformatted an xfs disk: %v", e2.h.X.CallsOf("mkfs"))
	}
	_ = err // FakeMounter mounts regardless of type; the guarantee here is "no mkfs"
}

func TestStage_BadRequests(t *testing.T) {
	e := newEnv(t, iscsiHost())
	good := e.publishContext("1")
	rw := mountCap("ext4", csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER)
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		m[k] = v
		return m
	}
	cases := map[string]struct {
		req  *csi.NodeStageVolumeRequest
		want codes.Code
	}{
		"no volume id":      {&csi.NodeStageVolumeRequest{StagingTargetPath: "/x", VolumeCapability: rw, PublishContext: good}, codes.InvalidArgument},
		"no staging":        {&csi.NodeStageVolumeRequest{VolumeId: volA, VolumeCapability: rw, PublishContext: good}, codes.InvalidArgument},
		"no capability":     {&csi.NodeStageVolumeRequest{VolumeId: volA, StagingTargetPath: "/x", PublishContext: good}, codes.InvalidArgument},
		"bad volume id":     {&csi.NodeStageVolumeRequest{VolumeId: "nope", StagingTargetPath: "/x", VolumeCapability: rw, PublishContext: good}, codes.NotFound},
		"btrfs":             {&csi.NodeStageVolumeRequest{VolumeId: volA, StagingTargetPath: "/x", VolumeCapability: mountCap("btrfs", csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER), PublishContext: good}, codes.InvalidArgument},
		"shared fs":         {&csi.NodeStageVolumeRequest{VolumeId: volA, StagingTargetPath: "/x", VolumeCapability: mountCap("ext4", csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER), PublishContext: good}, codes.InvalidArgument},
		"no context":        {&csi.NodeStageVolumeRequest{VolumeId: volA, StagingTargetPath: "/x", VolumeCapability: rw}, codes.InvalidArgument},
		"uid mismatch":      {&csi.NodeStageVolumeRequest{VolumeId: volA, StagingTargetPath: "/x", VolumeCapability: rw, PublishContext: with(CtxVDiskUID, hosttest.UIDB)}, codes.InvalidArgument},
		"lun count":         {&csi.NodeStageVolumeRequest{VolumeId: volA, StagingTargetPath: "/x", VolumeCapability: rw, PublishContext: with(CtxTargetLUNs, "1")}, codes.InvalidArgument},
		"lun not a number":  {&csi.NodeStageVolumeRequest{VolumeId: volA, StagingTargetPath: "/x", VolumeCapability: rw, PublishContext: with(CtxTargetLUNs, "1,x")}, codes.InvalidArgument},
		"chap without pass": {&csi.NodeStageVolumeRequest{VolumeId: volA, StagingTargetPath: "/x", VolumeCapability: rw, PublishContext: with(CtxCHAPUser, "u")}, codes.InvalidArgument},
	}
	for name, c := range cases {
		if _, err := e.srv.NodeStageVolume(context.Background(), c.req); code(err) != c.want {
			t.Errorf("%s: want %v, got %v", name, c.want, err)
		}
	}
	if calls := e.h.X.CallsOf("iscsiadm"); len(calls) != 0 {
		t.Fatalf("bad requests touched the host: %v", calls)
	}
}

func TestStage_DeviceNeverAppears_NotFoundAndNothingLeft(t *testing.T) {
	e := newEnv(t, iscsiHost())
	pc := e.publishContext("6")
	e.h.Mu.Lock()
	delete(e.h.LUNs[hosttest.P1+"|"+hosttest.IQN1], 6)
	delete(e.h.LUNs[hosttest.P2+"|"+hosttest.IQN2], 6)
	e.h.Mu.Unlock()
	_, err := e.stage(mountCap("ext4", csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER), pc)
	if code(err) != codes.NotFound {
		t.Fatalf("want NotFound, got %v", err)
	}
	if len(e.h.K.Sessions()) != 0 {
		t.Fatalf("rollback left sessions: %v", e.h.K.Sessions())
	}
	if rec, _ := e.srv.state.load(volA); rec != nil {
		t.Fatalf("rollback left a stage record: %+v", rec)
	}
}

func TestRestart_UnstageTearsDownFromPersistedRecord(t *testing.T) {
	e := newEnv(t, iscsiHost())
	e.h.K.AutoMultipath = true
	pc := e.publishContext("2")
	staging, err := e.stage(blockCap(), pc)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.h.K.Disks()) != 2 || len(e.h.K.Sessions()) != 2 {
		t.Fatalf("setup: disks %v sessions %v", e.h.K.Disks(), e.h.K.Sessions())
	}
	restarted := e.newServer(iscsiHost()) // no memory of the first instance
	if _, err := restarted.NodeUnstageVolume(context.Background(), &csi.NodeUnstageVolumeRequest{VolumeId: volA, StagingTargetPath: staging}); err != nil {
		t.Fatal(err)
	}
	if len(e.h.K.Disks()) != 0 || len(e.h.K.Maps()) != 0 || len(e.h.K.Sessions()) != 0 {
		t.Fatalf("restarted plugin left disks=%v maps=%v sessions=%v", e.h.K.Disks(), e.h.K.Maps(), e.h.K.Sessions())
	}
	if mpf := e.h.X.CallsOf("multipath -f"); len(mpf) != 1 {
		t.Fatalf("multipath -f calls: %v", mpf)
	}
}

func TestUnstage_StillMountedElsewhere_FailedPreconditionKeepsDevices(t *testing.T) {
	e := newEnv(t, iscsiHost())
	e.h.K.AutoMultipath = true
	staging, err := e.stage(mountCap("ext4", csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER), e.publishContext("3"))
	if err != nil {
		t.Fatal(err)
	}
	// A bind mount of the filesystem that kubelet never unpublished.
	e.mounter.MountPoints = append(e.mounter.MountPoints, mount.MountPoint{Device: e.h.K.Sys.Dev("dm-0"), Path: "/var/lib/kubelet/pods/x/mount", Type: "ext4"})
	_, err = e.srv.NodeUnstageVolume(context.Background(), &csi.NodeUnstageVolumeRequest{VolumeId: volA, StagingTargetPath: staging})
	if code(err) != codes.FailedPrecondition {
		t.Fatalf("want FailedPrecondition, got %v", err)
	}
	if len(e.h.K.Disks()) != 2 || len(e.h.X.CallsOf("multipath -f")) != 0 {
		t.Fatalf("devices torn down under a mount: disks %v", e.h.K.Disks())
	}
}

func TestPublish_BlockBindsTheDevice(t *testing.T) {
	e := newEnv(t, iscsiHost())
	e.h.K.AutoMultipath = true
	staging, err := e.stage(blockCap(), e.publishContext("1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.h.X.CallsOf("mkfs")) != 0 || len(e.h.X.CallsOf("blkid")) != 0 {
		t.Fatal("a block volume was probed or formatted")
	}
	target := filepath.Join(e.dir, "pods", "dev", volA)
	_, err = e.srv.NodePublishVolume(context.Background(), &csi.NodePublishVolumeRequest{VolumeId: volA, StagingTargetPath: staging, TargetPath: target, VolumeCapability: blockCap()})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, mp := range e.mounter.MountPoints {
		if mp.Path == target && mp.Device == e.h.K.Sys.Dev("dm-0") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no bind of dm-0 at %s: %+v", target, e.mounter.MountPoints)
	}
	if fi, err := os.Stat(target); err != nil || fi.IsDir() {
		t.Fatalf("block target must be a file: %v", err)
	}
	// Publishing as a filesystem a volume staged as block is refused.
	_, err = e.srv.NodePublishVolume(context.Background(), &csi.NodePublishVolumeRequest{VolumeId: volA, StagingTargetPath: staging, TargetPath: target + "2",
		VolumeCapability: mountCap("ext4", csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER)})
	if code(err) != codes.InvalidArgument {
		t.Fatalf("want InvalidArgument, got %v", err)
	}
}

func TestPublish_NotStaged_FailedPrecondition(t *testing.T) {
	e := newEnv(t, iscsiHost())
	_, err := e.srv.NodePublishVolume(context.Background(), &csi.NodePublishVolumeRequest{VolumeId: volA, StagingTargetPath: "/s", TargetPath: filepath.Join(e.dir, "t"),
		VolumeCapability: mountCap("ext4", csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER)})
	if code(err) != codes.FailedPrecondition {
		t.Fatalf("want FailedPrecondition, got %v", err)
	}
}

func TestExpand_RescanResizeMapAndGrowFilesystem(t *testing.T) {
	e := newEnv(t, iscsiHost())
	e.h.K.AutoMultipath = true
	staging, err := e.stage(mountCap("ext4", csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER), e.publishContext("2"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.srv.NodeExpandVolume(context.Background(), &csi.NodeExpandVolumeRequest{VolumeId: volA, VolumePath: staging, CapacityRange: &csi.CapacityRange{RequiredBytes: 1 << 30}})
	if err != nil {
		t.Fatal(err)
	}
	if r.CapacityBytes != 1<<30 {
		t.Fatalf("capacity %d", r.CapacityBytes)
	}
	if len(e.h.X.CallsOf("multipathd resize map")) != 1 || len(e.h.X.CallsOf("resize2fs "+e.h.K.Sys.Dev("dm-0"))) != 1 {
		t.Fatalf("calls: %v", e.h.X.Calls())
	}
	// The array has not grown the vdisk yet: retryable, filesystem untouched.
	_, err = e.srv.NodeExpandVolume(context.Background(), &csi.NodeExpandVolumeRequest{VolumeId: volA, VolumePath: staging, CapacityRange: &csi.CapacityRange{RequiredBytes: 2 << 30}})
	if code(err) != codes.Unavailable || len(e.h.X.CallsOf("resize2fs")) != 1 {
		t.Fatalf("want Unavailable and no resize2fs, got %v / %v", err, e.h.X.CallsOf("resize2fs"))
	}
	if _, err := e.srv.NodeExpandVolume(context.Background(), &csi.NodeExpandVolumeRequest{VolumeId: "storage-01:60050760008989C0D00000000002AA59", VolumePath: staging}); code(err) != codes.NotFound {
		t.Fatalf("unknown volume: want NotFound, got %v", err)
	}
}

func TestStatsAndHealth(t *testing.T) {
	e := newEnv(t, iscsiHost())
	staging, err := e.stage(mountCap("ext4", csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER), e.publishContext("2"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.srv.NodeGetVolumeStats(context.Background(), &csi.NodeGetVolumeStatsRequest{VolumeId: volA, VolumePath: staging})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Usage) != 2 || r.Usage[0].Total <= 0 || r.Usage[1].Unit != csi.VolumeUsage_INODES {
		t.Fatalf("usage %v", r.Usage)
	}
	if _, err := e.srv.NodeGetVolumeStats(context.Background(), &csi.NodeGetVolumeStatsRequest{VolumeId: volA, VolumePath: filepath.Join(e.dir, "gone")}); code(err) != codes.NotFound {
		t.Fatalf("missing path: want NotFound, got %v", err)
	}
	h, err := e.srv.NodeGetVolumeHealth(context.Background(), &csi.NodeGetVolumeHealthRequest{VolumeId: volA})
	if err != nil || len(h.VolumeHealth.HealthStatuses) != 0 {
		t.Fatalf("healthy volume: %v %v", h, err)
	}
	// One path lost (without multipath the volume uses the first; drop the second).
	e.h.K.RemoveDisk(e.h.K.Disks()[1])
	h, _ = e.srv.NodeGetVolumeHealth(context.Background(), &csi.NodeGetVolumeHealthRequest{VolumeId: volA})
	if len(h.VolumeHealth.HealthStatuses) != 1 || h.VolumeHealth.HealthStatuses[0].Status != csi.VolumeHealthErrorType_DEGRADED {
		t.Fatalf("one path lost: %v", h.VolumeHealth)
	}
	e.h.K.RemoveDisk(e.h.K.Disks()[0])
	h, _ = e.srv.NodeGetVolumeHealth(context.Background(), &csi.NodeGetVolumeHealthRequest{VolumeId: volA})
	if len(h.VolumeHealth.HealthStatuses) != 1 || h.VolumeHealth.HealthStatuses[0].Status != csi.VolumeHealthErrorType_INACCESSIBLE {
		t.Fatalf("all paths lost: %v", h.VolumeHealth)
	}
}

func TestConcurrentOperationOnOneVolume_Aborted(t *testing.T) {
	e := newEnv(t, iscsiHost())
	done, err := e.srv.begin(volA)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.srv.NodeUnpublishVolume(context.Background(), &csi.NodeUnpublishVolumeRequest{VolumeId: volA, TargetPath: "/x"})
	if code(err) != codes.Aborted {
		t.Fatalf("want Aborted, got %v", err)
	}
	done()
	if _, err := e.srv.NodeUnpublishVolume(context.Background(), &csi.NodeUnpublishVolumeRequest{VolumeId: volA, TargetPath: filepath.Join(e.dir, "x")}); err != nil {
		t.Fatal(err)
	}
}

func TestStage_StagingMountedFromAnotherDevice_Refused(t *testing.T) {
	e := newEnv(t, iscsiHost())
	capRW := mountCap("ext4", csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER)
	pc := e.publishContext("1")
	staging, err := e.stage(capRW, pc)
	if err != nil {
		t.Fatal(err)
	}
	// Something else got mounted on the staging path (e.g. a stale LUN after a node reboot).
	for i := range e.mounter.MountPoints {
		if e.mounter.MountPoints[i].Path == staging {
			e.mounter.MountPoints[i].Device = e.h.K.Sys.Dev("sdz")
		}
	}
	if _, err := e.stage(capRW, pc); code(err) != codes.FailedPrecondition {
		t.Fatalf("want FailedPrecondition, got %v", err)
	}
}

func TestNew_HostExecNSEnter_WrapsDaemonClientsOnly(t *testing.T) {
	e := newEnv(t, iscsiHost())
	opts := Options{DriverName: "csi-instorage", NodeName: testNodeTag, StateDir: e.stateDir, SysRoot: e.h.K.Sys.SysRoot, DevRoot: e.h.K.Sys.DevRoot, HostExec: "nsenter"}
	e.h.X.Unhandled = hostexectest.OK("")
	s, err := New(opts, iscsiHost(), e.h.X, &mount.SafeFormatAndMount{Interface: e.mounter, Exec: e.h.X})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.connector.ISCSI.Login(context.Background(), hosttest.P1, hosttest.IQN1)
	_, _ = s.mounter.Exec.Command("mkfs.ext4", "/dev/sda").CombinedOutput()
	calls := strings.Join(e.h.X.Calls(), "\n")
	if !strings.Contains(calls, "nsenter --mount=/host/proc/1/ns/mnt --net=/host/proc/1/ns/net -- iscsiadm -m node -p "+hosttest.P1) {
		t.Fatalf("iscsiadm not run in the host namespaces:\n%s", calls)
	}
	if !strings.Contains(calls, "\nmkfs.ext4 /dev/sda") && !strings.HasPrefix(calls, "mkfs.ext4 /dev/sda") {
		t.Fatalf("mkfs must run in the plugin:\n%s", calls)
	}
	if _, err := New(Options{DriverName: "d", NodeName: "n", StateDir: "/tmp/x", HostExec: "ssh"}, iscsiHost(), e.h.X, &mount.SafeFormatAndMount{Interface: e.mounter, Exec: e.h.X}); err == nil {
		t.Fatal("unknown host exec mode accepted")
	}
}

func TestPublish_SingleNodeSingleWriter_SecondTargetRefused(t *testing.T) {
	e := newEnv(t, iscsiHost())
	snsw := mountCap("ext4", csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER)
	staging, err := e.stage(snsw, e.publishContext("1"))
	if err != nil {
		t.Fatal(err)
	}
	pub := func(target string) error {
		_, err := e.srv.NodePublishVolume(context.Background(), &csi.NodePublishVolumeRequest{VolumeId: volA, StagingTargetPath: staging, TargetPath: target, VolumeCapability: snsw})
		return err
	}
	t1, t2 := filepath.Join(e.dir, "t1"), filepath.Join(e.dir, "t2")
	if err := pub(t1); err != nil {
		t.Fatal(err)
	}
	if err := pub(t2); code(err) != codes.FailedPrecondition {
		t.Fatalf("second target: want FailedPrecondition, got %v", err)
	}
	if _, err := e.srv.NodeUnpublishVolume(context.Background(), &csi.NodeUnpublishVolumeRequest{VolumeId: volA, TargetPath: t1}); err != nil {
		t.Fatal(err)
	}
	if err := pub(t2); err != nil {
		t.Fatalf("after the first target is gone: %v", err)
	}
}

// The array gave A's LUN to B while A was staged (force-detach): NodeUnstage(A)
// must cut A's paths (now B's LU) off before the unmount writes A's
// superblock and journal; measured on a real kernel, B was corrupted.
func TestUnstage_LUNRemappedWhileStaged_PathsCutBeforeUnmount(t *testing.T) {
	e := newEnv(t, iscsiHost())
	e.h.K.AutoMultipath = true
	pc := e.publishContext("4")
	staging, err := e.stage(mountCap("ext4", csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER), pc)
	if err != nil {
		t.Fatal(err)
	}
	e.h.Present(hosttest.P1, hosttest.IQN1, 4, hosttest.UIDB)
	e.h.Present(hosttest.P2, hosttest.IQN2, 4, hosttest.UIDB)
	var disksAtUnmount []string
	unmounted := false
	e.mounter.UnmountFunc = func(string) error {
		disksAtUnmount, unmounted = e.h.K.Disks(), true
		return nil
	}
	if _, err := e.srv.NodeUnstageVolume(context.Background(), &csi.NodeUnstageVolumeRequest{VolumeId: volA, StagingTargetPath: staging}); err != nil {
		t.Fatal(err)
	}
	if !unmounted || len(disksAtUnmount) != 0 {
		t.Fatalf("unmounted=%v; paths to B's LU present at the unmount: %v", unmounted, disksAtUnmount)
	}
	if len(e.h.X.CallsOf("multipathd disablequeueing")) == 0 {
		t.Errorf("queueing left on a map without paths: %v", e.h.X.Calls())
	}
	if len(e.h.K.Maps()) != 0 || len(e.h.K.Sessions()) != 0 {
		t.Fatalf("left behind maps=%v sessions=%v", e.h.K.Maps(), e.h.K.Sessions())
	}
}

// A node-stage Secret with only chapSecret (the same Secret the controller
// reads to set the host's CHAP secret) logs in with the initiator IQN as the
// CHAP name, the name the array expects. (hostexec's own tests cover keeping
// the password out of logs and errors.)
func TestStage_CHAPSecretOnly_UserIsInitiatorIQN(t *testing.T) {
	e := newEnv(t, iscsiHost())
	const secret = "s3cretCHAPvalue9"
	staging := filepath.Join(e.dir, "staging", "globalmount")
	_, err := e.srv.NodeStageVolume(context.Background(), &csi.NodeStageVolumeRequest{VolumeId: volA, StagingTargetPath: staging,
		VolumeCapability: blockCap(), PublishContext: e.publishContext("3"), Secrets: map[string]string{SecretCHAPSecret: secret}})
	if err != nil {
		t.Fatal(err)
	}
	var updates int
	for _, c := range e.h.X.CallsOf("iscsiadm") {
		if strings.Contains(c, "-o update") {
			updates++
			if !strings.HasSuffix(c, " -n node.session.auth.authmethod -v CHAP -n node.session.auth.username -v "+initiator+
				" -n node.session.auth.password -v "+secret) {
				t.Errorf("node record not set to CHAP as %s: %s", initiator, c)
			}
		}
	}
	if updates != 2 {
		t.Fatalf("%d node record updates, want one per portal (2)", updates)
	}
}
