package model

// MkVolumeReq is mkvolume: an active-active volume (§4.4).
type MkVolumeReq struct {
	Name       string
	SizeBytes  int64
	Pools      []string // -pool p0:p1
	IOGrps     []string // -iogrp g0:g1
	Thin       bool
	Compressed bool
	BufferPct  int // -buffersize; default 2
	WarningPct int
	AutoExpand bool // false with -noautoexpand
	GrainSize  int
}

// MkVolume creates master, aux and both change volumes, the active-active
// relationship (id = master id) and four rc-controlled lcmaps; returns
// the master id.
func (a *Array) MkVolume(r MkVolumeReq) (int, error) {
	var id int
	err := a.update(func(t *tx) error {
		if r.Name == "" {
			return errMissingParams()
		}
		if len(r.Pools) != 2 || len(r.IOGrps) != 2 {
			return errBadValue("-pool")
		}
		p0, p1 := a.poolRef(r.Pools[0]), a.poolRef(r.Pools[1])
		g0, g1 := a.iogrpRef(r.IOGrps[0]), a.iogrpRef(r.IOGrps[1])
		if p0 == nil || p1 == nil || g0 == nil || g1 == nil {
			return errNotExist()
		}
		rsize := -1
		if r.Thin || r.Compressed {
			rsize = r.BufferPct
		}
		base := MkVDiskReq{SizeBytes: r.SizeBytes, Thin: r.Thin, RSizePct: rsize, WarningPct: r.WarningPct,
			AutoExpand: r.AutoExpand, GrainSize: r.GrainSize, Compressed: r.Compressed}
		// Check space for all four up front so nothing is half-created.
		size, err := checkSize(r.SizeBytes)
		if err != nil {
			return err
		}
		real := size
		if rsize >= 0 {
			real = roundUp(size*int64(rsize)/100, sectorBytes)
		}
		extra := map[int]int64{p0.ID: 0, p1.ID: real}
		cv := MkVDiskReq{SizeBytes: r.SizeBytes, Thin: true, RSizePct: 0, AutoExpand: true}

		m := base
		m.Name, m.Pools = r.Name, []string{r.Pools[0]}
		mid, err := a.mkVDisk(t, m, &vdiskExtra{iogrp: g0, access: uniq(g0.ID, g1.ID), extraReal: extra})
		if err != nil {
			return err
		}
		x := base
		x.Pools = []string{r.Pools[1]}
		xid, err := a.mkVDisk(t, x, &vdiskExtra{iogrp: g1, access: []int{g1.ID}})
		if err != nil {
			a.deleteVDisk(t, a.st.VDisks[mid])
			return err
		}
		cv.Pools = []string{r.Pools[0]}
		mcv, err := a.mkVDisk(t, cv, &vdiskExtra{iogrp: g0, access: []int{g0.ID}})
		if err != nil {
			a.deleteVDisk(t, a.st.VDisks[mid])
			a.deleteVDisk(t, a.st.VDisks[xid])
			return err
		}
		cv.Pools = []string{r.Pools[1]}
		acv, err := a.mkVDisk(t, cv, &vdiskExtra{iogrp: g1, access: []int{g1.ID}})
		if err != nil {
			for _, d := range []int{mid, xid, mcv} {
				a.deleteVDisk(t, a.st.VDisks[d])
			}
			return err
		}
		master, aux := a.st.VDisks[mid], a.st.VDisks[xid]
		rc := &RCRel{ID: mid, Name: uniqueName("rcrel", mid, func(s string) bool { _, ok := a.ix.rcByName[s]; return ok }),
			MasterID: mid, AuxID: xid, MasterChangeID: mcv, AuxChangeID: acv,
			CopyType: "activeactive", State: rcConsistentSync, Primary: "master"}
		a.st.RCRels[mid] = rc
		a.ix.rcByName[rc.Name] = mid
		t.touch(kindRCRel, mid)
		master.RCID, aux.RCID = mid, mid
		a.setVolume(t, master, mid, "master")
		a.setVolume(t, aux, mid, "aux")
		for _, c := range []struct {
			id, base int
			fn       string
		}{{mcv, mid, "master_change"}, {acv, xid, "aux_change"}} {
			v := a.st.VDisks[c.id]
			v.RCChange = true
			a.setVolume(t, v, mid, c.fn)
			a.newRCLCMap(t, c.base, c.id)
			a.newRCLCMap(t, c.id, c.base)
		}
		id = mid
		return nil
	})
	return id, err
}

func uniq(ids ...int) []int {
	var out []int
	for _, id := range ids {
		if !containsInt(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// RmVolumeReq carries rmvolume's permission flags (§4.4).
type RmVolumeReq struct {
	RemoveHostMappings, RemoveRCRelationships, RemoveLCMaps bool
}

// RmVolume deletes a volume: all four vdisks of an active-active volume
// (with relationship, lcmaps and mappings), or one standalone vdisk.
func (a *Array) RmVolume(ref string, r RmVolumeReq) error {
	return a.update(func(t *tx) error {
		v := a.vdiskRef(ref)
		if v == nil {
			return errNotSuitable()
		}
		if v.VolumeID != v.ID {
			return errNotSuitable() // aux or change volume: address the volume by its master
		}
		members := sortedKeys(a.ix.volMembers[v.ID])
		for _, id := range members {
			m := a.st.VDisks[id]
			if len(a.ix.mapsByVDisk[id]) > 0 && !r.RemoveHostMappings {
				return errVDiskInUse()
			}
			if (m.RCID >= 0 || m.RCChange) && !r.RemoveRCRelationships {
				return errVDiskInUse()
			}
			if a.userLCMaps(id) > 0 && !r.RemoveLCMaps {
				return errVDiskInUse()
			}
		}
		if rc, ok := a.st.RCRels[v.RCID]; ok && v.RCID >= 0 {
			a.deleteRC(t, rc)
		}
		for _, id := range members {
			if m := a.st.VDisks[id]; m != nil {
				if m.RCID >= 0 { // a non-aa relationship on a member
					if rc := a.st.RCRels[m.RCID]; rc != nil {
						a.deleteRC(t, rc)
					}
				}
				a.deleteVDisk(t, m)
			}
		}
		return nil
	})
}
