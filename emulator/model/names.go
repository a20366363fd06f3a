package model

import (
	"fmt"
	"net"
	"strconv"
)

// maxNameLen is the object-name limit (mcs-cli.md §3.5, [R] 63). Host names
// may be one longer: Cinder builds 64-character host names (§3.5, §11.2.1).
const (
	maxNameLen     = 63
	maxHostNameLen = 64
)

// validName applies the naming rules: [A-Za-z_][A-Za-z0-9 ._-]*, no
// trailing space, at most max characters (README "Names").
func validName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	c := s[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == ' ') {
			return false
		}
	}
	return s[len(s)-1] != ' '
}

// checkName returns the array's error for a bad new name.
func checkName(s string, max int) error {
	if len(s) > max {
		return errNameTooLong()
	}
	if !validName(s, max) {
		return errBadName()
	}
	return nil
}

// asID reports whether s is an object id (all digits, §3.5).
func asID(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, _ := strconv.Atoi(s)
	return n, true
}

// uniqueName returns prefix<id>, or prefix<id>_<n> if a user already took it.
func uniqueName(prefix string, id int, taken func(string) bool) string {
	name := fmt.Sprintf("%s%d", prefix, id)
	for n := 1; taken(name); n++ {
		name = fmt.Sprintf("%s%d_%d", prefix, id, n)
	}
	return name
}

func (a *Array) vdiskRef(ref string) *VDisk {
	if id, ok := asID(ref); ok {
		return a.st.VDisks[id]
	}
	if id, ok := a.ix.vdiskByName[ref]; ok {
		return a.st.VDisks[id]
	}
	return nil
}

func (a *Array) hostRef(ref string) *Host {
	if id, ok := asID(ref); ok {
		return a.st.Hosts[id]
	}
	if id, ok := a.ix.hostByName[ref]; ok {
		return a.st.Hosts[id]
	}
	return nil
}

func (a *Array) lcmapRef(ref string) *LCMap {
	if id, ok := asID(ref); ok {
		return a.st.LCMaps[id]
	}
	if id, ok := a.ix.lcByName[ref]; ok {
		return a.st.LCMaps[id]
	}
	return nil
}

func (a *Array) lcgroupRef(ref string) *LCConsistGrp {
	if id, ok := asID(ref); ok {
		return a.st.LCGroups[id]
	}
	if id, ok := a.ix.cgByName[ref]; ok {
		return a.st.LCGroups[id]
	}
	return nil
}

func (a *Array) rcRef(ref string) *RCRel {
	if id, ok := asID(ref); ok {
		return a.st.RCRels[id]
	}
	if id, ok := a.ix.rcByName[ref]; ok {
		return a.st.RCRels[id]
	}
	return nil
}

func (a *Array) poolRef(ref string) *TopoPool {
	id, isID := asID(ref)
	for i := range a.topo.Pools {
		p := &a.topo.Pools[i]
		if (isID && p.ID == id) || (!isID && p.Name == ref) {
			return p
		}
	}
	return nil
}

func (a *Array) poolByID(id int) *TopoPool {
	for i := range a.topo.Pools {
		if a.topo.Pools[i].ID == id {
			return &a.topo.Pools[i]
		}
	}
	return nil
}

func (a *Array) iogrpRef(ref string) *TopoIOGrp {
	id, isID := asID(ref)
	for i := range a.topo.IOGrps {
		g := &a.topo.IOGrps[i]
		if (isID && g.ID == id) || (!isID && g.Name == ref) {
			return g
		}
	}
	return nil
}

func (a *Array) iogrpByID(id int) *TopoIOGrp {
	for i := range a.topo.IOGrps {
		if a.topo.IOGrps[i].ID == id {
			return &a.topo.IOGrps[i]
		}
	}
	return nil
}

func (a *Array) nodeByID(id int) *TopoNode {
	for i := range a.topo.Nodes {
		if a.topo.Nodes[i].ID == id {
			return &a.topo.Nodes[i]
		}
	}
	return nil
}

func (a *Array) nodesOf(iogrp int) []*TopoNode {
	var out []*TopoNode
	for i := range a.topo.Nodes {
		if a.topo.Nodes[i].IOGrpID == iogrp {
			out = append(out, &a.topo.Nodes[i])
		}
	}
	return out
}

// uid is the vdisk_UID: 6005076 + 9 hex of the cluster id + 16 hex serial
// (mcs-cli.md §3.2); stable across renames, never reused.
func (a *Array) uid(v *VDisk) string {
	const digits = "0123456789ABCDEF"
	var b [32]byte
	copy(b[:], "6005076")
	copy(b[7:], upper(a.topo.ClusterID[7:16]))
	for i, s := 31, v.Serial; i >= 16; i, s = i-1, s>>4 {
		b[i] = digits[s&0xf]
	}
	return string(b[:])
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// splitHostPort splits ip:port and [v6]:port.
func splitHostPort(s string) (string, string, error) { return net.SplitHostPort(s) }
