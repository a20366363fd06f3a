package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) Now() time.Time      { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) Add(d time.Duration) { f.mu.Lock(); f.t = f.t.Add(d); f.mu.Unlock() }

func open(t *testing.T, dir string, clk Clock, compact int) *Array {
	t.Helper()
	a, err := OpenWithOptions(dir, TwoSiteTopology(), Options{Clock: clk, TickInterval: -1, CompactEvery: compact})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// populate makes one of everything.
func populate(t *testing.T, a *Array) {
	t.Helper()
	must(a.MkVDisk(MkVDiskReq{Name: "v0", SizeBytes: 1 << 30, Pools: []string{"Pool0"}}))
	must(a.MkVDisk(MkVDiskReq{Name: "v1", SizeBytes: 1 << 30, Pools: []string{"Pool0"}, Thin: true, RSizePct: 2, AutoExpand: true}))
	must(a.MkVolume(MkVolumeReq{Name: "aa", SizeBytes: 1 << 30, Pools: []string{"Pool0", "Pool1"}, IOGrps: []string{"0", "1"}}))
	must(a.MkHost(MkHostReq{Name: "h", IQNs: []string{"iqn.2000-01.a:h"}, Site: "site1"}))
	must(a.MkVDiskHostMap("h", "v0", -1, true))
	lc := must(a.MkLCMap(MkLCMapReq{Source: "v0", Target: "v1", CopyRate: 0, CleanRate: 0}))
	if err := a.StartLCMap(fmt.Sprint(lc), true); err != nil {
		t.Fatal(err)
	}
	if err := a.ChHost("h", ChHostReq{CHAPSecret: ptr("secretsecret12")}); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

// dump is a canonical rendering of everything visible.
func dump(a *Array) string {
	maps, _ := a.HostVDiskMaps("h")
	b, _ := json.Marshal(struct {
		V  []VDiskView
		H  []HostView
		L  []LCMapView
		R  []RCView
		P  []PoolView
		M  []HostMapView
		Fr uint64
	}{a.VDisks(VDiskSelector{}), a.Hosts(), a.LCMaps(), a.RCRelationships(), a.Pools(), maps, a.st.Meta.NextSerial})
	return string(b)
}

func TestPersistence_ReopenKeepsEverything(t *testing.T) {
	for _, compact := range []int{1, 3, 4096} {
		t.Run(fmt.Sprintf("compactEvery=%d", compact), func(t *testing.T) {
			dir := t.TempDir()
			clk := &fakeClock{t: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
			a := open(t, dir, clk, compact)
			populate(t, a)
			before := dump(a)
			a.Close()
			b := open(t, dir, clk, compact)
			defer b.Close()
			if after := dump(b); after != before {
				t.Fatalf("state changed across reopen:\n%s\n%s", before, after)
			}
			// Ids and serials continue, never reused.
			id := must(b.MkVDisk(MkVDiskReq{Name: "next", SizeBytes: 1 << 20, Pools: []string{"Pool0"}}))
			if v := must(b.VDisk("next")); id != 6 || v.UID[16:] != "0000000000000007" {
				t.Fatalf("id %d uid %s", id, v.UID)
			}
		})
	}
}

// TestPersistence_TornJournal cuts the journal at every byte offset, as a
// kill -9 mid-write could, and checks each load is a whole-transaction
// prefix of the history.
func TestPersistence_TornJournal(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	a := open(t, dir, clk, 1<<20)
	var states []string
	states = append(states, dump(a))
	steps := []func(){
		func() {
			must(a.MkVDisk(MkVDiskReq{Name: "v0", SizeBytes: 1 << 30, Pools: []string{"Pool0"}}))
		},
		func() { must(a.MkHost(MkHostReq{Name: "h", IQNs: []string{"iqn.2000-01.a:h"}})) },
		func() { must(a.MkVDiskHostMap("h", "v0", -1, true)) },
		func() {
			must(a.MkVolume(MkVolumeReq{Name: "aa", SizeBytes: 1 << 30, Pools: []string{"Pool0", "Pool1"}, IOGrps: []string{"0", "1"}}))
		},
		func() { a.RmRCRelationship("1") },
		func() { a.ExpandVDiskSize("v0", 1<<30) },
		func() { a.RmVDisk("v0", true) },
	}
	for _, s := range steps {
		s()
		states = append(states, dump(a))
	}
	a.Close()
	journal, err := os.ReadFile(filepath.Join(dir, journalFile))
	if err != nil {
		t.Fatal(err)
	}
	valid := map[string]int{}
	for i, s := range states {
		valid[s] = i
	}
	last := -1
	var cuts []int
	for cut := 0; cut < len(journal); cut += max(1, len(journal)/400) {
		cuts = append(cuts, cut)
	}
	for _, cut := range append(cuts, len(journal)) {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, journalFile), journal[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		b := open(t, d, clk, 1<<20)
		got := dump(b)
		idx, ok := valid[got]
		if !ok {
			b.Close()
			t.Fatalf("cut at %d: state is not a prefix of the history:\n%s", cut, got)
		}
		if idx < last {
			b.Close()
			t.Fatalf("cut at %d went back to state %d after %d", cut, idx, last)
		}
		last = idx
		// The array keeps working after recovery and the torn tail is gone.
		must(b.MkVDisk(MkVDiskReq{Name: "after", SizeBytes: 1 << 20, Pools: []string{"Pool0"}}))
		b.Close()
		c := open(t, d, clk, 1<<20)
		if _, err := c.VDisk("after"); err != nil {
			t.Fatalf("cut at %d: write after recovery lost", cut)
		}
		c.Close()
	}
	if last != len(states)-1 {
		t.Fatalf("full journal must load the final state, got %d", last)
	}
}

func TestPersistence_CorruptRecordStopsReplay(t *testing.T) {
	dir := t.TempDir()
	a := open(t, dir, nil, 1<<20)
	must(a.MkVDisk(MkVDiskReq{Name: "v0", SizeBytes: 1 << 20, Pools: []string{"Pool0"}}))
	must(a.MkVDisk(MkVDiskReq{Name: "v1", SizeBytes: 1 << 20, Pools: []string{"Pool0"}}))
	a.Close()
	p := filepath.Join(dir, journalFile)
	j, _ := os.ReadFile(p)
	j[len(j)-3] ^= 0xff // flip a byte inside the last record's payload
	os.WriteFile(p, j, 0o600)
	b := open(t, dir, nil, 1<<20)
	defer b.Close()
	if _, err := b.VDisk("v0"); err != nil {
		t.Fatal("first record lost")
	}
	if _, err := b.VDisk("v1"); err == nil {
		t.Fatal("corrupt record applied")
	}
	// The orphaned data file of v1 was removed at load.
	ents, _ := os.ReadDir(filepath.Join(dir, "vdisks"))
	if len(ents) != 1 {
		t.Fatalf("data files: %d", len(ents))
	}
}

func TestData_SnapshotIsPointInTime_CloneHasBytes(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	a := open(t, dir, clk, 0)
	defer a.Close()
	const size = 64 << 20
	must(a.MkVDisk(MkVDiskReq{Name: "src", SizeBytes: size, Pools: []string{"Pool0"}}))
	must(a.MkVDisk(MkVDiskReq{Name: "snap", SizeBytes: size, Pools: []string{"Pool0"}, Thin: true, RSizePct: 0, AutoExpand: true}))
	must(a.MkVDisk(MkVDiskReq{Name: "clone", SizeBytes: size, Pools: []string{"Pool0"}}))
	path := func(name string) string {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.dataPath(a.vdiskRef(name))
	}
	old := bytes.Repeat([]byte("old!"), 1024)
	f, _ := os.OpenFile(path("src"), os.O_RDWR, 0)
	f.WriteAt(old, 0)
	f.WriteAt(old, 40<<20) // data after a hole
	f.Close()
	must(a.MkLCMap(MkLCMapReq{Source: "src", Target: "snap", CopyRate: 0, CleanRate: 0}))
	if err := a.StartLCMap("0", true); err != nil {
		t.Fatal(err)
	}
	f, _ = os.OpenFile(path("src"), os.O_RDWR, 0)
	f.WriteAt(bytes.Repeat([]byte("NEW!"), 1024), 0)
	f.Close()
	read := func(name string, off int64) []byte {
		f, _ := os.Open(path(name))
		defer f.Close()
		b := make([]byte, len(old))
		f.ReadAt(b, off)
		return b
	}
	if !bytes.Equal(read("snap", 0), old) || !bytes.Equal(read("snap", 40<<20), old) {
		t.Fatal("snapshot does not hold the point-in-time bytes")
	}
	// Clone of the snapshot (cascade): has the snapshot's bytes.
	must(a.MkLCMap(MkLCMapReq{Source: "snap", Target: "clone", CopyRate: 100, CleanRate: 100, AutoDelete: true}))
	if err := a.StartLCMap("1", true); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read("clone", 0), old) || !bytes.Equal(read("clone", 40<<20), old) {
		t.Fatal("clone lacks the source bytes")
	}
	clk.Add(time.Hour)
	a.Advance()
	if len(a.LCMaps()) != 1 {
		t.Fatal("finished clone map must auto-delete")
	}
	// Thin accounting is real: the snapshot file is sparse.
	if used := allocatedBytes(path("snap")); used > 1<<20 {
		t.Fatalf("snapshot allocated %d bytes; copy must keep holes", used)
	}
	// Expand grows the file; delete removes it.
	a.RmLCMap("0", true)
	if err := a.ExpandVDiskSize("src", 1<<20); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path("src"))
	if fi.Size() != size+1<<20 {
		t.Fatalf("file size %d", fi.Size())
	}
	p := path("src")
	if err := a.RmVDisk("src", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatal("data file not removed")
	}
}

func TestEvents_MapUnmapResize(t *testing.T) {
	a := open(t, t.TempDir(), nil, 0)
	defer a.Close()
	ev, cancel := a.Subscribe()
	defer cancel()
	must(a.MkVDisk(MkVDiskReq{Name: "v", SizeBytes: 1 << 20, Pools: []string{"Pool0"}}))
	must(a.MkHost(MkHostReq{Name: "h", IQNs: []string{"iqn.2000-01.a:h"}}))
	<-ev // host change
	must(a.MkVDiskHostMap("h", "v", 5, false))
	if e := <-ev; e.Kind != EventMap || e.LUN != 5 || e.Host != "h" || e.InitiatorIQNs[0] != "iqn.2000-01.a:h" {
		t.Fatalf("%+v", e)
	}
	a.ExpandVDiskSize("v", 1<<20)
	if e := <-ev; e.Kind != EventVDiskResize || e.Capacity != 2<<20 {
		t.Fatalf("%+v", e)
	}
	a.RmVDiskHostMap("h", "v")
	if e := <-ev; e.Kind != EventUnmap || e.LUN != 5 {
		t.Fatalf("%+v", e)
	}
	nodes := a.Nodes()
	if len(nodes) != 4 || nodes[0].TargetIQN != "iqn.2004-12.com.inspur:mcs.mcs-emu.node1" || nodes[2].SiteName != "site2" {
		t.Fatalf("%+v", nodes)
	}
}

func TestTopology_Validate(t *testing.T) {
	bad := DefaultTopology()
	bad.Nodes[1].IOGrpID = 9
	if bad.Validate() == nil {
		t.Fatal("node in unknown I/O group accepted")
	}
	bad = DefaultTopology()
	bad.ClusterID = "xyz"
	if bad.Validate() == nil {
		t.Fatal("bad cluster id accepted")
	}
	// A state that references a pool the topology lost is refused at Open.
	dir := t.TempDir()
	a := open(t, dir, nil, 0)
	must(a.MkVDisk(MkVDiskReq{Name: "v", SizeBytes: 1 << 20, Pools: []string{"Pool1"}}))
	a.Close()
	topo := TwoSiteTopology()
	topo.Pools = topo.Pools[:1]
	if _, err := Open(dir, topo); err == nil {
		t.Fatal("Open with a missing pool must fail")
	}
}

func TestMkVDisk_AppendsOneSmallRecord(t *testing.T) {
	dir := t.TempDir()
	a := open(t, dir, nil, 1<<20)
	defer a.Close()
	for i := 0; i < 500; i++ {
		must(a.MkVDisk(MkVDiskReq{Name: fmt.Sprintf("v%d", i), SizeBytes: 1 << 20, Pools: []string{"Pool0"}}))
	}
	size := func() int64 { fi, _ := os.Stat(filepath.Join(dir, journalFile)); return fi.Size() }
	before := size()
	must(a.MkVDisk(MkVDiskReq{Name: "one-more", SizeBytes: 1 << 20, Pools: []string{"Pool0"}}))
	if d := size() - before; d <= 0 || d > 1024 {
		t.Fatalf("mkvdisk appended %d bytes; must be one small record", d)
	}
}

func TestReadsWorkAfterClose(t *testing.T) {
	a := open(t, t.TempDir(), nil, 0)
	must(a.MkVDisk(MkVDiskReq{Name: "v", SizeBytes: 1 << 20, Pools: []string{"Pool0"}}))
	a.Close()
	if len(a.VDisks(VDiskSelector{})) != 1 {
		t.Fatal("reads must not depend on the journal")
	}
	if _, err := a.MkVDisk(MkVDiskReq{Name: "w", SizeBytes: 1 << 20, Pools: []string{"Pool0"}}); err == nil {
		t.Fatal("changes after Close must fail")
	}
}

func TestThin_RealCapacityFollowsWrites(t *testing.T) {
	a := open(t, t.TempDir(), nil, 0)
	defer a.Close()
	must(a.MkVDisk(MkVDiskReq{Name: "t", SizeBytes: 1 << 30, Pools: []string{"Pool0"}, Thin: true, RSizePct: 0, AutoExpand: true}))
	free0 := a.Pools()[0].Free
	a.mu.Lock()
	p := a.dataPath(a.vdiskRef("t"))
	a.mu.Unlock()
	f, _ := os.OpenFile(p, os.O_RDWR, 0)
	f.WriteAt(bytes.Repeat([]byte{1}, 8<<20), 100<<20)
	f.Close()
	a.Advance()
	used := free0 - a.Pools()[0].Free
	if used < 8<<20 || used > 9<<20 {
		t.Fatalf("pool charged %d bytes for 8 MiB written", used)
	}
	v := must(a.VDisk("t"))
	if v.Copies[0].Real != used || v.Copies[0].Used < 8<<20 {
		t.Fatalf("copy %+v", v.Copies[0])
	}
}

func TestOpen_StateDirIsExclusive(t *testing.T) {
	dir := t.TempDir()
	a := open(t, dir, nil, 0)
	if _, err := Open(dir, TwoSiteTopology()); err == nil {
		t.Fatal("second Open of a state directory in use must fail")
	}
	a.Close()
	b := open(t, dir, nil, 0)
	b.Close()
}

func TestPortIPs_IPv6AndOffline(t *testing.T) {
	topo := DefaultTopology()
	topo.Nodes[1].Portals = []string{"[fd00::2]:3260", "127.0.0.2:3260"}
	a, err := OpenWithOptions(t.TempDir(), topo, Options{TickInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var v6 *PortIPView
	ports := a.PortIPs()
	for i := range ports {
		if ports[i].NodeName == "node2" && ports[i].IP6 != "" {
			v6 = &ports[i]
		}
	}
	if len(ports) != 6 || v6 == nil || v6.IP6 != "fd00::2" || v6.IP != "" || v6.State != "configured" {
		t.Fatalf("%+v", ports)
	}
	a.SetNodeStatus("node2", false)
	for _, p := range a.PortIPs() {
		if p.NodeName == "node2" && !p.Failover && (p.State != "offline" || p.LinkState != "inactive") {
			t.Fatalf("%+v", p)
		}
	}
	if len(a.LUNsFor("iqn.x:y", "node2")) != 0 {
		t.Fatal("offline node serves nothing")
	}
}

func TestPortIPs_Aliases(t *testing.T) {
	a, err := OpenWithOptions(t.TempDir(), DefaultTopology(), Options{TickInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	before := map[string]string{}
	for _, p := range a.PortIPs() {
		if !p.Failover {
			before[p.NodeName] = p.IP
		}
	}
	a.SetPortIPAliases(map[string]string{before["node1"]: "10.0.2.100"})
	for _, p := range a.PortIPs() {
		if p.Failover {
			continue
		}
		want := before[p.NodeName]
		if p.NodeName == "node1" {
			want = "10.0.2.100"
		}
		if p.IP != want {
			t.Errorf("%s reports %q, want %q", p.NodeName, p.IP, want)
		}
	}
}
