package model

// maxSCSIID bounds LUNs per host ([R] 2048 mappings per host).
const maxSCSIID = 2047

// MkVDiskHostMap maps a vdisk to a host; scsi < 0 picks the lowest free
// SCSI id of that host (mcs-cli.md §3.7). Returns the mapping id.
func (a *Array) MkVDiskHostMap(hostRef, vdiskRef string, scsi int, force bool) (int, error) {
	var id int
	err := a.update(func(t *tx) error {
		v := a.vdiskRef(vdiskRef)
		if v == nil {
			return errNotSuitable()
		}
		h := a.hostRef(hostRef)
		if h == nil {
			return errNotExist()
		}
		used := map[int]bool{}
		for mid := range a.ix.mapsByHost[h.ID] {
			m := a.st.HostMaps[mid]
			if m.VDiskID == v.ID {
				return errAlreadyMappedSameHost()
			}
			used[m.SCSIID] = true
		}
		if !force && len(a.ix.mapsByVDisk[v.ID]) > 0 {
			return errMappedElsewhere()
		}
		if scsi > maxSCSIID {
			return errBadValue("-scsi")
		}
		if scsi >= 0 && used[scsi] {
			return errLUNInUse()
		}
		if scsi < 0 {
			for scsi = 0; used[scsi]; scsi++ {
			}
			if scsi > maxSCSIID {
				return errLUNInUse()
			}
		}
		id = lowestFree(a.st.HostMaps)
		m := &HostMap{ID: id, HostID: h.ID, VDiskID: v.ID, SCSIID: scsi}
		a.st.HostMaps[id] = m
		addSet(a.ix.mapsByHost, h.ID, id)
		addSet(a.ix.mapsByVDisk, v.ID, id)
		t.touch(kindHostMap, id)
		t.emit(Event{Kind: EventMap, Host: h.Name, InitiatorIQNs: append([]string(nil), h.IQNs...),
			VDiskID: v.ID, VDiskName: v.Name, LUN: scsi})
		return nil
	})
	return id, err
}

// RmVDiskHostMap removes the mapping of vdisk to host.
func (a *Array) RmVDiskHostMap(hostRef, vdiskRef string) error {
	return a.update(func(t *tx) error {
		v := a.vdiskRef(vdiskRef)
		h := a.hostRef(hostRef)
		if v == nil || h == nil {
			return errNotSuitable()
		}
		for mid := range a.ix.mapsByHost[h.ID] {
			if m := a.st.HostMaps[mid]; m.VDiskID == v.ID {
				a.deleteHostMap(t, m)
				return nil
			}
		}
		return errNotSuitable()
	})
}

func (a *Array) deleteHostMap(t *tx, m *HostMap) {
	delete(a.st.HostMaps, m.ID)
	delSet(a.ix.mapsByHost, m.HostID, m.ID)
	delSet(a.ix.mapsByVDisk, m.VDiskID, m.ID)
	t.touch(kindHostMap, m.ID)
	h := a.st.Hosts[m.HostID]
	v := a.st.VDisks[m.VDiskID]
	e := Event{Kind: EventUnmap, VDiskID: m.VDiskID, LUN: m.SCSIID}
	if h != nil {
		e.Host, e.InitiatorIQNs = h.Name, append([]string(nil), h.IQNs...)
	}
	if v != nil {
		e.VDiskName = v.Name
	}
	t.emit(e)
}
