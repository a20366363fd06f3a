package main

import (
	"net"

	"github.com/instorage-csi/instorage-csi/emulator/iscsi"
	"github.com/instorage-csi/instorage-csi/emulator/model"
	"github.com/instorage-csi/instorage-csi/emulator/scsi"
)

// modelBackend serves the model's masking view to the iSCSI target; it only
// translates types (node names ↔ ids, ip:port → ip).
type modelBackend struct{ a *model.Array }

var _ iscsi.Backend = modelBackend{}

// Nodes lists the online nodes; an offline node's portals refuse logins.
func (b modelBackend) Nodes() []iscsi.Node {
	var out []iscsi.Node
	for _, n := range b.a.Nodes() {
		if !n.Online {
			continue
		}
		out = append(out, iscsi.Node{ID: n.ID, Name: n.Name, IQN: n.TargetIQN, Portals: portalIPs(n.Portals)})
	}
	return out
}

// LUNs is the host's mappings as seen through node nodeID.
func (b modelBackend) LUNs(initiatorIQN string, nodeID int) []scsi.LUNInfo {
	nodes := b.a.Nodes()
	name := ""
	for _, n := range nodes {
		if n.ID == nodeID {
			name = n.Name
		}
	}
	if name == "" {
		return nil
	}
	var out []scsi.LUNInfo
	for _, l := range b.a.LUNsFor(initiatorIQN, name) {
		pref := nodeID
		partner := 0
		for _, n := range nodes {
			if n.Name == l.PreferredNode {
				pref = n.ID
			}
		}
		// The partner is the other node of the I/O group the LUN is served
		// through (active/non-optimized in ALUA terms).
		for _, n := range nodes {
			if n.IOGrpID == l.IOGrpID && n.ID != pref {
				partner = n.ID
				break
			}
		}
		out = append(out, scsi.LUNInfo{
			LUN: uint64(l.LUN), VdiskID: l.VDiskID, Name: l.VDiskName, UID: l.UID,
			CapacityBytes: uint64(l.CapacityBytes), Path: l.DataPath, Thin: l.Thin,
			PreferredNode: pref, PartnerNode: partner,
		})
	}
	return out
}

// CHAPSecret is the host's secret; "" when unset or no host has the IQN.
func (b modelBackend) CHAPSecret(initiatorIQN string) string {
	s, _ := b.a.HostCHAPSecret(initiatorIQN)
	return s
}

// Subscribe turns model events into "something changed" pulses; the
// target re-reads the whole view, so coalescing pulses loses nothing.
func (b modelBackend) Subscribe() (<-chan struct{}, func()) {
	events, cancel := b.a.Subscribe()
	out := make(chan struct{}, 1)
	go func() {
		defer close(out)
		for range events {
			select {
			case out <- struct{}{}:
			default:
			}
		}
	}()
	return out, cancel
}

func portalIPs(portals []string) []string {
	var out []string
	for _, p := range portals {
		host, _, err := net.SplitHostPort(p)
		if err != nil {
			host = p
		}
		out = append(out, host)
	}
	return out
}
