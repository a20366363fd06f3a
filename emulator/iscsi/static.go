package iscsi

import (
	"sync"

	"github.com/instorage-csi/instorage-csi/emulator/scsi"
)

// AnyInitiator maps a LUN to every initiator (conformance runs, where
// libiscsi logs in under several names).
const AnyInitiator = "*"

// StaticBackend is a Backend held in memory: tests and the standalone
// mcs-iscsi-target use it to serve files without the array model.
type StaticBackend struct {
	mu      sync.Mutex
	nodes   []Node
	maps    map[string]map[uint64]scsi.LUNInfo // initiator -> LUN -> vdisk
	secrets map[string]string
	subs    map[chan struct{}]struct{}
}

// NewStaticBackend serves nodes with no LUNs mapped yet.
func NewStaticBackend(nodes []Node) *StaticBackend {
	return &StaticBackend{nodes: nodes, maps: map[string]map[uint64]scsi.LUNInfo{},
		secrets: map[string]string{}, subs: map[chan struct{}]struct{}{}}
}

// Nodes implements Backend.
func (b *StaticBackend) Nodes() []Node {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Node(nil), b.nodes...)
}

// LUNs implements Backend: the same vdisks through every node.
func (b *StaticBackend) LUNs(initiator string, _ int) []scsi.LUNInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []scsi.LUNInfo
	for _, who := range []string{initiator, AnyInitiator} {
		for _, in := range b.maps[who] {
			out = append(out, in)
		}
	}
	return out
}

// CHAPSecret implements Backend; a secret set for AnyInitiator applies to
// initiators without their own.
func (b *StaticBackend) CHAPSecret(initiator string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s, ok := b.secrets[initiator]; ok {
		return s
	}
	return b.secrets[AnyInitiator]
}

// Subscribe implements Backend.
func (b *StaticBackend) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

func (b *StaticBackend) notifyLocked() {
	for ch := range b.subs {
		select {
		case ch <- struct{}{}:
		default: // a signal is already pending
		}
	}
}

// Map exposes info to initiator (AnyInitiator for all) at info.LUN.
func (b *StaticBackend) Map(initiator string, info scsi.LUNInfo) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.maps[initiator] == nil {
		b.maps[initiator] = map[uint64]scsi.LUNInfo{}
	}
	b.maps[initiator][info.LUN] = info
	b.notifyLocked()
}

// Unmap removes initiator's LUN.
func (b *StaticBackend) Unmap(initiator string, lun uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.maps[initiator], lun)
	b.notifyLocked()
}

// Resize changes the capacity of the vdisk with uid everywhere it is mapped.
func (b *StaticBackend) Resize(uid string, capacity uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.maps {
		for l, in := range m {
			if in.UID == uid {
				in.CapacityBytes = capacity
				m[l] = in
			}
		}
	}
	b.notifyLocked()
}

// SetCHAPSecret requires CHAP from initiator ("" removes it).
func (b *StaticBackend) SetCHAPSecret(initiator, secret string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if secret == "" {
		delete(b.secrets, initiator)
	} else {
		b.secrets[initiator] = secret
	}
}
