package model

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// Topology is the hardware the emulated array has: fixed at start, not
// changed by CLI commands. Dynamic objects (vdisks, hosts, maps …) live in
// the state directory; the topology is supplied again at every Open.
type Topology struct {
	ClusterName string      `json:"clusterName"`
	ClusterID   string      `json:"clusterID"` // 16 hex chars (mcs-cli.md §3.1)
	CodeLevel   string      `json:"codeLevel"` // single-digit components (§4.1 lssystem)
	IOGrps      []TopoIOGrp `json:"iogrps"`
	Nodes       []TopoNode  `json:"nodes"`
	Pools       []TopoPool  `json:"pools"`
	Vendor      VendorOpts  `json:"vendor"`
}

// TopoIOGrp is one I/O group; each belongs to one site (active-active).
type TopoIOGrp struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	SiteID   string `json:"siteID"`
	SiteName string `json:"siteName"`
}

// TopoNode is one node canister: its iSCSI portals (ip:port) and FC WWPNs.
type TopoNode struct {
	ID      int      `json:"id"`
	Name    string   `json:"name"`
	IOGrpID int      `json:"iogrpID"`
	WWNN    string   `json:"wwnn"`
	Portals []string `json:"portals"`
	WWPNs   []string `json:"wwpns"`
}

// TopoPool is one storage pool (mdisk group).
type TopoPool struct {
	ID            int    `json:"id"`
	Name          string `json:"name"`
	CapacityBytes int64  `json:"capacityBytes"`
	ExtentSizeMB  int    `json:"extentSizeMB"`
	InTier        string `json:"inTier"` // on | off | auto
	WarningPct    int    `json:"warningPct"`
}

// VendorOpts are behaviour knobs the reference leaves open (§11).
type VendorOpts struct {
	// Compression reports compression licensed/supported (lslicense).
	Compression bool `json:"compression"`
	// CopyRateScale multiplies the SVC background-copy speed table so that
	// clones finish in test time; 1 is the real array's pace.
	CopyRateScale float64 `json:"copyRateScale"`
	// PrepareDelay is how long prestartlcmap stays "preparing".
	PrepareDelay time.Duration `json:"prepareDelay"`
	// SyncDelay is how long a new mirror copy or RC relationship takes to sync.
	SyncDelay time.Duration `json:"syncDelay"`
	// FabricWWPNs are initiator WWPNs zoned to the array even before a host
	// object names them (they show in lsfabric with an empty name).
	FabricWWPNs []string `json:"fabricWWPNs"`
}

// DefaultTopology is one I/O group with two nodes on 127.0.0.1/127.0.0.2
// and two 1 TiB pools (Pool1 for mirror and active-active aux copies).
func DefaultTopology() Topology {
	return Topology{
		ClusterName: "mcs-emu",
		ClusterID:   "0000020064A0E1D5",
		CodeLevel:   "3.4.1.0 (build 140.6.2103151500)",
		IOGrps:      []TopoIOGrp{{ID: 0, Name: "io_grp0", SiteID: "1", SiteName: "site1"}},
		Nodes: []TopoNode{
			{ID: 1, Name: "node1", IOGrpID: 0, WWNN: "500507680C000101", Portals: []string{"127.0.0.1:3260"},
				WWPNs: []string{"500507680C110101", "500507680C120101"}},
			{ID: 2, Name: "node2", IOGrpID: 0, WWNN: "500507680C000102", Portals: []string{"127.0.0.2:3260"},
				WWPNs: []string{"500507680C110102", "500507680C120102"}},
		},
		Pools: []TopoPool{
			{ID: 0, Name: "Pool0", CapacityBytes: 1 << 40, ExtentSizeMB: 1024, InTier: "auto", WarningPct: 80},
			{ID: 1, Name: "Pool1", CapacityBytes: 1 << 40, ExtentSizeMB: 1024, InTier: "auto", WarningPct: 80},
		},
		Vendor: VendorOpts{Compression: true, CopyRateScale: 64, PrepareDelay: time.Second, SyncDelay: 2 * time.Second},
	}
}

// TwoSiteTopology adds io_grp1 on site2 with node3/node4 on 127.0.0.3/.4,
// the layout the active-active demo uses.
func TwoSiteTopology() Topology {
	t := DefaultTopology()
	t.IOGrps = append(t.IOGrps, TopoIOGrp{ID: 1, Name: "io_grp1", SiteID: "2", SiteName: "site2"})
	t.Nodes = append(t.Nodes,
		TopoNode{ID: 3, Name: "node3", IOGrpID: 1, WWNN: "500507680C000103", Portals: []string{"127.0.0.3:3260"},
			WWPNs: []string{"500507680C110103", "500507680C120103"}},
		TopoNode{ID: 4, Name: "node4", IOGrpID: 1, WWNN: "500507680C000104", Portals: []string{"127.0.0.4:3260"},
			WWPNs: []string{"500507680C110104", "500507680C120104"}},
	)
	return t
}

// TargetIQN is the node's iSCSI target name (mcs-cli.md §3.3).
func (t *Topology) TargetIQN(nodeName string) string {
	return "iqn.2004-12.com.inspur:mcs." + strings.ToLower(t.ClusterName) + "." + strings.ToLower(nodeName)
}

// Validate rejects topologies the model cannot represent.
func (t *Topology) Validate() error {
	if !validName(t.ClusterName, maxNameLen) {
		return fmt.Errorf("topology: invalid cluster name %q", t.ClusterName)
	}
	if len(t.ClusterID) != 16 || !isHex(t.ClusterID) {
		return fmt.Errorf("topology: cluster id %q must be 16 hex characters", t.ClusterID)
	}
	if len(t.IOGrps) == 0 || len(t.Nodes) == 0 || len(t.Pools) == 0 {
		return fmt.Errorf("topology: needs at least one I/O group, node and pool")
	}
	grps := map[int]bool{}
	names := map[string]bool{}
	for _, g := range t.IOGrps {
		if grps[g.ID] || names[g.Name] || !validName(g.Name, maxNameLen) {
			return fmt.Errorf("topology: duplicate or invalid I/O group %d %q", g.ID, g.Name)
		}
		grps[g.ID], names[g.Name] = true, true
	}
	nodeIDs := map[int]bool{}
	for _, n := range t.Nodes {
		if nodeIDs[n.ID] || names[n.Name] || !validName(n.Name, maxNameLen) || !grps[n.IOGrpID] {
			return fmt.Errorf("topology: duplicate or invalid node %d %q", n.ID, n.Name)
		}
		nodeIDs[n.ID], names[n.Name] = true, true
		for _, p := range n.Portals {
			if _, _, err := net.SplitHostPort(p); err != nil {
				return fmt.Errorf("topology: node %s portal %q: %v", n.Name, p, err)
			}
		}
		for _, w := range n.WWPNs {
			if len(w) != 16 || !isHex(w) {
				return fmt.Errorf("topology: node %s WWPN %q must be 16 hex characters", n.Name, w)
			}
		}
	}
	poolIDs := map[int]bool{}
	for _, p := range t.Pools {
		if poolIDs[p.ID] || names[p.Name] || !validName(p.Name, maxNameLen) || p.CapacityBytes <= 0 {
			return fmt.Errorf("topology: duplicate or invalid pool %d %q", p.ID, p.Name)
		}
		poolIDs[p.ID], names[p.Name] = true, true
	}
	return nil
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}
