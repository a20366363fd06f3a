package scsi

import (
	"fmt"
	"sort"
	"sync"
)

// Identity is what INQUIRY reports for every LU of the array.
type Identity struct {
	Vendor   string // 8 chars max, e.g. INSPUR
	Product  string // 16 chars max, e.g. MCS
	Revision string // 4 chars max
}

// Port is the SCSI target port a nexus arrived on. The emulator has one
// target port per node: its relative port id and its ALUA target port group
// are both the node id, so RTPG and VPD 0x83 agree with lsnode.
type Port struct {
	NodeID     int
	TargetName string // target IQN of the node
}

// Result is a finished command: status, sense (CHECK CONDITION) and the
// data-in bytes, already truncated to the CDB's allocation length.
type Result struct {
	Status byte
	Sense  []byte
	Data   []byte
	// pooled marks Data as a pooled read buffer; Release returns it.
	pooled bool
}

// Release hands a read buffer back to the pool once the transport has
// sent it; the Result must not be used afterwards. Safe on any Result.
func (r *Result) Release() {
	if r.pooled {
		putBuf(r.Data)
		r.Data, r.pooled = nil, false
	}
}

func good(data []byte) Result { return Result{Status: StatusGood, Data: data} }

func check(s *Sense) Result {
	return Result{Status: StatusCheckCondition, Sense: s.Bytes()}
}

type lunEntry struct {
	dev *Device
	ua  []uint16 // pending unit attentions, oldest first
}

// Nexus is one I_T nexus (an iSCSI session): the LUN table this initiator
// sees through this port, and the unit attentions pending for it.
type Nexus struct {
	// InitiatorPort is the SCSI initiator port name "<iqn>,i,0x<isid>".
	InitiatorPort string
	Port          Port
	ident         Identity
	reg           *Registry

	mu     sync.Mutex
	luns   map[uint64]*lunEntry
	loaded bool // SetLUNs ran once: later changes raise unit attentions
	closed bool
}

// NewNexus creates an I_T nexus with an empty LUN table.
func NewNexus(reg *Registry, ident Identity, initiatorPort string, port Port) *Nexus {
	return &Nexus{reg: reg, ident: ident, InitiatorPort: initiatorPort, Port: port, luns: map[uint64]*lunEntry{}}
}

// key identifies the nexus in reservation state.
func (n *Nexus) key() string { return fmt.Sprintf("%s|%d", n.InitiatorPort, n.Port.NodeID) }

// SetLUNs replaces the LUN table with the masking view from the array. A
// change in the set of LUNs raises REPORTED LUNS DATA HAS CHANGED on every
// LU; a capacity change raises CAPACITY DATA HAS CHANGED on that LU.
func (n *Nexus) SetLUNs(infos []LUNInfo) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	next := make(map[uint64]*lunEntry, len(infos))
	var firstErr error
	changed := false
	for _, in := range infos {
		old := n.luns[in.LUN]
		if old != nil && old.dev.uid == in.UID {
			oldCap := old.dev.Info().CapacityBytes
			old.dev.update(in)
			if oldCap != in.CapacityBytes && n.loaded {
				old.ua = appendUA(old.ua, ascCapacityChanged)
			}
			next[in.LUN] = old
			continue
		}
		dev, err := n.reg.Acquire(in)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		dev.attach(n)
		next[in.LUN] = &lunEntry{dev: dev}
		changed = true
	}
	for lun, old := range n.luns {
		if e, ok := next[lun]; !ok || e != old {
			old.dev.detach(n)
			n.reg.Release(old.dev)
			changed = true
		}
	}
	n.luns = next
	if changed && n.loaded {
		for _, e := range n.luns {
			e.ua = appendUA(e.ua, ascReportedLUNsChanged)
		}
	}
	n.loaded = true
	return firstErr
}

// LUNs returns the mapped LUN numbers in ascending order.
func (n *Nexus) LUNs() []uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]uint64, 0, len(n.luns))
	for l := range n.luns {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Close releases every device; the nexus answers nothing afterwards.
func (n *Nexus) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.closed = true
	for _, e := range n.luns {
		e.dev.detach(n)
		e.dev.pr.nexusGone(n.key())
		n.reg.Release(e.dev)
	}
	n.luns = nil
}

// AddUA queues asc on the LU backed by dev (a LUN reset on any path).
func (n *Nexus) AddUA(dev *Device, asc uint16) { n.addUA(dev, asc) }

// addUA queues a unit attention on the LU backed by dev (called by other
// nexuses, e.g. when a reservation is preempted).
func (n *Nexus) addUA(dev *Device, asc uint16) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, e := range n.luns {
		if e.dev == dev {
			e.ua = appendUA(e.ua, asc)
		}
	}
}

// AddUAAll queues a unit attention on every LU (e.g. after a LUN or target
// reset initiated by another nexus).
func (n *Nexus) AddUAAll(asc uint16) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, e := range n.luns {
		e.ua = appendUA(e.ua, asc)
	}
}

// ResetUA is the ASC/ASCQ of BUS DEVICE RESET FUNCTION OCCURRED, queued on
// other nexuses after a LUN/target reset.
const ResetUA = ascBusDeviceReset

func appendUA(q []uint16, asc uint16) []uint16 {
	for _, a := range q {
		if a == asc {
			return q
		}
	}
	return append(q, asc)
}

// lookup returns the entry for lun and pops a pending unit attention unless
// the command is one that SPC-4 §5.14 lets through.
func (n *Nexus) lookup(lun uint64, op byte) (*Device, uint16, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if op == opReportLUNs {
		// The initiator is re-reading the LUN inventory: the change is
		// reported for every LU of this nexus (SPC-4 §6.33).
		for _, e := range n.luns {
			e.ua = removeUA(e.ua, ascReportedLUNsChanged)
		}
	}
	e, ok := n.luns[lun]
	if !ok {
		return nil, 0, false
	}
	if len(e.ua) == 0 {
		return e.dev, 0, true
	}
	switch op {
	case opInquiry, opRequestSense:
		return e.dev, 0, true
	case opReportLUNs:
		return e.dev, 0, true
	}
	ua := e.ua[0]
	e.ua = e.ua[1:]
	return e.dev, ua, true
}

func (n *Nexus) popUA(lun uint64) (uint16, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	e, ok := n.luns[lun]
	if !ok || len(e.ua) == 0 {
		return 0, false
	}
	ua := e.ua[0]
	e.ua = e.ua[1:]
	return ua, true
}

func removeUA(q []uint16, asc uint16) []uint16 {
	out := q[:0]
	for _, a := range q {
		if a != asc {
			out = append(out, a)
		}
	}
	return out
}

// DeviceFor returns the device mapped at lun (nil if none); task
// management uses it to scope a LUN RESET.
func (n *Nexus) DeviceFor(lun uint64) *Device {
	n.mu.Lock()
	defer n.mu.Unlock()
	if e, ok := n.luns[lun]; ok {
		return e.dev
	}
	return nil
}

// attach/detach track which nexuses map a device, so reservation changes
// can raise unit attentions on the others.
func (d *Device) attach(n *Nexus) {
	d.pr.mu.Lock()
	d.pr.nexuses[n] = struct{}{}
	d.pr.mu.Unlock()
}

func (d *Device) detach(n *Nexus) {
	d.pr.mu.Lock()
	delete(d.pr.nexuses, n)
	d.pr.mu.Unlock()
}
