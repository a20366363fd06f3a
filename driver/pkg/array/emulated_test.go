package array_test

import (
	"context"
	"testing"
	"time"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/array/arraytest"
	"github.com/instorage-csi/instorage-csi/emulator/model"
)

// These tests drive every Client method against the in-process emulator
// (emulator/model + emulator/cli): real command lines, real output.

// must unwraps (value, error); a failure panics, which fails the test with
// the call site in the trace (Go cannot pass t alongside a multi-value call).
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestEmulated_Topology(t *testing.T) {
	c, _ := arraytest.NewEmulated(t)
	ctx := context.Background()
	sys := must(c.LsSystem(ctx))
	if sys.Name != "mcs-emu" || sys.ID == "" || sys.CodeLevel == "" {
		t.Errorf("lssystem = %+v", sys)
	}
	grps := must(c.LsIOGrp(ctx))
	if len(grps) == 0 || grps[0].Name != "io_grp0" || grps[0].NodeCount != 2 || grps[0].SiteName != "site1" {
		t.Errorf("lsiogrp = %+v", grps)
	}
	nodes := must(c.LsNode(ctx))
	if len(nodes) != 2 || nodes[0].Status != "online" || nodes[0].ISCSIName != "iqn.2004-12.com.inspur:mcs.mcs-emu.node1" || nodes[1].IOGroupName != "io_grp0" {
		t.Errorf("lsnode = %+v", nodes)
	}
	portals := map[string]string{}
	for _, p := range must(c.LsPortIP(ctx)) {
		if p.HostPort {
			portals[p.IPAddress] = p.NodeName
		}
	}
	if portals["127.0.0.1"] != "node1" || portals["127.0.0.2"] != "node2" {
		t.Errorf("usable portals = %v", portals)
	}
	fc := must(c.LsPortFC(ctx))
	found := false
	for _, p := range fc {
		if p.WWPN == "500507680C110101" && p.NodeName == "node1" && p.Status == "active" {
			found = true
		}
	}
	if !found {
		t.Errorf("lsportfc = %+v", fc)
	}
	pool := must(c.LsMDiskGrp(ctx, "Pool0"))
	if pool.Name != "Pool0" || pool.Capacity != 1<<40 || pool.Free != 1<<40 {
		t.Errorf("lsmdiskgrp Pool0 = %+v", pool)
	}
	if byID := must(c.LsMDiskGrp(ctx, "1")); byID.Name != "Pool1" {
		t.Errorf("pool by id = %+v", byID)
	}
	if pools := must(c.LsMDiskGrps(ctx)); len(pools) != 2 {
		t.Errorf("lsmdiskgrp = %+v", pools)
	}
	if _, err := c.LsMDiskGrp(ctx, "NoSuchPool"); !array.IsNotFound(err) {
		t.Errorf("missing pool: %v", err)
	}
}

func TestEmulated_VDiskLifecycle(t *testing.T) {
	c, _ := arraytest.NewEmulated(t)
	ctx := context.Background()
	id := must(c.MkVDisk(ctx, array.MkVDiskArgs{Name: "pvc-1", SizeBytes: 1 << 30, Pool: "Pool0", IOGroup: "io_grp0"}))
	rows := must(c.LsVDisks(ctx, &array.Filter{Attr: "volume_name", Value: "pvc-1"}))
	if len(rows) != 1 || rows[0].ID != id || rows[0].Capacity != 1<<30 || rows[0].VolumeName != "pvc-1" || rows[0].Function != "" || len(rows[0].UID) != 32 {
		t.Fatalf("lsvdisk filter = %+v", rows)
	}
	if byUID := must(c.LsVDisks(ctx, &array.Filter{Attr: "vdisk_UID", Value: rows[0].UID})); len(byUID) != 1 || byUID[0].Name != "pvc-1" {
		t.Errorf("by UID = %+v", byUID)
	}
	if none := must(c.LsVDisks(ctx, &array.Filter{Attr: "volume_name", Value: "nothing"})); len(none) != 0 {
		t.Errorf("no-match filter = %+v", none)
	}
	d := must(c.LsVDisk(ctx, "pvc-1"))
	if len(d.Copies) != 1 || d.Copies[0].PoolName != "Pool0" || d.Copies[0].Thin || !d.Copies[0].Primary || d.PreferredNodeID == "" {
		t.Errorf("lsvdisk detail = %+v", d)
	}
	if pool := must(c.LsMDiskGrp(ctx, "Pool0")); pool.Free != 1<<40-1<<30 {
		t.Errorf("thick vdisk should take 1 GiB from the pool: free = %d", pool.Free)
	}
	if _, err := c.MkVDisk(ctx, array.MkVDiskArgs{Name: "pvc-1", SizeBytes: 1 << 30, Pool: "Pool0"}); !array.IsAlreadyExists(err) {
		t.Errorf("duplicate: %v", err)
	}

	// Thin, odd byte size (-unit b).
	must(c.MkVDisk(ctx, array.MkVDiskArgs{Name: "thin-1", SizeBytes: 3 << 29, Pool: "Pool0", Thin: true, RSizePct: 10, WarningPct: 80, AutoExpand: true, GrainSize: 256, InTier: true}))
	td := must(c.LsVDisk(ctx, "thin-1"))
	if td.Capacity != 3<<29 || !td.Copies[0].Thin || !td.Copies[0].AutoExpand || td.Copies[0].GrainSize != 256 || td.Copies[0].Warning != 80 {
		t.Errorf("thin detail = %+v", td)
	}

	// Mirror: two copies.
	must(c.MkVDisk(ctx, array.MkVDiskArgs{Name: "mirror-1", SizeBytes: 1 << 30, Pool: "Pool0", AuxPool: "Pool1", IOGroup: "io_grp0", AccessIOGrp: "io_grp0"}))
	md := must(c.LsVDisk(ctx, "mirror-1"))
	if len(md.Copies) != 2 || md.CopyCount != 2 || md.Copies[1].PoolName != "Pool1" {
		t.Errorf("mirror detail = %+v", md)
	}

	ok(t, c.ExpandVDiskSize(ctx, "pvc-1", 1<<30))
	if d := must(c.LsVDisk(ctx, id)); d.Capacity != 2<<30 {
		t.Errorf("after expand capacity = %d", d.Capacity)
	}
	ok(t, c.AddVDiskAccess(ctx, "pvc-1", "io_grp0")) // already a member: no-op (§4.4)

	ok(t, c.RmVDisk(ctx, "pvc-1", false))
	if _, err := c.LsVDisk(ctx, "pvc-1"); !array.IsNotFound(err) {
		t.Errorf("after rmvdisk: %v", err)
	}
	if err := c.RmVDisk(ctx, "pvc-1", true); !array.IsNotFound(err) {
		t.Errorf("rmvdisk missing: %v", err)
	}
	ok(t, c.RmVDisk(ctx, "mirror-1", true))
	ok(t, c.RmVDisk(ctx, "thin-1", true))
	if all := must(c.LsVDisks(ctx, nil)); len(all) != 0 {
		t.Errorf("left over: %+v", all)
	}
}

func TestEmulated_HostsAndMappings(t *testing.T) {
	c, _ := arraytest.NewEmulated(t)
	ctx := context.Background()
	must(c.MkVDisk(ctx, array.MkVDiskArgs{Name: "pvc-1", SizeBytes: 1 << 30, Pool: "Pool0"}))
	hid := must(c.MkHost(ctx, array.MkHostArgs{Name: "iscsi-n1", IQN: "iqn.1994-05.com.redhat:n1"}))
	ok(t, c.AddHostPort(ctx, "iscsi-n1", "iqn.1994-05.com.redhat:n1b", ""))
	ok(t, c.ChHostCHAPSecret(ctx, "iscsi-n1", "abcdefghijkl2345"))
	h := must(c.LsHost(ctx, "iscsi-n1"))
	if h.ID != hid || len(h.ISCSINames) != 2 || h.ISCSINames[1] != "iqn.1994-05.com.redhat:n1b" {
		t.Errorf("lshost = %+v", h)
	}
	if _, err := c.MkHost(ctx, array.MkHostArgs{Name: "iscsi-n1", IQN: "iqn.1994-05.com.redhat:other"}); !array.IsAlreadyExists(err) {
		t.Errorf("duplicate host: %v", err)
	}
	if _, err := c.MkHost(ctx, array.MkHostArgs{Name: "iscsi-n2", IQN: "iqn.1994-05.com.redhat:n1"}); !array.IsPortInUse(err) {
		t.Errorf("port on another host: %v", err)
	}
	must(c.MkHost(ctx, array.MkHostArgs{Name: "fc-n1", WWPN: "2100000E1E000001"}))
	ok(t, c.AddHostPort(ctx, "fc-n1", "", "2100000e1e000002"))
	if fh := must(c.LsHost(ctx, "fc-n1")); len(fh.WWPNs) != 2 {
		t.Errorf("fc host = %+v", fh)
	}
	if hosts := must(c.LsHosts(ctx)); len(hosts) != 2 || hosts[0].Name != "iscsi-n1" {
		t.Errorf("lshost list = %+v", hosts)
	}
	auth := must(c.LsISCSIAuth(ctx))
	if len(auth) != 2 || auth[0] != (array.ISCSIAuth{Type: "host", ID: hid, Name: "iscsi-n1", Method: "chap", Secret: "abcdefghijkl2345"}) ||
		auth[1].Name != "fc-n1" || auth[1].Method != "none" || auth[1].Secret != "" {
		t.Errorf("lsiscsiauth = %+v", auth)
	}
	// Host WWPNs are logged in to every active array FC port (emulator model).
	byWWPN := must(c.LsFabric(ctx, "2100000e1e000001", ""))
	if len(byWWPN) == 0 {
		t.Fatal("lsfabric -wwpn: no logins")
	}
	for _, f := range byWWPN {
		if f.HostName != "fc-n1" || f.RemoteWWPN != "2100000E1E000001" || f.LocalWWPN == "" || (f.NodeName != "node1" && f.NodeName != "node2") {
			t.Errorf("lsfabric -wwpn row = %+v", f)
		}
	}
	byHost := must(c.LsFabric(ctx, "", "fc-n1"))
	if len(byHost) != 2*len(byWWPN) {
		t.Errorf("lsfabric -host: %d rows for 2 ports, want %d", len(byHost), 2*len(byWWPN))
	}
	if _, err := c.LsFabric(ctx, "", "no-such-host"); !array.IsNotFound(err) {
		t.Errorf("lsfabric unknown host: %v", err)
	}

	must(c.MkVDiskHostMap(ctx, "iscsi-n1", "pvc-1"))
	if _, err := c.MkVDiskHostMap(ctx, "iscsi-n1", "pvc-1"); !array.IsAlreadyMappedToHost(err) {
		t.Errorf("second mkvdiskhostmap: %v", err)
	}
	maps := must(c.LsVDiskHostMap(ctx, "pvc-1"))
	if len(maps) != 1 || maps[0].HostName != "iscsi-n1" || maps[0].SCSIID != 0 || maps[0].IOGroupName != "io_grp0" {
		t.Errorf("lsvdiskhostmap = %+v", maps)
	}
	hm := must(c.LsHostVDiskMap(ctx, "iscsi-n1"))
	if len(hm) != 1 || hm[0].VDiskName != "pvc-1" || hm[0].HostName != "iscsi-n1" {
		t.Errorf("lshostvdiskmap = %+v", hm)
	}
	if err := c.RmHost(ctx, "iscsi-n1"); !array.IsInUse(err) {
		t.Errorf("rmhost while mapped: %v", err)
	}
	if err := c.RmVDisk(ctx, "pvc-1", false); !array.IsInUse(err) {
		t.Errorf("rmvdisk while mapped: %v", err)
	}
	ok(t, c.RmVDiskHostMap(ctx, "iscsi-n1", "pvc-1"))
	if err := c.RmVDiskHostMap(ctx, "iscsi-n1", "pvc-1"); !array.IsNotFound(err) {
		t.Errorf("second rmvdiskhostmap: %v", err)
	}
	ok(t, c.RmHost(ctx, "iscsi-n1"))
	ok(t, c.RmHost(ctx, "fc-n1"))
	if _, err := c.LsHost(ctx, "iscsi-n1"); !array.IsNotFound(err) {
		t.Errorf("after rmhost: %v", err)
	}
}

func TestEmulated_SnapshotAndCloneLCMaps(t *testing.T) {
	c, _ := arraytest.NewEmulated(t)
	ctx := context.Background()
	must(c.MkVDisk(ctx, array.MkVDiskArgs{Name: "pvc-1", SizeBytes: 1 << 30, Pool: "Pool0", IOGroup: "io_grp0"}))
	src := must(c.LsVDisk(ctx, "pvc-1"))
	// [G] snapshot (§6.4): thin target with -rsize 0% in the source's pool (by id).
	must(c.MkVDisk(ctx, array.MkVDiskArgs{Name: "snapshot-1", SizeBytes: src.Capacity, Pool: src.Copies[0].PoolID, IOGroup: src.IOGroupName,
		Thin: true, ExplicitRSize: true, AutoExpand: true, InTier: true}))
	mid := must(c.MkLCMap(ctx, array.MkLCMapArgs{Source: "pvc-1", Target: "snapshot-1"}))
	ok(t, c.StartLCMap(ctx, mid, true))
	maps := must(c.LsLCMaps(ctx, &array.Filter{Attr: "target_vdisk_name", Value: "snapshot-1"}))
	if len(maps) != 1 || maps[0].ID != mid || maps[0].SourceName != "pvc-1" || maps[0].Status != "copying" || maps[0].StartTime.IsZero() {
		t.Fatalf("lslcmap = %+v", maps)
	}
	if time.Since(maps[0].StartTime) > time.Hour || time.Since(maps[0].StartTime) < -time.Hour {
		t.Errorf("start_time %v is not now (UTC)", maps[0].StartTime)
	}
	if n := must(c.LsVDisk(ctx, "pvc-1")).LCMapCount; n != 1 {
		t.Errorf("lc_map_count = %d", n)
	}
	if err := c.StartLCMap(ctx, mid, true); !array.IsInvalidState(err) {
		t.Errorf("start twice: %v", err)
	}
	// Clone of the snapshot, auto-deleting map.
	must(c.MkVDisk(ctx, array.MkVDiskArgs{Name: "pvc-2", SizeBytes: 1 << 30, Pool: "Pool0"}))
	cid := must(c.MkLCMap(ctx, array.MkLCMapArgs{Source: "snapshot-1", Target: "pvc-2", CopyRate: 100, CleanRate: 100, AutoDelete: true}))
	ok(t, c.StartLCMap(ctx, cid, true))
	if src := must(c.LsLCMaps(ctx, &array.Filter{Attr: "source_vdisk_name", Value: "snapshot-1"})); len(src) > 1 {
		t.Errorf("clone maps = %+v", src)
	}
	// Size mismatch is refused with CMMVC5924E.
	must(c.MkVDisk(ctx, array.MkVDiskArgs{Name: "small", SizeBytes: 2 << 30, Pool: "Pool0"}))
	if _, err := c.MkVDisk(ctx, array.MkVDiskArgs{Name: "huge", SizeBytes: 4 << 40, Pool: "Pool0"}); !array.IsNoSpace(err) {
		t.Errorf("4 TiB thick in a 1 TiB pool: %v", err)
	}
	if _, err := c.MkLCMap(ctx, array.MkLCMapArgs{Source: "pvc-1", Target: "small"}); !array.IsSizeMismatch(err) {
		t.Errorf("size mismatch: %v", err)
	}
	// [G] delete snapshot (§6.5).
	ok(t, c.StopLCMap(ctx, mid, true))
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := must(c.LsLCMaps(ctx, &array.Filter{Attr: "id", Value: mid}))
		if len(m) == 0 || m[0].Status == "stopped" || m[0].Status == "idle_or_copied" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("map %s still %s", mid, m[0].Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ok(t, c.RmLCMap(ctx, mid, true))
	if err := c.RmLCMap(ctx, mid, true); !array.IsNotFound(err) {
		t.Errorf("rmlcmap twice: %v", err)
	}
	ok(t, c.RmVDisk(ctx, "pvc-2", true))
	ok(t, c.RmVDisk(ctx, "snapshot-1", true))
	if left := must(c.LsLCMaps(ctx, nil)); len(left) != 0 {
		t.Errorf("maps left after force deletes: %+v", left)
	}
}

// Active-active: mkvolume, then [G]'s nine-step extend (§6.9), then rmvolume.
func TestEmulated_ActiveActive(t *testing.T) {
	c, _ := arraytest.NewEmulatedTopology(t, model.TwoSiteTopology())
	ctx := context.Background()
	id := must(c.MkVolume(ctx, array.MkVolumeArgs{Name: "pvc-aa", SizeBytes: 1 << 30, Pool: "Pool0", AuxPool: "Pool1", IOGroup: "io_grp0", AuxIOGroup: "io_grp1"}))
	rows := must(c.LsVDisks(ctx, &array.Filter{Attr: "volume_name", Value: "pvc-aa"}))
	if len(rows) != 4 {
		t.Fatalf("aa volume rows = %+v", rows)
	}
	fn := map[string]array.VDisk{}
	for _, r := range rows {
		fn[r.Function] = r
	}
	master, aux, mcv, acv := fn["master"], fn["aux"], fn["master_change"], fn["aux_change"]
	if master.ID != id || master.LCMapCount != 2 || aux.LCMapCount != 2 || mcv.Name == "" || acv.Name == "" {
		t.Fatalf("aa functions = %+v", fn)
	}
	rcs := must(c.LsRCRelationships(ctx, &array.Filter{Attr: "master_vdisk_name", Value: "pvc-aa"}))
	if len(rcs) != 1 || rcs[0].ID != id || rcs[0].CopyType != "activeactive" || rcs[0].AuxName != aux.Name {
		t.Fatalf("rcrelationship = %+v", rcs)
	}
	sys := must(c.LsSystem(ctx))
	ok(t, c.RmRCRelationship(ctx, id))
	for _, v := range []string{master.Name, aux.Name, mcv.Name, acv.Name} {
		ok(t, c.ExpandVDiskSize(ctx, v, 1<<30))
	}
	if nid := must(c.MkRCRelationship(ctx, array.MkRCRelationshipArgs{Master: master.Name, Aux: aux.Name, Cluster: sys.Name, Sync: true, ActiveActive: true})); nid != id {
		t.Errorf("recreated rc id %s, want master id %s", nid, id)
	}
	ok(t, c.AddVDiskAccess(ctx, master.Name, aux.IOGroupName))
	ok(t, c.ChRCRelationship(ctx, id, mcv.Name, ""))
	ok(t, c.ChRCRelationship(ctx, id, "", acv.Name))
	for _, r := range must(c.LsVDisks(ctx, &array.Filter{Attr: "volume_name", Value: "pvc-aa"})) {
		if r.Capacity != 2<<30 {
			t.Errorf("%s capacity %d after extend", r.Name, r.Capacity)
		}
		if (r.Function == "master" || r.Function == "aux") && r.LCMapCount != 2 {
			t.Errorf("%s lc_map_count %d after re-attaching change volumes", r.Name, r.LCMapCount)
		}
	}
	if err := c.ChRCRelationship(ctx, "999", mcv.Name, ""); !array.IsNotFound(err) {
		t.Errorf("chrcrelationship unknown: %v", err)
	}
	ok(t, c.RmVolume(ctx, "pvc-aa"))
	if left := must(c.LsVDisks(ctx, nil)); len(left) != 0 {
		t.Errorf("vdisks left after rmvolume: %+v", left)
	}
}
