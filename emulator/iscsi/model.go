package iscsi

import (
	"context"
	"fmt"
	"net"
	"strings"

	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/emulator/model"
	"github.com/instorage-csi/instorage-csi/emulator/scsi"
)

// ModelBackend serves the array model: nodes and portals from the
// topology, masking from hostmaps, CHAP from host objects.
type ModelBackend struct{ arr *model.Array }

// NewModelBackend adapts arr to the target.
func NewModelBackend(arr *model.Array) *ModelBackend { return &ModelBackend{arr: arr} }

// Nodes implements Backend.
func (b *ModelBackend) Nodes() []Node {
	var out []Node
	for _, n := range b.arr.Nodes() {
		nd := Node{ID: n.ID, Name: n.Name, IQN: n.TargetIQN, Offline: !n.Online}
		for _, p := range n.Portals {
			nd.Portals = append(nd.Portals, portalIP(p))
		}
		out = append(out, nd)
	}
	return out
}

// portalIP strips an optional port: the model may list "ip:port".
func portalIP(p string) string {
	if h, _, err := net.SplitHostPort(p); err == nil {
		return h
	}
	return strings.Trim(p, "[]")
}

// LUNs implements Backend.
func (b *ModelBackend) LUNs(initiator string, nodeID int) []scsi.LUNInfo {
	nodes := b.arr.Nodes()
	var name string
	ids := map[string]int{}
	for _, n := range nodes {
		ids[n.Name] = n.ID
		if n.ID == nodeID {
			name = n.Name
		}
	}
	if name == "" {
		return nil
	}
	var out []scsi.LUNInfo
	for _, l := range b.arr.LUNsFor(initiator, name) {
		pref := ids[l.PreferredNode]
		partner := 0
		for _, n := range nodes {
			if n.IOGrpID == l.IOGrpID && n.ID != pref {
				partner = n.ID
				break
			}
		}
		if pref == 0 { // no preferred node recorded: this node serves optimized
			pref = nodeID
		}
		out = append(out, scsi.LUNInfo{LUN: uint64(l.LUN), VdiskID: l.VDiskID, Name: l.VDiskName,
			UID: strings.ToUpper(l.UID), CapacityBytes: uint64(l.CapacityBytes), Path: l.DataPath,
			Thin: l.Thin, PreferredNode: pref, PartnerNode: partner})
	}
	return out
}

// CHAPSecret implements Backend.
func (b *ModelBackend) CHAPSecret(initiator string) string {
	s, _ := b.arr.HostCHAPSecret(initiator)
	return s
}

// Subscribe implements Backend: every model event becomes one coalesced
// "re-read the masking" signal.
func (b *ModelBackend) Subscribe() (<-chan struct{}, func()) {
	events, cancel := b.arr.Subscribe()
	out := make(chan struct{}, 1)
	stop := make(chan struct{})
	go func() {
		defer close(out)
		for {
			select {
			case _, ok := <-events:
				if !ok {
					return
				}
				select {
				case out <- struct{}{}:
				default: // a refresh is already pending
				}
			case <-stop:
				return
			}
		}
	}()
	return out, func() {
		close(stop)
		cancel()
	}
}

// StartForModel starts the target over arr and registers it as the model's
// write quiescer (LocalCopy snapshots are point-in-time). It returns the
// bound portals and a stop function that waits for every connection.
func StartForModel(ctx context.Context, arr *model.Array, cfg Config) (*Server, func(), error) {
	srv := NewServer(cfg, NewModelBackend(arr))
	if err := srv.Listen(); err != nil {
		return nil, nil, fmt.Errorf("iscsi: %w", err)
	}
	arr.SetQuiescer(srv)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx); err != nil {
			klog.ErrorS(err, "iSCSI target stopped")
		}
	}()
	return srv, func() {
		arr.SetQuiescer(nil)
		cancel()
		<-done
	}, nil
}
