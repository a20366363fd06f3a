package model

import "time"

// MkRCRelReq is mkrcrelationship (§4.7).
type MkRCRelReq struct {
	Master, Aux, Cluster, Name string
	Async, Sync, ActiveActive  bool
}

// MkRCRelationship creates a relationship whose id is the master's id.
// Only intra-cluster relationships are possible here: -cluster must name
// this system (README "Remote copy").
func (a *Array) MkRCRelationship(r MkRCRelReq) (int, error) {
	var id int
	err := a.update(func(t *tx) error {
		if r.Master == "" || r.Aux == "" || r.Cluster == "" {
			return errMissingParams()
		}
		if r.Cluster != a.topo.ClusterName && r.Cluster != a.topo.ClusterID {
			return errNotExist()
		}
		m, x := a.vdiskRef(r.Master), a.vdiskRef(r.Aux)
		if m == nil || x == nil || m.ID == x.ID || m.Capacity != x.Capacity {
			return errNotExist()
		}
		if _, dup := a.st.RCRels[m.ID]; dup || m.RCID >= 0 || x.RCID >= 0 || m.RCChange || x.RCChange {
			return errRCExists()
		}
		if a.userLCMaps(m.ID) > 0 || a.userLCMaps(x.ID) > 0 {
			return errVDiskBusy()
		}
		name := r.Name
		if name != "" {
			if err := checkName(name, maxNameLen); err != nil {
				return err
			}
		} else {
			name = uniqueName("rcrel", m.ID, func(s string) bool { _, ok := a.ix.rcByName[s]; return ok })
		}
		if _, dup := a.ix.rcByName[name]; dup {
			return errRCExists()
		}
		rc := &RCRel{ID: m.ID, Name: name, MasterID: m.ID, AuxID: x.ID, MasterChangeID: -1, AuxChangeID: -1,
			CopyType: "sync", State: rcInconsistentStopped, Primary: "master"}
		switch {
		case r.ActiveActive:
			rc.CopyType, rc.State = "activeactive", rcConsistentStopped
		case r.Async:
			rc.CopyType = "async"
		}
		if r.Sync {
			rc.State = rcConsistentStopped
		}
		id = rc.ID
		a.st.RCRels[id] = rc
		a.ix.rcByName[rc.Name] = id
		t.touch(kindRCRel, id)
		m.RCID, x.RCID = id, id
		t.touch(kindVDisk, m.ID)
		t.touch(kindVDisk, x.ID)
		if rc.CopyType == "activeactive" {
			a.setVolume(t, m, m.ID, "master")
			a.setVolume(t, x, m.ID, "aux")
		}
		return nil
	})
	return id, err
}

// setVolume moves v into volume volID with the given function (§4.2).
func (a *Array) setVolume(t *tx, v *VDisk, volID int, function string) {
	delSet(a.ix.volMembers, v.VolumeID, v.ID)
	v.VolumeID, v.Function = volID, function
	addSet(a.ix.volMembers, v.VolumeID, v.ID)
	t.touch(kindVDisk, v.ID)
}

// ChRCRelationship attaches a master or aux change volume; for
// active-active it recreates the two rc-controlled lcmaps and the tagging,
// and starts the relationship once both are attached (§4.7, §6.9).
func (a *Array) ChRCRelationship(ref, masterChange, auxChange string) error {
	return a.update(func(t *tx) error {
		rc := a.rcRef(ref)
		if rc == nil {
			return errNotSuitable()
		}
		if masterChange == "" && auxChange == "" {
			return errMissingParams()
		}
		type attach struct {
			cv, base *VDisk
			slot     *int
			function string
		}
		var todo []attach
		for _, spec := range []struct {
			ref      string
			slot     *int
			base     int
			function string
		}{{masterChange, &rc.MasterChangeID, rc.MasterID, "master_change"}, {auxChange, &rc.AuxChangeID, rc.AuxID, "aux_change"}} {
			if spec.ref == "" {
				continue
			}
			cv := a.vdiskRef(spec.ref)
			if cv == nil {
				return errNotSuitable()
			}
			if *spec.slot >= 0 || cv.RCID >= 0 || cv.RCChange || cv.ID == rc.MasterID || cv.ID == rc.AuxID {
				return errRCState()
			}
			base := a.st.VDisks[spec.base]
			if cv.Capacity != base.Capacity {
				return errNotExist()
			}
			if len(a.ix.mapsByVDisk[cv.ID]) > 0 || a.userLCMaps(cv.ID) > 0 {
				return errVDiskBusy()
			}
			todo = append(todo, attach{cv, base, spec.slot, spec.function})
		}
		if len(todo) == 2 && todo[0].cv.ID == todo[1].cv.ID {
			return errRCState()
		}
		// Validated: now change.
		for _, at := range todo {
			*at.slot = at.cv.ID
			at.cv.RCChange = true
			t.touch(kindVDisk, at.cv.ID)
			if rc.CopyType == "activeactive" {
				a.setVolume(t, at.cv, rc.MasterID, at.function)
				a.newRCLCMap(t, at.base.ID, at.cv.ID)
				a.newRCLCMap(t, at.cv.ID, at.base.ID)
			}
		}
		if rc.CopyType == "activeactive" && rc.MasterChangeID >= 0 && rc.AuxChangeID >= 0 && rc.State == rcConsistentStopped {
			rc.State = rcConsistentSync
		}
		t.touch(kindRCRel, rc.ID)
		return nil
	})
}

// RmRCRelationship removes a relationship; for active-active it also
// detaches the change volumes and their lcmaps so every vdisk is a plain,
// expandable vdisk again (§6.9 step 1).
func (a *Array) RmRCRelationship(ref string) error {
	return a.update(func(t *tx) error {
		rc := a.rcRef(ref)
		if rc == nil {
			return errNotSuitable()
		}
		a.deleteRC(t, rc)
		return nil
	})
}

func (a *Array) deleteRC(t *tx, rc *RCRel) {
	for _, vid := range []int{rc.MasterID, rc.AuxID, rc.MasterChangeID, rc.AuxChangeID} {
		v := a.st.VDisks[vid]
		if v == nil {
			continue
		}
		for _, lid := range sortedKeys(a.ix.lcByVDisk[vid]) {
			if m := a.st.LCMaps[lid]; m.RCControlled {
				a.deleteLCMap(t, m)
			}
		}
		v.RCID, v.RCChange = -1, false
		a.setVolume(t, v, v.ID, "")
	}
	delete(a.ix.rcByName, rc.Name)
	delete(a.st.RCRels, rc.ID)
	t.touch(kindRCRel, rc.ID)
}

// StartRCRelationship follows §5.3.
func (a *Array) StartRCRelationship(ref, primary string) error {
	return a.update(func(t *tx) error {
		rc := a.rcRef(ref)
		if rc == nil {
			return errNotSuitable()
		}
		if primary != "" && primary != "master" && primary != "aux" {
			return errBadValue("-primary")
		}
		switch rc.State {
		case rcInconsistentStopped:
			rc.State, rc.SyncAt = rcInconsistentCopying, a.now().Add(a.topo.Vendor.SyncDelay)
		case rcConsistentStopped:
			rc.State = rcConsistentSync
		case rcIdling:
			if primary == "" {
				return errNoDirection()
			}
			rc.State, rc.SyncAt = rcInconsistentCopying, a.now().Add(a.topo.Vendor.SyncDelay)
		}
		if primary != "" {
			rc.Primary = primary
		}
		t.touch(kindRCRel, rc.ID)
		return nil
	})
}

// StopRCRelationship follows §5.3; access makes the aux writable (idling).
func (a *Array) StopRCRelationship(ref string, access bool) error {
	return a.update(func(t *tx) error {
		rc := a.rcRef(ref)
		if rc == nil {
			return errNotSuitable()
		}
		switch {
		case access && rc.State == rcConsistentSync:
			rc.State, rc.Primary = rcIdling, ""
		case access && rc.State != rcIdling:
			return errRCState()
		case rc.State == rcInconsistentCopying:
			rc.State, rc.SyncAt = rcInconsistentStopped, time.Time{}
		case rc.State == rcConsistentSync:
			rc.State = rcConsistentStopped
		case rc.State == rcIdling && !access:
			rc.State = rcInconsistentStopped
		}
		t.touch(kindRCRel, rc.ID)
		return nil
	})
}

// SwitchRCRelationship changes the primary; only in consistent_synchronized.
func (a *Array) SwitchRCRelationship(ref, primary string) error {
	return a.update(func(t *tx) error {
		rc := a.rcRef(ref)
		if rc == nil {
			return errNotSuitable()
		}
		if primary != "master" && primary != "aux" {
			return errBadValue("-primary")
		}
		if rc.State != rcConsistentSync {
			return errRCState()
		}
		rc.Primary = primary
		t.touch(kindRCRel, rc.ID)
		return nil
	})
}
