package model

// Partnerships (§4.8) are recorded so Cinder's replication setup can run
// its checks; this emulator does not replicate to another array.

// MkPartnership records a partnership with system name (FC) or clusterIP (IP).
func (a *Array) MkPartnership(name, typ, clusterIP string) error {
	return a.update(func(t *tx) error {
		if name == "" && clusterIP == "" {
			return errMissingParams()
		}
		if name == "" {
			name = clusterIP
		}
		if name == a.topo.ClusterName {
			return errBadValue("partnership")
		}
		for _, p := range a.st.Partnerships {
			if p.Name == name {
				return errExists()
			}
		}
		id := lowestFree(a.st.Partnerships)
		a.st.Partnerships[id] = &Partnership{ID: id, Name: name, Type: typ, ClusterIP: clusterIP}
		t.touch(kindPartnership, id)
		return nil
	})
}

// ChPartnership starts or stops a partnership by name or id.
func (a *Array) ChPartnership(ref string, start bool) error {
	return a.update(func(t *tx) error {
		id, isID := asID(ref)
		for _, p := range a.st.Partnerships {
			if (isID && p.ID == id) || p.Name == ref {
				p.Stopped = !start
				t.touch(kindPartnership, p.ID)
				return nil
			}
		}
		return errNotSuitable()
	})
}
