package model

import (
	"strings"
)

// MkHostReq is mkhost (§4.3): at least one port.
type MkHostReq struct {
	Name  string
	IQNs  []string
	WWPNs []string
	Site  string // site name or id; "" → none
}

// MkHost creates a host and returns its id.
func (a *Array) MkHost(r MkHostReq) (int, error) {
	var id int
	err := a.update(func(t *tx) error {
		if r.Name != "" {
			if err := checkName(r.Name, maxHostNameLen); err != nil {
				return err
			}
			if _, dup := a.ix.hostByName[r.Name]; dup {
				return errExists()
			}
		}
		if len(r.IQNs)+len(r.WWPNs) == 0 {
			return errMissingParams()
		}
		iqns, wwpns, err := a.checkNewPorts(r.IQNs, r.WWPNs)
		if err != nil {
			return err
		}
		site := ""
		if r.Site != "" {
			if site = a.siteRef(r.Site); site == "" {
				return errNotExist()
			}
		}
		id = lowestFree(a.st.Hosts)
		name := r.Name
		if name == "" {
			name = uniqueName("host", id, func(s string) bool { _, ok := a.ix.hostByName[s]; return ok })
		}
		h := &Host{ID: id, Name: name, IQNs: iqns, WWPNs: wwpns, SiteID: site}
		a.st.Hosts[id] = h
		a.indexHost(h)
		t.touch(kindHost, id)
		t.emit(Event{Kind: EventHostChange, Host: h.Name, InitiatorIQNs: append([]string(nil), h.IQNs...)})
		return nil
	})
	return id, err
}

// checkNewPorts validates ports and rejects ones any host already has.
func (a *Array) checkNewPorts(iqns, wwpns []string) ([]string, []string, error) {
	seen := map[string]bool{}
	var outI, outW []string
	for _, q := range iqns {
		k := strings.ToLower(q)
		if !validIQN(q) || seen[k] {
			return nil, nil, errPortTaken()
		}
		if _, taken := a.ix.hostByPort[k]; taken {
			return nil, nil, errPortTaken()
		}
		seen[k] = true
		outI = append(outI, q)
	}
	for _, w := range wwpns {
		k := strings.ToUpper(w)
		if len(k) != 16 || !isHex(k) || seen[k] {
			return nil, nil, errPortTaken()
		}
		if _, taken := a.ix.hostByPort[k]; taken {
			return nil, nil, errPortTaken()
		}
		seen[k] = true
		outW = append(outW, k)
	}
	return outI, outW, nil
}

// validIQN accepts iqn./eui./naa. names of printable characters (RFC 3720 §3.2.6).
func validIQN(s string) bool {
	if len(s) < 5 || len(s) > 223 {
		return false
	}
	l := strings.ToLower(s)
	if !strings.HasPrefix(l, "iqn.") && !strings.HasPrefix(l, "eui.") && !strings.HasPrefix(l, "naa.") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' || c == '!' || c == '"' || c == '\'' {
			return false
		}
	}
	return true
}

// siteRef resolves a site name or id to its id ("" when unknown).
func (a *Array) siteRef(ref string) string {
	for _, g := range a.topo.IOGrps {
		if g.SiteID != "" && (g.SiteID == ref || g.SiteName == ref) {
			return g.SiteID
		}
	}
	return ""
}

func (a *Array) siteName(id string) string {
	for _, g := range a.topo.IOGrps {
		if g.SiteID == id {
			return g.SiteName
		}
	}
	return ""
}

// AddHostPort adds IQNs/WWPNs to an existing host.
func (a *Array) AddHostPort(ref string, iqns, wwpns []string) error {
	return a.update(func(t *tx) error {
		h := a.hostRef(ref)
		if h == nil {
			return errNotSuitable()
		}
		if len(iqns)+len(wwpns) == 0 {
			return errMissingParams()
		}
		ni, nw, err := a.checkNewPorts(iqns, wwpns)
		if err != nil {
			return err
		}
		a.unindexHost(h)
		h.IQNs = append(h.IQNs, ni...)
		h.WWPNs = append(h.WWPNs, nw...)
		a.indexHost(h)
		t.touch(kindHost, h.ID)
		t.emit(Event{Kind: EventHostChange, Host: h.Name, InitiatorIQNs: append([]string(nil), h.IQNs...)})
		return nil
	})
}

// ChHostReq is chhost: set or clear the CHAP secret, rename, or set the site.
type ChHostReq struct {
	CHAPSecret   *string
	NoCHAPSecret bool
	Name         *string
	Site         *string
}

// ChHost changes a host.
func (a *Array) ChHost(ref string, r ChHostReq) error {
	return a.update(func(t *tx) error {
		h := a.hostRef(ref)
		if h == nil {
			return errNotSuitable()
		}
		if r.CHAPSecret == nil && !r.NoCHAPSecret && r.Name == nil && r.Site == nil {
			return errMissingParams()
		}
		if r.CHAPSecret != nil {
			s := *r.CHAPSecret
			if s == "" || len(s) > 79 || strings.ContainsAny(s, " \t\r\n") {
				return errBadValue("-chapsecret")
			}
		}
		site := h.SiteID
		if r.Site != nil {
			if site = a.siteRef(*r.Site); site == "" {
				return errNotExist()
			}
		}
		if r.Name != nil && *r.Name != h.Name {
			if err := checkName(*r.Name, maxHostNameLen); err != nil {
				return err
			}
			if _, dup := a.ix.hostByName[*r.Name]; dup {
				return errExists()
			}
		}
		a.unindexHost(h)
		if r.Name != nil {
			h.Name = *r.Name
		}
		if r.CHAPSecret != nil {
			h.CHAPSecret = *r.CHAPSecret
		}
		if r.NoCHAPSecret {
			h.CHAPSecret = ""
		}
		h.SiteID = site
		a.indexHost(h)
		t.touch(kindHost, h.ID)
		t.emit(Event{Kind: EventHostChange, Host: h.Name, InitiatorIQNs: append([]string(nil), h.IQNs...)})
		return nil
	})
}

// RmHost deletes a host without mappings (§4.3).
func (a *Array) RmHost(ref string) error {
	return a.update(func(t *tx) error {
		h := a.hostRef(ref)
		if h == nil {
			return errNotSuitable()
		}
		if len(a.ix.mapsByHost[h.ID]) > 0 {
			return errHostInMapping()
		}
		a.unindexHost(h)
		delete(a.st.Hosts, h.ID)
		t.touch(kindHost, h.ID)
		t.emit(Event{Kind: EventHostChange, Host: h.Name, InitiatorIQNs: append([]string(nil), h.IQNs...)})
		return nil
	})
}
