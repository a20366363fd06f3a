package model

import (
	"os"
	"sort"
	"time"
)

// MkVDiskReq is mkvdisk after the CLI parsed units and percentages (§4.4).
type MkVDiskReq struct {
	Name         string
	SizeBytes    int64
	Pools        []string // -mdiskgrp, one per copy (a:b for two copies)
	Copies       int      // -copies; 0 means len(Pools)
	IOGrp        string   // -iogrp; "" → default I/O group
	AccessIOGrps []string // -accessiogrp
	Thin         bool     // -rsize given: thin-provisioned copies
	RSizePct     int      // -rsize (used when Thin or Compressed)
	WarningPct   int
	AutoExpand   bool
	GrainSize    int // 0 → 256 for thin
	Compressed   bool
	InTier       string // on | off | "" (→ auto)
}

const (
	maxVDiskBytes = 256 << 40
	sectorBytes   = 512
)

// MkVDisk creates a vdisk and returns its id.
func (a *Array) MkVDisk(r MkVDiskReq) (int, error) {
	var id int
	err := a.update(func(t *tx) error {
		var err error
		id, err = a.mkVDisk(t, r, nil)
		return err
	})
	return id, err
}

type vdiskExtra struct {
	name      string // system-generated name prefix when Name is empty
	iogrp     *TopoIOGrp
	access    []int
	thinCV    bool // change volume: thin, rsize 0
	extraReal map[int]int64
}

func (a *Array) mkVDisk(t *tx, r MkVDiskReq, x *vdiskExtra) (int, error) {
	if r.Name != "" {
		if err := checkName(r.Name, maxNameLen); err != nil {
			return 0, err
		}
		if _, dup := a.ix.vdiskByName[r.Name]; dup {
			return 0, errExists()
		}
	}
	if r.Copies == 0 {
		r.Copies = len(r.Pools)
	}
	if r.Copies < 1 || r.Copies > 2 {
		return 0, errBadValue("-copies")
	}
	if len(r.Pools) == 0 {
		return 0, errMissingParams()
	}
	if len(r.Pools) != r.Copies {
		return 0, errBadValue("-mdiskgrp")
	}
	size, err := checkSize(r.SizeBytes)
	if err != nil {
		return 0, err
	}
	pools := make([]*TopoPool, len(r.Pools))
	for i, p := range r.Pools {
		if pools[i] = a.poolRef(p); pools[i] == nil {
			return 0, errNotExist()
		}
	}
	g := a.defaultIOGrp()
	if x != nil && x.iogrp != nil {
		g = x.iogrp
	} else if r.IOGrp != "" {
		if g = a.iogrpRef(r.IOGrp); g == nil {
			return 0, errNotExist()
		}
	}
	nodes := a.nodesOf(g.ID)
	if len(nodes) == 0 {
		return 0, errNodeOffline()
	}
	access := []int{g.ID}
	if x != nil && x.access != nil {
		access = x.access
	} else if len(r.AccessIOGrps) > 0 {
		access = nil
		for _, ref := range r.AccessIOGrps {
			ag := a.iogrpRef(ref)
			if ag == nil {
				return 0, errNotExist()
			}
			if !containsInt(access, ag.ID) {
				access = append(access, ag.ID)
			}
		}
		if !containsInt(access, g.ID) {
			access = append([]int{g.ID}, access...)
		}
	}
	thin := r.Thin || r.Compressed
	if r.Compressed && !a.topo.Vendor.Compression {
		return 0, errCompression()
	}
	if r.RSizePct > 100 {
		return 0, errBadValue("-rsize")
	}
	if r.WarningPct < 0 || r.WarningPct > 100 {
		return 0, errBadValue("-warning")
	}
	grain := r.GrainSize
	if thin && !r.Compressed {
		switch grain {
		case 0:
			grain = 256
		case 32, 64, 128, 256:
		default:
			return 0, errBadValue("-grainsize")
		}
	} else if grain != 0 {
		return 0, errBadValue("-grainsize")
	}
	rsize := max(r.RSizePct, 0)
	intier := r.InTier
	if intier == "" {
		intier = "auto"
	}
	// Space: thin copies take rsize% now, thick copies the whole size.
	need := map[int]int64{}
	reals := make([]int64, len(pools))
	for i, p := range pools {
		reals[i] = size
		if thin {
			reals[i] = roundUp(size*int64(rsize)/100, sectorBytes)
		}
		need[p.ID] += reals[i]
	}
	if x != nil {
		for pid, n := range x.extraReal {
			need[pid] += n
		}
	}
	for pid, n := range need {
		if n > a.poolFreeBytes(a.poolByID(pid)) {
			return 0, errNoExtents()
		}
	}

	id := lowestFreeFrom(a.st.VDisks, a.ix.vdiskFree)
	name := r.Name
	if name == "" {
		prefix := "vdisk"
		if x != nil && x.name != "" {
			prefix = x.name
		}
		name = uniqueName(prefix, id, func(s string) bool { _, ok := a.ix.vdiskByName[s]; return ok })
	}
	v := &VDisk{
		ID: id, Name: name, Serial: a.st.Meta.NextSerial, Capacity: size, IOGrpID: g.ID,
		AccessIOGrps: access, VolumeID: id, RCID: -1,
	}
	v.PreferredNodeID = nodes[int(v.Serial)%len(nodes)].ID
	now := a.now()
	for i, p := range pools {
		c := &VDiskCopy{ID: i, PoolID: p.ID, Primary: i == 0, InTier: intier, Real: reals[i]}
		if thin {
			c.Thin, c.Compressed, c.AutoExpand = !r.Compressed, r.Compressed, r.AutoExpand
			c.RSizePct, c.WarningPct, c.GrainSize = rsize, r.WarningPct, grain
		}
		if i > 0 {
			c.SyncAt = now.Add(a.topo.Vendor.SyncDelay)
		}
		v.Copies = append(v.Copies, c)
	}
	if err := createDataFile(a.dataPath(v), size); err != nil {
		return 0, errInternal(err)
	}
	a.st.Meta.NextSerial++
	t.touch(kindMeta, 0)
	a.st.VDisks[id] = v
	a.ix.vdiskFree = id + 1
	a.indexVDisk(v)
	for _, c := range v.Copies {
		a.chargeFault(c.PoolID, c.Real)
	}
	t.touch(kindVDisk, id)
	return id, nil
}

func checkSize(b int64) (int64, error) {
	if b <= 0 || b > maxVDiskBytes {
		return 0, errBadSize()
	}
	return roundUp(b, sectorBytes), nil
}

func roundUp(n, m int64) int64 { return (n + m - 1) / m * m }

// defaultIOGrp is the lowest-id I/O group that has nodes (README "Defaults").
func (a *Array) defaultIOGrp() *TopoIOGrp {
	ids := make([]int, 0, len(a.topo.IOGrps))
	for _, g := range a.topo.IOGrps {
		if len(a.nodesOf(g.ID)) > 0 {
			ids = append(ids, g.ID)
		}
	}
	sort.Ints(ids)
	if len(ids) == 0 {
		return &a.topo.IOGrps[0]
	}
	return a.iogrpByID(ids[0])
}

// RmVDisk deletes a vdisk; with force also its mappings and lcmaps (§4.4).
func (a *Array) RmVDisk(ref string, force bool) error {
	return a.update(func(t *tx) error {
		v := a.vdiskRef(ref)
		if v == nil {
			return errNotSuitable()
		}
		if v.RCID >= 0 || v.RCChange {
			return errVDiskInUse() // remove the relationship first (README)
		}
		if !force && (len(a.ix.mapsByVDisk[v.ID]) > 0 || len(a.ix.lcByVDisk[v.ID]) > 0) {
			return errVDiskInUse()
		}
		a.deleteVDisk(t, v)
		return nil
	})
}

// deleteVDisk removes v with its mappings and lcmaps; callers checked rules.
func (a *Array) deleteVDisk(t *tx, v *VDisk) {
	for _, mid := range sortedKeys(a.ix.mapsByVDisk[v.ID]) {
		a.deleteHostMap(t, a.st.HostMaps[mid])
	}
	for _, lid := range sortedKeys(a.ix.lcByVDisk[v.ID]) {
		a.deleteLCMap(t, a.st.LCMaps[lid])
	}
	a.unindexVDisk(v)
	for _, c := range v.Copies {
		a.chargeFault(c.PoolID, -c.Real)
	}
	delete(a.st.VDisks, v.ID)
	a.ix.vdiskFree = min(a.ix.vdiskFree, v.ID)
	t.touch(kindVDisk, v.ID)
	path := a.dataPath(v)
	t.after = append(t.after, func() { os.Remove(path) })
	t.emit(Event{Kind: EventVDiskDelete, VDiskID: v.ID, VDiskName: v.Name})
}

// ExpandVDiskSize grows every copy by delta bytes (§4.4: -size is the increment).
func (a *Array) ExpandVDiskSize(ref string, delta int64) error {
	return a.update(func(t *tx) error {
		v := a.vdiskRef(ref)
		if v == nil {
			return errNotSuitable()
		}
		if delta <= 0 {
			return errBadSize()
		}
		delta = roundUp(delta, sectorBytes)
		if v.Capacity+delta > maxVDiskBytes {
			return errBadSize()
		}
		if v.RCID >= 0 || v.RCChange || a.userLCMaps(v.ID) > 0 {
			return errVDiskBusy()
		}
		need := map[int]int64{}
		for _, c := range v.Copies {
			if !c.Thin && !c.Compressed {
				need[c.PoolID] += delta
			}
		}
		for pid, n := range need {
			if n > a.poolFreeBytes(a.poolByID(pid)) {
				return errNoExtents()
			}
		}
		if err := growDataFile(a.dataPath(v), v.Capacity+delta); err != nil {
			return errInternal(err)
		}
		a.unindexVDisk(v)
		v.Capacity += delta
		for _, c := range v.Copies {
			if !c.Thin && !c.Compressed {
				c.Real += delta
				a.chargeFault(c.PoolID, delta)
			}
		}
		a.indexVDisk(v)
		t.touch(kindVDisk, v.ID)
		t.emit(Event{Kind: EventVDiskResize, VDiskID: v.ID, VDiskName: v.Name, Capacity: v.Capacity})
		return nil
	})
}

// userLCMaps counts v's lcmaps that are not rc-controlled.
func (a *Array) userLCMaps(id int) int {
	n := 0
	for lid := range a.ix.lcByVDisk[id] {
		if !a.st.LCMaps[lid].RCControlled {
			n++
		}
	}
	return n
}

// ChVDiskReq is chvdisk: exactly one field is set (§4.4).
type ChVDiskReq struct {
	Name       *string
	Rate       *int
	WarningPct *int
	AutoExpand *bool
	InTier     *string
}

// ChVDisk changes one attribute of a vdisk.
func (a *Array) ChVDisk(ref string, r ChVDiskReq) error {
	return a.update(func(t *tx) error {
		v := a.vdiskRef(ref)
		if v == nil {
			return errNotSuitable()
		}
		switch {
		case r.Name != nil:
			if *r.Name == v.Name {
				return nil
			}
			if err := checkName(*r.Name, maxNameLen); err != nil {
				return err
			}
			if _, dup := a.ix.vdiskByName[*r.Name]; dup {
				return errExists()
			}
			a.unindexVDisk(v)
			v.Name = *r.Name
			a.indexVDisk(v)
			a.renameDefaultLCNames(t, v)
		case r.Rate != nil:
			if *r.Rate < 0 {
				return errBadValue("-rate")
			}
			v.Rate = *r.Rate
		case r.WarningPct != nil:
			if *r.WarningPct < 0 || *r.WarningPct > 100 {
				return errBadValue("-warning")
			}
			for _, c := range v.Copies {
				if c.Thin || c.Compressed {
					c.WarningPct = *r.WarningPct
				}
			}
		case r.AutoExpand != nil:
			for _, c := range v.Copies {
				if c.Thin || c.Compressed {
					c.AutoExpand = *r.AutoExpand
				}
			}
		case r.InTier != nil:
			for _, c := range v.Copies {
				c.InTier = *r.InTier
			}
		default:
			return errMissingParams()
		}
		t.touch(kindVDisk, v.ID)
		return nil
	})
}

// renameDefaultLCNames is a no-op hook: lcmap names do not embed vdisk
// names, so a rename needs nothing else (volume_name is derived).
func (a *Array) renameDefaultLCNames(*tx, *VDisk) {}

// MoveVDisk changes the caching I/O group (movevdisk -iogrp).
func (a *Array) MoveVDisk(ref, iogrp string) error {
	return a.update(func(t *tx) error {
		v := a.vdiskRef(ref)
		if v == nil {
			return errNotSuitable()
		}
		g := a.iogrpRef(iogrp)
		if g == nil {
			return errNotExist()
		}
		nodes := a.nodesOf(g.ID)
		if len(nodes) == 0 {
			return errNodeOffline()
		}
		if g.ID == v.IOGrpID {
			return nil
		}
		a.ix.iogrpVDisks[v.IOGrpID]--
		a.ix.iogrpVDisks[g.ID]++
		v.IOGrpID = g.ID
		v.PreferredNodeID = nodes[int(v.Serial)%len(nodes)].ID
		if !containsInt(v.AccessIOGrps, g.ID) {
			v.AccessIOGrps = append(v.AccessIOGrps, g.ID)
		}
		t.touch(kindVDisk, v.ID)
		a.emitMapsChanged(t, v)
		return nil
	})
}

// AddVDiskAccess adds an I/O group to the access set; present → no-op (§6.9).
func (a *Array) AddVDiskAccess(ref, iogrp string) error {
	return a.update(func(t *tx) error {
		v := a.vdiskRef(ref)
		if v == nil {
			return errNotSuitable()
		}
		g := a.iogrpRef(iogrp)
		if g == nil {
			return errNotExist()
		}
		if containsInt(v.AccessIOGrps, g.ID) {
			return nil
		}
		v.AccessIOGrps = append(v.AccessIOGrps, g.ID)
		sort.Ints(v.AccessIOGrps)
		t.touch(kindVDisk, v.ID)
		a.emitMapsChanged(t, v)
		return nil
	})
}

// RmVDiskAccess removes an I/O group from the access set; the caching
// I/O group cannot be removed.
func (a *Array) RmVDiskAccess(ref, iogrp string) error {
	return a.update(func(t *tx) error {
		v := a.vdiskRef(ref)
		if v == nil {
			return errNotSuitable()
		}
		g := a.iogrpRef(iogrp)
		if g == nil {
			return errNotExist()
		}
		if g.ID == v.IOGrpID {
			return errBadValue("-iogrp")
		}
		out := v.AccessIOGrps[:0]
		for _, x := range v.AccessIOGrps {
			if x != g.ID {
				out = append(out, x)
			}
		}
		v.AccessIOGrps = out
		t.touch(kindVDisk, v.ID)
		a.emitMapsChanged(t, v)
		return nil
	})
}

// emitMapsChanged tells the data path a vdisk's reachability changed.
func (a *Array) emitMapsChanged(t *tx, v *VDisk) {
	for mid := range a.ix.mapsByVDisk[v.ID] {
		m := a.st.HostMaps[mid]
		h := a.st.Hosts[m.HostID]
		t.emit(Event{Kind: EventMap, Host: h.Name, InitiatorIQNs: append([]string(nil), h.IQNs...),
			VDiskID: v.ID, VDiskName: v.Name, LUN: m.SCSIID})
	}
}

// AddVDiskCopy adds copy 1 in another pool (§4.4); returns the copy id.
func (a *Array) AddVDiskCopy(ref string, r MkVDiskReq) (vdiskID, copyID int, err error) {
	err = a.update(func(t *tx) error {
		v := a.vdiskRef(ref)
		if v == nil {
			return errNotSuitable()
		}
		if len(v.Copies) >= 2 {
			return errTooManyCopies()
		}
		if len(r.Pools) != 1 {
			return errMissingParams()
		}
		p := a.poolRef(r.Pools[0])
		if p == nil {
			return errNotExist()
		}
		thin := r.Thin || r.Compressed
		if r.Compressed && !a.topo.Vendor.Compression {
			return errCompression()
		}
		grain := r.GrainSize
		if thin && !r.Compressed && grain == 0 {
			grain = 256
		}
		if thin && !r.Compressed && grain != 32 && grain != 64 && grain != 128 && grain != 256 {
			return errBadValue("-grainsize")
		}
		real := v.Capacity
		if thin {
			real = roundUp(v.Capacity*int64(max(r.RSizePct, 0))/100, sectorBytes)
		}
		if real > a.poolFreeBytes(p) {
			return errNoExtents()
		}
		cid := 0
		if len(v.Copies) == 1 && v.Copies[0].ID == 0 {
			cid = 1
		}
		intier := r.InTier
		if intier == "" {
			intier = "auto"
		}
		c := &VDiskCopy{ID: cid, PoolID: p.ID, InTier: intier, Real: real,
			SyncAt: a.now().Add(a.topo.Vendor.SyncDelay)}
		if thin {
			c.Thin, c.Compressed, c.AutoExpand = !r.Compressed, r.Compressed, r.AutoExpand
			c.RSizePct, c.WarningPct, c.GrainSize = max(r.RSizePct, 0), r.WarningPct, grain
		}
		a.unindexVDisk(v)
		v.Copies = append(v.Copies, c)
		sort.Slice(v.Copies, func(i, j int) bool { return v.Copies[i].ID < v.Copies[j].ID })
		a.indexVDisk(v)
		a.chargeFault(p.ID, real)
		t.touch(kindVDisk, v.ID)
		vdiskID, copyID = v.ID, cid
		return nil
	})
	return vdiskID, copyID, err
}

// RmVDiskCopy removes one copy; removing the primary promotes the other.
func (a *Array) RmVDiskCopy(ref string, copyID int) error {
	return a.update(func(t *tx) error {
		v := a.vdiskRef(ref)
		if v == nil {
			return errNotSuitable()
		}
		idx := -1
		for i, c := range v.Copies {
			if c.ID == copyID {
				idx = i
			}
		}
		if idx < 0 {
			return errNoCopy()
		}
		if len(v.Copies) == 1 {
			return errLastCopy()
		}
		a.unindexVDisk(v)
		gone := v.Copies[idx]
		v.Copies = append(v.Copies[:idx:idx], v.Copies[idx+1:]...)
		if gone.Primary {
			v.Copies[0].Primary = true
			v.Copies[0].SyncAt = time.Time{}
		}
		a.indexVDisk(v)
		a.chargeFault(gone.PoolID, -gone.Real)
		t.touch(kindVDisk, v.ID)
		return nil
	})
}
