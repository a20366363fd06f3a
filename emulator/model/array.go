// Package model is the emulated array: topology, objects, invariants and
// persistence. It knows nothing of command lines; emulator/cli parses and
// prints, and calls the typed methods here (see mcs-cli.md for semantics).
package model

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// Clock is the time source; tests pass a controllable one.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Options tune Open beyond the topology.
type Options struct {
	Clock Clock // nil: wall clock
	// TickInterval drives timed transitions (lcmap copy, prepare, sync)
	// when nobody calls the array; 0 means 250ms, negative disables.
	TickInterval time.Duration
	// CompactEvery rewrites the snapshot after this many journal records;
	// 0 means 4096.
	CompactEvery int
	// NoSync skips fsync (tests on throw-away state only: a crash may then
	// lose acknowledged changes, though the journal still loads consistently).
	NoSync bool
}

// Array is one emulated array. All methods are safe for concurrent use.
type Array struct {
	mu    sync.Mutex
	topo  Topology
	clock Clock
	dir   string
	jr    *journal
	// broken is set when the journal could not be written: memory and disk
	// may differ, so further changes are refused until restart.
	broken error

	st state
	ix indexes

	nodeOffline map[string]bool   // fault: SetNodeStatus
	portIPAlias map[string]string // listened portal IP → IP lsportip reports (SetPortIPAliases)
	poolFree    map[int]int64     // fault: SetPoolFree (free bytes forced)
	subs        map[int]*subscriber
	nextSub     int
	quiesce     Quiescer
	stop        chan struct{}
	done        chan struct{}
	closed      bool
}

// state is everything that is persisted.
type state struct {
	VDisks       map[int]*VDisk        `json:"vdisks"`
	Hosts        map[int]*Host         `json:"hosts"`
	HostMaps     map[int]*HostMap      `json:"hostmaps"`
	LCMaps       map[int]*LCMap        `json:"lcmaps"`
	LCGroups     map[int]*LCConsistGrp `json:"lcgroups"`
	RCRels       map[int]*RCRel        `json:"rcrels"`
	Partnerships map[int]*Partnership  `json:"partnerships"`
	Meta         meta                  `json:"meta"`
}

func newState() state {
	return state{
		VDisks: map[int]*VDisk{}, Hosts: map[int]*Host{}, HostMaps: map[int]*HostMap{},
		LCMaps: map[int]*LCMap{}, LCGroups: map[int]*LCConsistGrp{}, RCRels: map[int]*RCRel{},
		Partnerships: map[int]*Partnership{}, Meta: meta{NextSerial: 1},
	}
}

// indexes are derived from state at load and kept current by every change.
type indexes struct {
	vdiskByName map[string]int
	vdiskByUID  map[string]int
	volMembers  map[int]map[int]struct{} // volume id → vdisk ids
	hostByName  map[string]int
	hostByPort  map[string]int // lower-case IQN or upper-case WWPN → host id
	mapsByHost  map[int]map[int]struct{}
	mapsByVDisk map[int]map[int]struct{}
	lcByVDisk   map[int]map[int]struct{}
	lcByName    map[string]int
	cgByName    map[string]int
	rcByName    map[string]int
	poolReal    map[int]int64 // Σ real capacity of copies per pool
	poolVirtual map[int]int64
	poolVDisks  map[int]int
	iogrpVDisks map[int]int
	syncing     map[int]struct{} // vdisks with a copy still synchronising
	vdiskFree   int              // no vdisk id below this is free
}

// Open loads the state in stateDir (creating it if empty) for topology topo.
func Open(stateDir string, topo Topology) (*Array, error) {
	return OpenWithOptions(stateDir, topo, Options{})
}

// OpenWithOptions is Open with a clock and tuning knobs.
func OpenWithOptions(stateDir string, topo Topology, opts Options) (*Array, error) {
	if err := topo.Validate(); err != nil {
		return nil, err
	}
	if topo.Vendor.CopyRateScale <= 0 {
		topo.Vendor.CopyRateScale = 1
	}
	a := &Array{
		topo: topo, clock: opts.Clock, dir: stateDir,
		nodeOffline: map[string]bool{}, poolFree: map[int]int64{}, subs: map[int]*subscriber{},
	}
	if a.clock == nil {
		a.clock = realClock{}
	}
	if err := os.MkdirAll(filepath.Join(stateDir, "vdisks"), 0o700); err != nil {
		return nil, err
	}
	lock, err := lockDir(stateDir)
	if err != nil {
		return nil, err
	}
	st, jr, err := loadState(stateDir, opts.CompactEvery)
	if err != nil {
		lock.Close()
		return nil, err
	}
	jr.noSync, jr.lock = opts.NoSync, lock
	a.st, a.jr = st, jr
	if err := a.checkAgainstTopology(); err != nil {
		jr.close()
		return nil, err
	}
	a.rebuildIndexes()
	if err := a.reconcileDataFiles(); err != nil {
		jr.close()
		return nil, err
	}
	interval := opts.TickInterval
	if interval == 0 {
		interval = 250 * time.Millisecond
	}
	a.stop, a.done = make(chan struct{}), make(chan struct{})
	if interval > 0 {
		go a.ticker(interval)
	} else {
		close(a.done)
	}
	klog.InfoS("Array opened", "stateDir", stateDir, "cluster", topo.ClusterName, "clusterID", topo.ClusterID,
		"vdisks", len(a.st.VDisks), "hosts", len(a.st.Hosts))
	return a, nil
}

// Close stops background work and closes the journal. State is already
// durable; Close only releases resources.
func (a *Array) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	close(a.stop)
	a.mu.Unlock()
	<-a.done
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, s := range a.subs {
		close(s.ch)
		delete(a.subs, id)
	}
	return a.jr.close()
}

// Topology returns a copy of the topology the array was opened with.
func (a *Array) Topology() Topology {
	t := a.topo
	t.IOGrps = append([]TopoIOGrp(nil), t.IOGrps...)
	t.Pools = append([]TopoPool(nil), t.Pools...)
	t.Nodes = nil
	for _, n := range a.topo.Nodes {
		n.Portals = append([]string(nil), n.Portals...)
		n.WWPNs = append([]string(nil), n.WWPNs...)
		t.Nodes = append(t.Nodes, n)
	}
	t.Vendor.FabricWWPNs = append([]string(nil), t.Vendor.FabricWWPNs...)
	return t
}

func (a *Array) ticker(every time.Duration) {
	defer close(a.done)
	t := time.NewTicker(every)
	defer t.Stop()
	refreshEvery := int(thinRefreshInterval / every)
	for n := 1; ; n++ {
		select {
		case <-a.stop:
			return
		case <-t.C:
			// Errors here are persistence failures already recorded in broken.
			_ = a.update(func(t *tx) error {
				if refreshEvery <= 1 || n%refreshEvery == 0 {
					a.refreshThinLocked(t)
				}
				return nil
			})
		}
	}
}

// thinRefreshInterval is how often autoexpanding thin copies are re-measured.
const thinRefreshInterval = 5 * time.Second

// Advance runs due timed transitions now and re-measures thin copies (tests
// with a fake clock call it after moving the clock; every command applies
// due transitions implicitly).
func (a *Array) Advance() error {
	return a.update(func(t *tx) error { a.refreshThinLocked(t); return nil })
}

// refreshThinLocked grows the real capacity of autoexpanding thin copies to
// what their data file really uses plus the rsize buffer (SVC autoexpand),
// so pool free capacity follows the bytes hosts wrote.
func (a *Array) refreshThinLocked(t *tx) {
	for _, v := range a.st.VDisks {
		var used int64 = -1
		for _, c := range v.Copies {
			if !(c.Thin || c.Compressed) || !c.AutoExpand {
				continue
			}
			if used < 0 {
				used = allocatedBytes(a.dataPath(v))
			}
			want := min(v.Capacity, roundUp(used+v.Capacity*int64(c.RSizePct)/100, sectorBytes))
			if want > c.Real {
				a.unindexVDisk(v)
				a.chargeFault(c.PoolID, want-c.Real)
				c.Real = want
				a.indexVDisk(v)
				t.touch(kindVDisk, v.ID)
			}
		}
	}
}

// update runs fn under the lock as one journalled transaction, after
// applying the clock's due transitions. fn must validate before it changes
// anything; whatever it did change is journalled even if it fails.
func (a *Array) update(fn func(*tx) error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return errInternal(errors.New("array closed"))
	}
	if a.broken != nil {
		return errInternal(a.broken)
	}
	t := a.begin()
	a.advanceLocked(t)
	ferr := fn(t)
	if err := a.commit(t); err != nil {
		return errInternal(err)
	}
	return ferr
}

// view runs a read-only fn after due transitions, under the lock. Reads
// keep working after a persistence failure or Close (nothing advances then).
func (a *Array) view(fn func()) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closed && a.broken == nil {
		t := a.begin()
		a.advanceLocked(t)
		if err := a.commit(t); err != nil {
			klog.ErrorS(err, "Persisting timed transitions failed")
		}
	}
	fn()
	return nil
}

func (a *Array) now() time.Time { return a.clock.Now().UTC() }

func (a *Array) checkAgainstTopology() error {
	for _, v := range a.st.VDisks {
		if a.iogrpByID(v.IOGrpID) == nil {
			return fmt.Errorf("state has vdisk %s in I/O group %d, which the topology lacks", v.Name, v.IOGrpID)
		}
		for _, c := range v.Copies {
			if a.poolByID(c.PoolID) == nil {
				return fmt.Errorf("state has vdisk %s in pool %d, which the topology lacks", v.Name, c.PoolID)
			}
		}
	}
	return nil
}

func (a *Array) rebuildIndexes() {
	a.ix = indexes{
		vdiskByName: map[string]int{}, vdiskByUID: map[string]int{}, volMembers: map[int]map[int]struct{}{},
		hostByName: map[string]int{}, hostByPort: map[string]int{},
		mapsByHost: map[int]map[int]struct{}{}, mapsByVDisk: map[int]map[int]struct{}{},
		lcByVDisk: map[int]map[int]struct{}{}, lcByName: map[string]int{}, cgByName: map[string]int{},
		rcByName: map[string]int{}, poolReal: map[int]int64{}, poolVirtual: map[int]int64{},
		poolVDisks: map[int]int{}, iogrpVDisks: map[int]int{}, syncing: map[int]struct{}{},
	}
	for _, v := range a.st.VDisks {
		a.indexVDisk(v)
	}
	for _, h := range a.st.Hosts {
		a.indexHost(h)
	}
	for _, m := range a.st.HostMaps {
		addSet(a.ix.mapsByHost, m.HostID, m.ID)
		addSet(a.ix.mapsByVDisk, m.VDiskID, m.ID)
	}
	for _, m := range a.st.LCMaps {
		a.indexLCMap(m)
	}
	for _, g := range a.st.LCGroups {
		a.ix.cgByName[g.Name] = g.ID
	}
	for _, r := range a.st.RCRels {
		a.ix.rcByName[r.Name] = r.ID
	}
}

func (a *Array) indexVDisk(v *VDisk) {
	a.ix.vdiskByName[v.Name] = v.ID
	a.ix.vdiskByUID[a.uid(v)] = v.ID
	addSet(a.ix.volMembers, v.VolumeID, v.ID)
	a.ix.iogrpVDisks[v.IOGrpID]++
	for _, c := range v.Copies {
		if !c.SyncAt.IsZero() {
			a.ix.syncing[v.ID] = struct{}{}
		}
		a.ix.poolReal[c.PoolID] += c.Real
		a.ix.poolVirtual[c.PoolID] += v.Capacity
		a.ix.poolVDisks[c.PoolID]++
	}
}

func (a *Array) unindexVDisk(v *VDisk) {
	delete(a.ix.vdiskByName, v.Name)
	delete(a.ix.vdiskByUID, a.uid(v))
	delSet(a.ix.volMembers, v.VolumeID, v.ID)
	a.ix.iogrpVDisks[v.IOGrpID]--
	delete(a.ix.syncing, v.ID)
	for _, c := range v.Copies {
		a.ix.poolReal[c.PoolID] -= c.Real
		a.ix.poolVirtual[c.PoolID] -= v.Capacity
		a.ix.poolVDisks[c.PoolID]--
	}
}

func (a *Array) indexHost(h *Host) {
	a.ix.hostByName[h.Name] = h.ID
	for _, p := range h.IQNs {
		a.ix.hostByPort[strings.ToLower(p)] = h.ID
	}
	for _, p := range h.WWPNs {
		a.ix.hostByPort[strings.ToUpper(p)] = h.ID
	}
}

func (a *Array) unindexHost(h *Host) {
	delete(a.ix.hostByName, h.Name)
	for _, p := range h.IQNs {
		delete(a.ix.hostByPort, strings.ToLower(p))
	}
	for _, p := range h.WWPNs {
		delete(a.ix.hostByPort, strings.ToUpper(p))
	}
}

func (a *Array) indexLCMap(m *LCMap) {
	a.ix.lcByName[m.Name] = m.ID
	addSet(a.ix.lcByVDisk, m.SourceID, m.ID)
	addSet(a.ix.lcByVDisk, m.TargetID, m.ID)
}

func (a *Array) unindexLCMap(m *LCMap) {
	delete(a.ix.lcByName, m.Name)
	delSet(a.ix.lcByVDisk, m.SourceID, m.ID)
	delSet(a.ix.lcByVDisk, m.TargetID, m.ID)
}

func addSet(m map[int]map[int]struct{}, k, v int) {
	s := m[k]
	if s == nil {
		s = map[int]struct{}{}
		m[k] = s
	}
	s[v] = struct{}{}
}

func delSet(m map[int]map[int]struct{}, k, v int) {
	if s := m[k]; s != nil {
		delete(s, v)
		if len(s) == 0 {
			delete(m, k)
		}
	}
}

func sortedKeys(s map[int]struct{}) []int {
	out := make([]int, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

func sortedIDs[T any](m map[int]T) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// lowestFree is the lowest unused non-negative id (mcs-cli.md §3.6).
func lowestFree[T any](m map[int]T) int { return lowestFreeFrom(m, 0) }

// lowestFreeFrom searches from a hint below which no id is free.
func lowestFreeFrom[T any](m map[int]T, from int) int {
	for i := from; ; i++ {
		if _, ok := m[i]; !ok {
			return i
		}
	}
}
