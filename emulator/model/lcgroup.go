package model

// LocalCopy consistency groups (§4.6, §5.2): the group's status is derived
// from its maps; operations apply to all maps at one instant.

// MkLCConsistGrp creates an empty group.
func (a *Array) MkLCConsistGrp(name string, autodelete bool) (int, error) {
	var id int
	err := a.update(func(t *tx) error {
		if name != "" {
			if err := checkName(name, maxNameLen); err != nil {
				return err
			}
			if _, dup := a.ix.cgByName[name]; dup {
				return errExists()
			}
		}
		id = lowestFree(a.st.LCGroups)
		if name == "" {
			name = uniqueName("lcconsistgrp", id, func(s string) bool { _, ok := a.ix.cgByName[s]; return ok })
		}
		a.st.LCGroups[id] = &LCConsistGrp{ID: id, Name: name, AutoDelete: autodelete}
		a.ix.cgByName[name] = id
		t.touch(kindLCGroup, id)
		return nil
	})
	return id, err
}

func (a *Array) groupMaps(id int) []*LCMap {
	var out []*LCMap
	for _, mid := range sortedIDs(a.st.LCMaps) {
		if m := a.st.LCMaps[mid]; m.GroupID == id {
			out = append(out, m)
		}
	}
	return out
}

// groupStatus: empty without maps, else the "least advanced" map status.
func groupStatus(maps []*LCMap) string {
	if len(maps) == 0 {
		return "empty"
	}
	for _, s := range []string{lcPreparing, lcStopping, lcStopped, lcPrepared, lcCopying} {
		for _, m := range maps {
			if m.Status == s {
				return s
			}
		}
	}
	return lcIdle
}

// PrestartLCConsistGrp prepares every map of the group.
func (a *Array) PrestartLCConsistGrp(ref string) error {
	return a.update(func(t *tx) error {
		g := a.lcgroupRef(ref)
		if g == nil {
			return errNotSuitable()
		}
		maps := a.groupMaps(g.ID)
		if len(maps) == 0 {
			return errLCState()
		}
		for _, m := range maps {
			if m.Status != lcIdle && m.Status != lcStopped {
				return errLCState()
			}
		}
		for _, m := range maps {
			if err := a.prestart(t, m); err != nil {
				return err
			}
		}
		return nil
	})
}

// StartLCConsistGrp starts every map of the group at one point in time.
func (a *Array) StartLCConsistGrp(ref string, prep bool) error {
	return a.update(func(t *tx) error {
		g := a.lcgroupRef(ref)
		if g == nil {
			return errNotSuitable()
		}
		maps := a.groupMaps(g.ID)
		if len(maps) == 0 {
			return errLCState()
		}
		if err := a.start(t, maps, prep); err != nil {
			return err
		}
		g.StartTime = a.now()
		t.touch(kindLCGroup, g.ID)
		return nil
	})
}

// StopLCConsistGrp stops every map of the group.
func (a *Array) StopLCConsistGrp(ref string) error {
	return a.update(func(t *tx) error {
		g := a.lcgroupRef(ref)
		if g == nil {
			return errNotSuitable()
		}
		maps := a.groupMaps(g.ID)
		for _, m := range maps { // validate all before changing any
			if m.Status != lcCopying && m.Status != lcPrepared && m.Status != lcStopped {
				return errLCState()
			}
		}
		for _, m := range maps {
			if err := a.stopMap(t, m); err != nil {
				return err
			}
		}
		return nil
	})
}

// RmLCConsistGrp deletes the group; its maps survive as standalone maps.
func (a *Array) RmLCConsistGrp(ref string, force bool) error {
	return a.update(func(t *tx) error {
		g := a.lcgroupRef(ref)
		if g == nil {
			return errNotSuitable()
		}
		maps := a.groupMaps(g.ID)
		switch s := groupStatus(maps); {
		case s == "empty" || s == lcIdle || s == lcPrepared || s == lcCopying:
		case s == lcStopped && force:
		default:
			return errLCState()
		}
		for _, m := range maps {
			m.GroupID = -1
			t.touch(kindLCMap, m.ID)
		}
		delete(a.ix.cgByName, g.Name)
		delete(a.st.LCGroups, g.ID)
		t.touch(kindLCGroup, g.ID)
		return nil
	})
}
