package model

import (
	"sort"
	"strings"
)

// Read-only views for the iSCSI target (emulator/iscsi).

// NodeInfo is one node as the data path sees it.
type NodeInfo struct {
	ID        int
	Name      string
	IOGrpID   int
	IOGrpName string
	SiteName  string
	TargetIQN string
	Portals   []string // ip:port
	WWPNs     []string
	Online    bool
}

// LUNInfo is one LUN an initiator sees through one node.
type LUNInfo struct {
	LUN           int
	VDiskID       int
	VDiskName     string
	UID           string // vdisk_UID; VPD 0x83 NAA must equal it (§3.2)
	CapacityBytes int64
	DataPath      string // sparse file holding the vdisk's bytes
	Thin          bool
	PreferredNode string // ALUA: active/optimized through this node
	Preferred     bool   // this node is the preferred node
	IOGrpID       int    // the node's I/O group the LUN is served through
	HostName      string
	CHAPSecret    string // "" → no CHAP required
}

// Quiescer lets the data path pause I/O to files LocalCopy is about to
// read, so a snapshot is point-in-time (README "LocalCopy data").
type Quiescer interface {
	// Quiesce blocks new writes to the paths and waits for in-flight ones;
	// the returned function resumes them. It is called with the array
	// locked, so it must not call back into the Array.
	Quiesce(paths []string) (resume func())
}

// SetQuiescer registers the data path's quiescer (nil removes it).
func (a *Array) SetQuiescer(q Quiescer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.quiesce = q
}

// Nodes lists the nodes in id order.
func (a *Array) Nodes() []NodeInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]NodeInfo, 0, len(a.topo.Nodes))
	for _, n := range a.topo.Nodes {
		g := a.iogrpByID(n.IOGrpID)
		out = append(out, NodeInfo{
			ID: n.ID, Name: n.Name, IOGrpID: n.IOGrpID, IOGrpName: g.Name, SiteName: g.SiteName,
			TargetIQN: a.topo.TargetIQN(n.Name), Portals: append([]string(nil), n.Portals...),
			WWPNs: append([]string(nil), n.WWPNs...), Online: !a.nodeOffline[n.Name],
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// LUNsFor lists what initiatorIQN sees through nodeName: the host owning
// the IQN, its mappings whose vdisk is accessible through the node's I/O
// group, in LUN order. Nothing when the node is offline or no host has it.
func (a *Array) LUNsFor(initiatorIQN, nodeName string) []LUNInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	var node *TopoNode
	for i := range a.topo.Nodes {
		if a.topo.Nodes[i].Name == nodeName {
			node = &a.topo.Nodes[i]
		}
	}
	if node == nil || a.nodeOffline[nodeName] {
		return nil
	}
	hid, ok := a.ix.hostByPort[strings.ToLower(initiatorIQN)]
	if !ok {
		return nil
	}
	h := a.st.Hosts[hid]
	var out []LUNInfo
	for mid := range a.ix.mapsByHost[hid] {
		m := a.st.HostMaps[mid]
		v := a.st.VDisks[m.VDiskID]
		if v == nil || !containsInt(v.AccessIOGrps, node.IOGrpID) {
			continue
		}
		pref := a.nodeByID(v.PreferredNodeID)
		prefName := ""
		if pref != nil {
			prefName = pref.Name
		}
		out = append(out, LUNInfo{
			LUN: m.SCSIID, VDiskID: v.ID, VDiskName: v.Name, UID: a.uid(v), CapacityBytes: v.Capacity,
			DataPath: a.dataPath(v), Thin: v.Copies[0].Thin || v.Copies[0].Compressed,
			PreferredNode: prefName, Preferred: prefName == nodeName, IOGrpID: node.IOGrpID,
			HostName: h.Name, CHAPSecret: h.CHAPSecret,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LUN < out[j].LUN })
	return out
}

// HostCHAPSecret returns the CHAP secret of the host owning initiatorIQN.
func (a *Array) HostCHAPSecret(initiatorIQN string) (secret string, hasHost bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	hid, ok := a.ix.hostByPort[strings.ToLower(initiatorIQN)]
	if !ok {
		return "", false
	}
	return a.st.Hosts[hid].CHAPSecret, true
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
