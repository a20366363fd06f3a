package model

import (
	"time"

	"k8s.io/klog/v2"
)

// MkLCMapReq is mklcmap (§4.6).
type MkLCMapReq struct {
	Name       string
	Source     string
	Target     string
	CopyRate   int // default 50 when not given (CLI passes -1)
	CleanRate  int
	AutoDelete bool
	ConsistGrp string
}

const defaultCopyRate = 50

// MkLCMap creates a LocalCopy map in idle_or_copied.
func (a *Array) MkLCMap(r MkLCMapReq) (int, error) {
	var id int
	err := a.update(func(t *tx) error {
		if r.Source == "" || r.Target == "" {
			return errMissingParams()
		}
		src, tgt := a.vdiskRef(r.Source), a.vdiskRef(r.Target)
		if src == nil || tgt == nil {
			return errNotExist()
		}
		if src.ID == tgt.ID {
			return errSameVDisk()
		}
		if src.Capacity != tgt.Capacity {
			return errLCSize()
		}
		if r.CopyRate < 0 {
			r.CopyRate = defaultCopyRate
		}
		if r.CleanRate < 0 {
			r.CleanRate = defaultCopyRate
		}
		if r.CopyRate > 100 || r.CleanRate > 100 {
			return errBadValue("-copyrate")
		}
		// A vdisk is the target of at most one map (its bytes have one source).
		for lid := range a.ix.lcByVDisk[tgt.ID] {
			if a.st.LCMaps[lid].TargetID == tgt.ID {
				return errVDiskBusy()
			}
		}
		if tgt.RCID >= 0 || tgt.RCChange {
			return errVDiskBusy()
		}
		grp := -1
		if r.ConsistGrp != "" {
			g := a.lcgroupRef(r.ConsistGrp)
			if g == nil {
				return errNotExist()
			}
			grp = g.ID
		}
		if r.Name != "" {
			if err := checkName(r.Name, maxNameLen); err != nil {
				return err
			}
			if _, dup := a.ix.lcByName[r.Name]; dup {
				return errExists()
			}
		}
		id = lowestFree(a.st.LCMaps)
		name := r.Name
		if name == "" {
			name = uniqueName("lcmap", id, func(s string) bool { _, ok := a.ix.lcByName[s]; return ok })
		}
		m := &LCMap{ID: id, Name: name, SourceID: src.ID, TargetID: tgt.ID, GroupID: grp, Status: lcIdle,
			CopyRate: r.CopyRate, CleanRate: r.CleanRate, AutoDelete: r.AutoDelete}
		a.st.LCMaps[id] = m
		a.indexLCMap(m)
		t.touch(kindLCMap, id)
		return nil
	})
	return id, err
}

// newRCLCMap adds an rc-controlled map (active-active change volumes).
func (a *Array) newRCLCMap(t *tx, src, tgt int) {
	id := lowestFree(a.st.LCMaps)
	name := uniqueName("lcmap", id, func(s string) bool { _, ok := a.ix.lcByName[s]; return ok })
	m := &LCMap{ID: id, Name: name, SourceID: src, TargetID: tgt, GroupID: -1, Status: lcIdle,
		CopyRate: 0, CleanRate: 0, RCControlled: true}
	a.st.LCMaps[id] = m
	a.indexLCMap(m)
	t.touch(kindLCMap, id)
}

func (a *Array) deleteLCMap(t *tx, m *LCMap) {
	a.unindexLCMap(m)
	delete(a.st.LCMaps, m.ID)
	t.touch(kindLCMap, m.ID)
}

// PrestartLCMap: idle_or_copied/stopped → preparing (→ prepared after PrepareDelay).
func (a *Array) PrestartLCMap(ref string) error {
	return a.update(func(t *tx) error {
		m := a.lcmapRef(ref)
		if m == nil {
			return errNotSuitable()
		}
		return a.prestart(t, m)
	})
}

func (a *Array) prestart(t *tx, m *LCMap) error {
	if m.RCControlled || (m.Status != lcIdle && m.Status != lcStopped) {
		return errLCState()
	}
	m.Status, m.PreparedAt = lcPreparing, a.now().Add(a.topo.Vendor.PrepareDelay)
	if a.topo.Vendor.PrepareDelay <= 0 {
		m.Status, m.PreparedAt = lcPrepared, time.Time{}
	}
	t.touch(kindLCMap, m.ID)
	return nil
}

// StartLCMap: prepared → copying; with prep also from idle_or_copied/stopped,
// synchronously, so start_time is set on return (§4.6, §11.1.11).
func (a *Array) StartLCMap(ref string, prep bool) error {
	return a.update(func(t *tx) error {
		m := a.lcmapRef(ref)
		if m == nil {
			return errNotSuitable()
		}
		return a.start(t, []*LCMap{m}, prep)
	})
}

func (a *Array) start(t *tx, maps []*LCMap, prep bool) error {
	for _, m := range maps {
		ok := m.Status == lcPrepared || (prep && (m.Status == lcIdle || m.Status == lcStopped))
		if m.RCControlled || !ok {
			return errLCState()
		}
	}
	// Copy every source at one instant: the point in time of the snapshot(s).
	var paths []string
	for _, m := range maps {
		paths = append(paths, a.dataPath(a.st.VDisks[m.SourceID]), a.dataPath(a.st.VDisks[m.TargetID]))
	}
	if a.quiesce != nil {
		resume := a.quiesce.Quiesce(paths)
		defer resume()
	}
	for _, m := range maps {
		src, tgt := a.st.VDisks[m.SourceID], a.st.VDisks[m.TargetID]
		if err := copyDataFile(a.dataPath(src), a.dataPath(tgt), tgt.Capacity); err != nil {
			klog.ErrorS(err, "LocalCopy data copy failed", "lcmap", m.ID, "source", src.Name, "target", tgt.Name)
			return errInternal(err)
		}
		t.emit(Event{Kind: EventVDiskData, VDiskID: tgt.ID, VDiskName: tgt.Name, Capacity: tgt.Capacity})
	}
	now := a.now()
	for _, m := range maps {
		m.Status, m.StartTime, m.Copied, m.RateSince, m.Progress = lcCopying, now, 0, now, 0
		m.PreparedAt = time.Time{}
		t.touch(kindLCMap, m.ID)
	}
	return nil
}

// StopLCMap: copying/prepared → stopped; stopped → no-op (README "LocalCopy").
func (a *Array) StopLCMap(ref string, force bool) error {
	return a.update(func(t *tx) error {
		m := a.lcmapRef(ref)
		if m == nil {
			return errNotSuitable()
		}
		return a.stopMap(t, m)
	})
}

func (a *Array) stopMap(t *tx, m *LCMap) error {
	switch {
	case m.RCControlled:
		return errLCState()
	case m.Status == lcStopped:
		return nil
	case m.Status == lcCopying:
		m.Progress = a.progress(m, a.now())
	case m.Status == lcPrepared:
	default:
		return errLCState()
	}
	m.Status = lcStopped
	t.touch(kindLCMap, m.ID)
	return nil
}

// RmLCMap deletes a map: idle_or_copied always; stopped, prepared or
// copying with force (§5.1 recommendation).
func (a *Array) RmLCMap(ref string, force bool) error {
	return a.update(func(t *tx) error {
		m := a.lcmapRef(ref)
		if m == nil {
			return errNotSuitable()
		}
		switch {
		case m.RCControlled:
			return errLCState()
		case m.Status == lcIdle:
		case force && (m.Status == lcStopped || m.Status == lcPrepared || m.Status == lcCopying):
		default:
			return errLCState()
		}
		a.deleteLCMap(t, m)
		return nil
	})
}

// ChLCMapReq is chlcmap (§4.6).
type ChLCMapReq struct {
	CopyRate   *int
	CleanRate  *int
	AutoDelete *bool
	Name       *string
}

// ChLCMap changes copy rate, clean rate, autodelete or name.
func (a *Array) ChLCMap(ref string, r ChLCMapReq) error {
	return a.update(func(t *tx) error {
		m := a.lcmapRef(ref)
		if m == nil {
			return errNotSuitable()
		}
		if r.CopyRate == nil && r.CleanRate == nil && r.AutoDelete == nil && r.Name == nil {
			return errMissingParams()
		}
		if (r.CopyRate != nil && (*r.CopyRate < 0 || *r.CopyRate > 100)) ||
			(r.CleanRate != nil && (*r.CleanRate < 0 || *r.CleanRate > 100)) {
			return errBadValue("-copyrate")
		}
		if r.Name != nil && *r.Name != m.Name {
			if err := checkName(*r.Name, maxNameLen); err != nil {
				return err
			}
			if _, dup := a.ix.lcByName[*r.Name]; dup {
				return errExists()
			}
		}
		if r.CopyRate != nil {
			if m.Status == lcCopying { // bank progress at the old rate first
				now := a.now()
				m.Copied, m.RateSince = a.copied(m, now), now
			}
			m.CopyRate = *r.CopyRate
		}
		if r.CleanRate != nil {
			m.CleanRate = *r.CleanRate
		}
		if r.AutoDelete != nil {
			m.AutoDelete = *r.AutoDelete
		}
		if r.Name != nil {
			a.unindexLCMap(m)
			m.Name = *r.Name
			a.indexLCMap(m)
		}
		t.touch(kindLCMap, m.ID)
		return nil
	})
}

// copyBytesPerSec is the SVC background-copy table ([R] §5.1): 128 KiB/s at
// rates 1–10, doubling every 10 points to 64 MiB/s at 91–100; times scale.
func (a *Array) copyBytesPerSec(rate int) float64 {
	if rate <= 0 {
		return 0
	}
	band := (rate - 1) / 10
	return float64(int64(128<<10)<<band) * a.topo.Vendor.CopyRateScale
}

func (a *Array) copied(m *LCMap, now time.Time) int64 {
	tgt := a.st.VDisks[m.TargetID]
	elapsed := now.Sub(m.RateSince).Seconds()
	if elapsed < 0 {
		elapsed = 0
	}
	c := m.Copied + int64(elapsed*a.copyBytesPerSec(m.CopyRate))
	if tgt != nil && c > tgt.Capacity {
		c = tgt.Capacity
	}
	return c
}

// progress is 0..100 for a map at time now.
func (a *Array) progress(m *LCMap, now time.Time) int {
	if m.Status != lcCopying {
		return m.Progress
	}
	tgt := a.st.VDisks[m.TargetID]
	if tgt == nil || tgt.Capacity == 0 {
		return 0
	}
	return int(a.copied(m, now) * 100 / tgt.Capacity)
}

// advanceLocked applies every transition that is due by the clock:
// preparing → prepared, copying → idle_or_copied (+autodelete), mirror
// copies and RC relationships reaching sync. Queries never cause them.
func (a *Array) advanceLocked(t *tx) {
	now := a.now()
	for id, m := range a.st.LCMaps { // order is irrelevant; commit sorts the record
		switch m.Status {
		case lcPreparing:
			if !now.Before(m.PreparedAt) {
				m.Status, m.PreparedAt = lcPrepared, time.Time{}
				t.touch(kindLCMap, id)
			}
		case lcCopying:
			if m.CopyRate > 0 && a.progress(m, now) >= 100 {
				m.Status, m.Progress = lcIdle, 100
				t.touch(kindLCMap, id)
				if m.AutoDelete {
					a.deleteLCMap(t, m)
				}
			}
		}
	}
	for _, r := range a.st.RCRels {
		if r.State == rcInconsistentCopying && !now.Before(r.SyncAt) {
			r.State, r.SyncAt = rcConsistentSync, time.Time{}
			t.touch(kindRCRel, r.ID)
		}
	}
	for id := range a.ix.syncing {
		v := a.st.VDisks[id]
		synced := true
		for _, c := range v.Copies {
			if !c.SyncAt.IsZero() && !now.Before(c.SyncAt) {
				c.SyncAt = time.Time{}
				t.touch(kindVDisk, v.ID)
			}
			synced = synced && c.SyncAt.IsZero()
		}
		if synced {
			delete(a.ix.syncing, id)
		}
	}
}
