package model

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// Views are copies taken under the lock; the CLI turns them into columns.

// SystemView is lssystem.
type SystemView struct {
	ID, Name, CodeLevel string
	TotalCapacity       int64
	TotalFree           int64
	Compression         bool
}

// System returns the system view.
func (a *Array) System() SystemView {
	var s SystemView
	_ = a.view(func() {
		s = SystemView{ID: a.topo.ClusterID, Name: a.topo.ClusterName, CodeLevel: a.topo.CodeLevel,
			Compression: a.topo.Vendor.Compression}
		for i := range a.topo.Pools {
			s.TotalCapacity += a.topo.Pools[i].CapacityBytes
			s.TotalFree += a.poolFreeBytes(&a.topo.Pools[i])
		}
	})
	return s
}

// IOGrpView is one lsiogrp row.
type IOGrpView struct {
	ID                               int
	Name                             string
	NodeCount, VDiskCount, HostCount int
	SiteID, SiteName                 string
}

// IOGrps lists I/O groups in id order.
func (a *Array) IOGrps() []IOGrpView {
	var out []IOGrpView
	_ = a.view(func() {
		hosts := len(a.st.Hosts)
		for _, g := range a.topo.IOGrps {
			out = append(out, IOGrpView{ID: g.ID, Name: g.Name, NodeCount: len(a.nodesOf(g.ID)),
				VDiskCount: a.ix.iogrpVDisks[g.ID], HostCount: hosts, SiteID: g.SiteID, SiteName: g.SiteName})
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// NodeView is one lsnode row.
type NodeView struct {
	NodeInfo
	WWNN       string
	ConfigNode bool
	SiteID     string
}

// NodeViews lists nodes in id order.
func (a *Array) NodeViews() []NodeView {
	nodes := a.Nodes()
	out := make([]NodeView, 0, len(nodes))
	for i, n := range nodes {
		tn := a.nodeByIDUnlocked(n.ID)
		g := a.iogrpByID(n.IOGrpID)
		out = append(out, NodeView{NodeInfo: n, WWNN: tn.WWNN, ConfigNode: i == 0, SiteID: g.SiteID})
	}
	return out
}

// nodeByIDUnlocked reads the immutable topology; no lock needed.
func (a *Array) nodeByIDUnlocked(id int) *TopoNode { return a.nodeByID(id) }

// PortIPView is one lsportip row.
type PortIPView struct {
	ID                int
	NodeID            int
	NodeName          string
	IP, Mask, Gateway string
	IP6               string
	State, LinkState  string
	Failover          bool
	MAC               string
}

// PortIPs lists each node's iSCSI ports, each twice (failover no/yes, §4.1).
// IPv6 portals ([addr]:port) fill IP_address_6.
func (a *Array) PortIPs() []PortIPView {
	a.mu.Lock()
	alias := a.portIPAlias
	a.mu.Unlock()
	var out []PortIPView
	for _, n := range a.Nodes() {
		for i, p := range n.Portals {
			host := p
			if h, _, err := splitHostPort(p); err == nil {
				host = h
			}
			if r, ok := alias[host]; ok {
				host = r
			}
			v := PortIPView{ID: i + 1, NodeID: n.ID, NodeName: n.Name, State: "configured", LinkState: "active",
				MAC: macFor(n.ID, i+1)}
			if strings.Contains(host, ":") {
				v.IP6 = host
			} else {
				v.IP, v.Mask, v.Gateway = host, "255.0.0.0", ""
			}
			if !n.Online {
				v.State, v.LinkState = "offline", "inactive"
			}
			out = append(out, v, PortIPView{ID: i + 1, NodeID: n.ID, NodeName: n.Name, State: "unconfigured",
				Failover: true, MAC: v.MAC})
		}
	}
	return out
}

func macFor(node, port int) string {
	return "02:00:00:00:" + hex2(node) + ":" + hex2(port)
}

func hex2(n int) string {
	s := strings.ToLower(strconv.FormatInt(int64(n&0xff), 16))
	if len(s) == 1 {
		s = "0" + s
	}
	return s
}

// PortFCView is one lsportfc row.
type PortFCView struct {
	ID, FCIOPortID, PortID int
	NodeID                 int
	NodeName, WWPN, Status string
	NPortID                string
}

// PortFCs lists FC ports of all nodes; offline nodes' ports are inactive.
func (a *Array) PortFCs() []PortFCView {
	var out []PortFCView
	id := 0
	for _, n := range a.Nodes() {
		for i, w := range n.WWPNs {
			st := "active"
			if !n.Online {
				st = "inactive_configured"
			}
			out = append(out, PortFCView{ID: id, FCIOPortID: i + 1, PortID: i + 1, NodeID: n.ID, NodeName: n.Name,
				WWPN: strings.ToUpper(w), Status: st, NPortID: "0" + hex2(n.ID) + hex2(i+1) + "00"})
			id++
		}
	}
	return out
}

// FabricView is one lsfabric row: a logged-in remote port seen by one
// array port.
type FabricView struct {
	RemoteWWPN, RemoteNPortID string
	ID                        int
	NodeName, LocalWWPN       string
	LocalPort                 int
	LocalNPortID, State, Host string
}

// Fabric lists logins: every WWPN configured on a host or listed in
// VendorOpts.FabricWWPNs is logged in to every active FC port (README).
// wwpn filters on remote or local WWPN; hostRef on the host's ports.
func (a *Array) Fabric(wwpn, hostRef string) ([]FabricView, error) {
	ports := a.PortFCs()
	var out []FabricView
	var err error
	_ = a.view(func() {
		remote := map[string]string{} // WWPN → host name
		for _, w := range a.topo.Vendor.FabricWWPNs {
			remote[strings.ToUpper(w)] = ""
		}
		for _, h := range a.st.Hosts {
			for _, w := range h.WWPNs {
				remote[w] = h.Name
			}
		}
		var only map[string]bool
		if hostRef != "" {
			h := a.hostRef(hostRef)
			if h == nil {
				err = errNotExist()
				return
			}
			only = map[string]bool{}
			for _, w := range h.WWPNs {
				only[w] = true
			}
		}
		keys := make([]string, 0, len(remote))
		for k := range remote {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, rw := range keys {
			if only != nil && !only[rw] {
				continue
			}
			for _, p := range ports {
				if p.Status != "active" {
					continue
				}
				if wwpn != "" && !strings.EqualFold(wwpn, rw) && !strings.EqualFold(wwpn, p.WWPN) {
					continue
				}
				out = append(out, FabricView{RemoteWWPN: rw, RemoteNPortID: "0A" + rw[12:], ID: p.NodeID,
					NodeName: p.NodeName, LocalWWPN: p.WWPN, LocalPort: p.PortID, LocalNPortID: p.NPortID,
					State: "active", Host: remote[rw]})
			}
		}
	})
	return out, err
}

// PoolView is one lsmdiskgrp row / detail.
type PoolView struct {
	ID                                       int
	Name, Status                             string
	MDiskCount, VDiskCount                   int
	Capacity, Free, Virtual, Used, Real      int64
	ExtentSizeMB, Overallocation, WarningPct int
	InTier                                   string
}

// Pools lists pools in id order.
func (a *Array) Pools() []PoolView {
	var out []PoolView
	_ = a.view(func() {
		for i := range a.topo.Pools {
			p := &a.topo.Pools[i]
			real := a.ix.poolReal[p.ID]
			virt := a.ix.poolVirtual[p.ID]
			out = append(out, PoolView{ID: p.ID, Name: p.Name, Status: "online", MDiskCount: 1,
				VDiskCount: a.ix.poolVDisks[p.ID], Capacity: p.CapacityBytes, Free: a.poolFreeBytes(p),
				Virtual: virt, Used: real, Real: real, ExtentSizeMB: p.ExtentSizeMB,
				Overallocation: int(virt * 100 / p.CapacityBytes), WarningPct: p.WarningPct, InTier: p.InTier})
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// VDiskView is one vdisk with its copies.
type VDiskView struct {
	ID                               int
	Name                             string
	IOGrpID                          int
	IOGrpName                        string
	Status                           string
	PoolID, PoolName                 string // "many" for two copies (§11.2.8)
	Capacity                         int64
	LCID, LCName                     string
	RCID, RCName                     string
	UID                              string
	LCMapCount, CopyCount            int
	SECopyCount, CompressedCopyCount int
	RCChange                         bool
	Formatted                        bool
	VolumeID                         int
	VolumeName, Function             string
	PreferredNodeID                  int
	AccessIOGrps                     []int
	Rate                             int
	Copies                           []CopyView
}

// CopyView is one vdisk copy.
type CopyView struct {
	VDiskID               int
	VDiskName             string
	Capacity              int64
	CopyID                int
	Status                string
	Sync, Primary         bool
	PoolID                int
	PoolName              string
	Used, Real, Free      int64
	Thin, Compressed      bool
	AutoExpand            bool
	WarningPct, GrainSize int
	InTier                string
	SyncProgress          int
}

// VDiskSelector narrows lsvdisk through an index before the CLI applies
// its exact column filter; Attr "" means all vdisks.
type VDiskSelector struct{ Attr, Value string }

// VDisks lists vdisks in id order, using indexes for name, id, vdisk_UID
// and volume_name filters (so a 10 000-vdisk array answers them fast).
func (a *Array) VDisks(sel VDiskSelector) []VDiskView {
	var out []VDiskView
	_ = a.view(func() {
		var ids []int
		switch sel.Attr {
		case "name":
			if id, ok := a.ix.vdiskByName[sel.Value]; ok {
				ids = []int{id}
			}
		case "id":
			if id, ok := asID(sel.Value); ok && a.st.VDisks[id] != nil {
				ids = []int{id}
			}
		case "vdisk_UID":
			if id, ok := a.ix.vdiskByUID[strings.ToUpper(sel.Value)]; ok {
				ids = []int{id}
			}
		case "volume_name":
			if id, ok := a.ix.vdiskByName[sel.Value]; ok {
				if v := a.st.VDisks[id]; v.VolumeID == v.ID {
					ids = sortedKeys(a.ix.volMembers[id])
				}
			}
		default:
			ids = sortedIDs(a.st.VDisks)
		}
		out = make([]VDiskView, 0, len(ids))
		for _, id := range ids {
			out = append(out, a.vdiskView(a.st.VDisks[id], false))
		}
	})
	return out
}

// VDisk is the detail of one vdisk by name or id.
func (a *Array) VDisk(ref string) (VDiskView, error) {
	var v VDiskView
	var err error = errNotExist()
	_ = a.view(func() {
		if d := a.vdiskRef(ref); d != nil {
			v, err = a.vdiskView(d, true), nil
		}
	})
	if err != nil {
		return v, err
	}
	return v, nil
}

func (a *Array) vdiskView(v *VDisk, detail bool) VDiskView {
	g := a.iogrpByID(v.IOGrpID)
	vv := VDiskView{ID: v.ID, Name: v.Name, IOGrpID: v.IOGrpID, IOGrpName: g.Name, Status: "online",
		Capacity: v.Capacity, UID: a.uid(v), CopyCount: len(v.Copies), RCChange: v.RCChange,
		VolumeID: v.VolumeID, Function: v.Function, PreferredNodeID: v.PreferredNodeID,
		AccessIOGrps: append([]int(nil), v.AccessIOGrps...), Rate: v.Rate, Formatted: true}
	if vol := a.st.VDisks[v.VolumeID]; vol != nil {
		vv.VolumeName = vol.Name
	}
	if a.nodeOffline[a.nodeNameUnlocked(v.PreferredNodeID)] {
		vv.Status = "degraded"
	}
	lcs := a.ix.lcByVDisk[v.ID]
	vv.LCMapCount = len(lcs)
	if len(lcs) == 1 {
		for lid := range lcs {
			vv.LCID, vv.LCName = strconv.Itoa(lid), a.st.LCMaps[lid].Name
		}
	} else if len(lcs) > 1 {
		vv.LCID, vv.LCName = "many", "many"
	}
	// Change volumes are not members of the relationship (RC_change=yes marks them).
	if rc := a.st.RCRels[v.RCID]; rc != nil && v.RCID >= 0 {
		vv.RCID, vv.RCName = strconv.Itoa(rc.ID), rc.Name
	}
	for _, c := range v.Copies {
		p := a.poolByID(c.PoolID)
		if c.Thin || c.Compressed {
			vv.Formatted = false
			vv.SECopyCount++
		}
		if c.Compressed {
			vv.CompressedCopyCount++
		}
		cv := CopyView{VDiskID: v.ID, VDiskName: v.Name, Capacity: v.Capacity, CopyID: c.ID, Status: "online",
			Sync: c.SyncAt.IsZero(), Primary: c.Primary, PoolID: p.ID, PoolName: p.Name, Real: c.Real,
			Thin: c.Thin, Compressed: c.Compressed, AutoExpand: c.AutoExpand, WarningPct: c.WarningPct,
			GrainSize: c.GrainSize, InTier: c.InTier, SyncProgress: 100}
		cv.Used = c.Real
		if (c.Thin || c.Compressed) && detail {
			used := allocatedBytes(a.dataPath(v))
			if used > v.Capacity {
				used = v.Capacity
			}
			cv.Used = used
			if cv.Real < used {
				cv.Real = used
			}
		}
		cv.Free = cv.Real - cv.Used
		if !cv.Sync {
			cv.SyncProgress = a.syncProgress(c)
		}
		vv.Copies = append(vv.Copies, cv)
	}
	if len(v.Copies) == 1 {
		vv.PoolID, vv.PoolName = strconv.Itoa(vv.Copies[0].PoolID), vv.Copies[0].PoolName
	} else {
		vv.PoolID, vv.PoolName = "many", "many"
	}
	return vv
}

func (a *Array) syncProgress(c *VDiskCopy) int {
	d := a.topo.Vendor.SyncDelay
	if d <= 0 {
		return 100
	}
	left := c.SyncAt.Sub(a.now())
	p := int(100 - left*100/d)
	return max(0, min(99, p))
}

func (a *Array) nodeNameUnlocked(id int) string {
	if n := a.nodeByID(id); n != nil {
		return n.Name
	}
	return ""
}

// HostMapView is one mapping row for one I/O group of the vdisk's access set.
type HostMapView struct {
	ID                  int // mapping id
	VDiskID             int
	VDiskName, VDiskUID string
	SCSIID              int
	HostID              int
	HostName            string
	IOGrpID             int
	IOGrpName           string
}

// VDiskHostMaps lists a vdisk's mappings, one row per I/O group of its
// access set (§3.7).
func (a *Array) VDiskHostMaps(vdiskRef string) ([]HostMapView, error) {
	var out []HostMapView
	var err error = errNotSuitable()
	_ = a.view(func() {
		v := a.vdiskRef(vdiskRef)
		if v == nil {
			return
		}
		err = nil
		mids := sortedKeys(a.ix.mapsByVDisk[v.ID])
		sort.Slice(mids, func(i, j int) bool {
			return a.st.HostMaps[mids[i]].HostID < a.st.HostMaps[mids[j]].HostID
		})
		for _, mid := range mids {
			out = append(out, a.hostMapRows(a.st.HostMaps[mid])...)
		}
	})
	return out, err
}

// HostVDiskMaps lists a host's mappings in SCSI id order.
func (a *Array) HostVDiskMaps(hostRef string) ([]HostMapView, error) {
	var out []HostMapView
	var err error = errNotExist()
	_ = a.view(func() {
		h := a.hostRef(hostRef)
		if h == nil {
			return
		}
		err = nil
		mids := sortedKeys(a.ix.mapsByHost[h.ID])
		sort.Slice(mids, func(i, j int) bool {
			return a.st.HostMaps[mids[i]].SCSIID < a.st.HostMaps[mids[j]].SCSIID
		})
		for _, mid := range mids {
			rows := a.hostMapRows(a.st.HostMaps[mid])
			if len(rows) > 0 {
				out = append(out, rows[0])
			}
		}
	})
	return out, err
}

func (a *Array) hostMapRows(m *HostMap) []HostMapView {
	v, h := a.st.VDisks[m.VDiskID], a.st.Hosts[m.HostID]
	var out []HostMapView
	grps := append([]int(nil), v.AccessIOGrps...)
	sort.Ints(grps)
	for _, gid := range grps {
		g := a.iogrpByID(gid)
		out = append(out, HostMapView{ID: m.ID, VDiskID: v.ID, VDiskName: v.Name, VDiskUID: a.uid(v),
			SCSIID: m.SCSIID, HostID: h.ID, HostName: h.Name, IOGrpID: gid, IOGrpName: g.Name})
	}
	return out
}

// HostView is one host.
type HostView struct {
	ID                       int
	Name                     string
	PortCount, IOGrpCount    int
	Status, SiteID, SiteName string
	IQNs, WWPNs              []string
	CHAPSecret               string
	LoggedIn                 map[string]int // port → node_logged_in_count
}

// Hosts lists hosts in id order.
func (a *Array) Hosts() []HostView {
	var out []HostView
	_ = a.view(func() {
		for _, id := range sortedIDs(a.st.Hosts) {
			out = append(out, a.hostView(a.st.Hosts[id]))
		}
	})
	return out
}

// Host is the detail of one host.
func (a *Array) Host(ref string) (HostView, error) {
	var hv HostView
	var err error = errNotExist()
	_ = a.view(func() {
		if h := a.hostRef(ref); h != nil {
			hv, err = a.hostView(h), nil
		}
	})
	return hv, err
}

func (a *Array) hostView(h *Host) HostView {
	online := 0
	for _, n := range a.topo.Nodes {
		if !a.nodeOffline[n.Name] {
			online++
		}
	}
	hv := HostView{ID: h.ID, Name: h.Name, PortCount: len(h.IQNs) + len(h.WWPNs), IOGrpCount: len(a.topo.IOGrps),
		Status: "online", SiteID: h.SiteID, SiteName: a.siteName(h.SiteID),
		IQNs: append([]string(nil), h.IQNs...), WWPNs: append([]string(nil), h.WWPNs...),
		CHAPSecret: h.CHAPSecret, LoggedIn: map[string]int{}}
	for _, p := range h.WWPNs {
		hv.LoggedIn[p] = online
	}
	return hv
}

// LCMapView is one lslcmap row.
type LCMapView struct {
	ID                  int
	Name                string
	SourceID            int
	SourceName          string
	TargetID            int
	TargetName          string
	GroupID             int // -1: none
	GroupName           string
	Status              string
	Progress            int
	CopyRate, CleanRate int
	AutoDelete          bool
	StartTime           time.Time
	RCControlled        bool
}

// LCMaps lists maps in id order.
func (a *Array) LCMaps() []LCMapView {
	var out []LCMapView
	_ = a.view(func() {
		now := a.now()
		for _, id := range sortedIDs(a.st.LCMaps) {
			out = append(out, a.lcMapView(a.st.LCMaps[id], now))
		}
	})
	return out
}

// LCMap is one map by name or id.
func (a *Array) LCMap(ref string) (LCMapView, error) {
	var lv LCMapView
	var err error = errNotExist()
	_ = a.view(func() {
		if m := a.lcmapRef(ref); m != nil {
			lv, err = a.lcMapView(m, a.now()), nil
		}
	})
	return lv, err
}

func (a *Array) lcMapView(m *LCMap, now time.Time) LCMapView {
	src, tgt := a.st.VDisks[m.SourceID], a.st.VDisks[m.TargetID]
	lv := LCMapView{ID: m.ID, Name: m.Name, SourceID: m.SourceID, SourceName: src.Name, TargetID: m.TargetID,
		TargetName: tgt.Name, GroupID: m.GroupID, Status: m.Status, Progress: a.progress(m, now),
		CopyRate: m.CopyRate, CleanRate: m.CleanRate, AutoDelete: m.AutoDelete, StartTime: m.StartTime,
		RCControlled: m.RCControlled}
	if g := a.st.LCGroups[m.GroupID]; g != nil && m.GroupID >= 0 {
		lv.GroupName = g.Name
	}
	return lv
}

// VDiskLCMaps lists the maps a vdisk is source or target of.
func (a *Array) VDiskLCMaps(ref string) ([]LCMapView, error) {
	var out []LCMapView
	var err error = errNotExist()
	_ = a.view(func() {
		v := a.vdiskRef(ref)
		if v == nil {
			return
		}
		err = nil
		now := a.now()
		for _, lid := range sortedKeys(a.ix.lcByVDisk[v.ID]) {
			out = append(out, a.lcMapView(a.st.LCMaps[lid], now))
		}
	})
	return out, err
}

// LCGroupView is one consistency group.
type LCGroupView struct {
	ID         int
	Name       string
	Status     string
	AutoDelete bool
	StartTime  time.Time
	Maps       []LCMapView
}

// LCGroups lists consistency groups in id order.
func (a *Array) LCGroups() []LCGroupView {
	var out []LCGroupView
	_ = a.view(func() {
		for _, id := range sortedIDs(a.st.LCGroups) {
			out = append(out, a.lcGroupView(a.st.LCGroups[id]))
		}
	})
	return out
}

// LCGroup is one consistency group by name or id.
func (a *Array) LCGroup(ref string) (LCGroupView, error) {
	var gv LCGroupView
	var err error = errNotExist()
	_ = a.view(func() {
		if g := a.lcgroupRef(ref); g != nil {
			gv, err = a.lcGroupView(g), nil
		}
	})
	return gv, err
}

func (a *Array) lcGroupView(g *LCConsistGrp) LCGroupView {
	maps := a.groupMaps(g.ID)
	gv := LCGroupView{ID: g.ID, Name: g.Name, Status: groupStatus(maps), AutoDelete: g.AutoDelete, StartTime: g.StartTime}
	now := a.now()
	for _, m := range maps {
		gv.Maps = append(gv.Maps, a.lcMapView(m, now))
	}
	return gv
}

// RCView is one lsrcrelationship row.
type RCView struct {
	ID               int
	Name             string
	MasterID         int
	MasterName       string
	AuxID            int
	AuxName          string
	Primary, State   string
	Progress         string
	CopyType         string
	MasterChangeID   string
	MasterChangeName string
	AuxChangeID      string
	AuxChangeName    string
}

// RCRelationships lists relationships in id order.
func (a *Array) RCRelationships() []RCView {
	var out []RCView
	_ = a.view(func() {
		for _, id := range sortedIDs(a.st.RCRels) {
			rc := a.st.RCRels[id]
			rv := RCView{ID: rc.ID, Name: rc.Name, MasterID: rc.MasterID, MasterName: a.st.VDisks[rc.MasterID].Name,
				AuxID: rc.AuxID, AuxName: a.st.VDisks[rc.AuxID].Name, Primary: rc.Primary, State: rc.State,
				CopyType: rc.CopyType}
			if rc.State == rcInconsistentCopying {
				rv.Progress = "50"
			}
			if v := a.st.VDisks[rc.MasterChangeID]; v != nil && rc.MasterChangeID >= 0 {
				rv.MasterChangeID, rv.MasterChangeName = strconv.Itoa(v.ID), v.Name
			}
			if v := a.st.VDisks[rc.AuxChangeID]; v != nil && rc.AuxChangeID >= 0 {
				rv.AuxChangeID, rv.AuxChangeName = strconv.Itoa(v.ID), v.Name
			}
			out = append(out, rv)
		}
	})
	return out
}

// PartnershipView is one lspartnership row.
type PartnershipView struct {
	ID, Name, Location, Partnership, Type, ClusterIP string
}

// Partnerships lists the local system first, then partners.
func (a *Array) Partnerships() []PartnershipView {
	var out []PartnershipView
	_ = a.view(func() {
		out = append(out, PartnershipView{ID: a.topo.ClusterID, Name: a.topo.ClusterName, Location: "local"})
		for _, id := range sortedIDs(a.st.Partnerships) {
			p := a.st.Partnerships[id]
			state := "fully_configured"
			if p.Stopped {
				state = "fully_configured_stopped"
			}
			out = append(out, PartnershipView{ID: strconv.Itoa(p.ID), Name: p.Name, Location: "remote",
				Partnership: state, Type: p.Type, ClusterIP: p.ClusterIP})
		}
	})
	return out
}

// SetPortIPAliases makes lsportip report the IP in m instead of a node's
// listened portal IP: the target is reached through a NAT or port forward
// (a VM's slirp, a Service), and the address initiators must use — the one a
// real array's lsportip shows — is the advertised one, not the listener.
func (a *Array) SetPortIPAliases(m map[string]string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.portIPAlias = make(map[string]string, len(m))
	for k, v := range m {
		a.portIPAlias[k] = v
	}
}
