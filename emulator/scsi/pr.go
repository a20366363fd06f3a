package scsi

import (
	"encoding/binary"
	"sort"
	"strings"
	"sync"
)

// Persistent reservation types (SPC-4 §6.16.2).
const (
	prWE   = 1 // write exclusive
	prEA   = 3 // exclusive access
	prWERO = 5 // write exclusive, registrants only
	prEARO = 6
	prWEAR = 7 // write exclusive, all registrants
	prEAAR = 8
)

// prState is a vdisk's reservation state, shared by every nexus (both
// nodes' ports) that maps it. Not persisted across emulator restarts
// (PTPL_C=0), like an array that loses reservations on power loss.
type prState struct {
	mu         sync.Mutex
	nexuses    map[*Nexus]struct{}
	generation uint32
	regs       map[string]uint64 // nexus key -> reservation key
	holder     string            // nexus key; "" = none
	rtype      byte
	legacy     string // SPC-2 RESERVE holder nexus key
}

func (p *prState) init() {
	p.nexuses = map[*Nexus]struct{}{}
	p.regs = map[string]uint64{}
}

func allRegistrants(t byte) bool { return t == prWEAR || t == prEAAR }

// isHolder reports whether key holds the persistent reservation.
func (p *prState) isHolder(key string) bool {
	if p.holder == "" {
		return false
	}
	if allRegistrants(p.rtype) {
		_, ok := p.regs[key]
		return ok
	}
	return p.holder == key
}

// nexusGone drops the SPC-2 reservation of a lost nexus; persistent
// registrations survive nexus loss by definition.
func (p *prState) nexusGone(key string) {
	p.mu.Lock()
	if p.legacy == key {
		p.legacy = ""
	}
	p.mu.Unlock()
}

// ResetLegacy clears the SPC-2 reservation (LUN reset, target reset).
func (d *Device) ResetLegacy() {
	d.pr.mu.Lock()
	d.pr.legacy = ""
	d.pr.mu.Unlock()
}

type access int

const (
	accAlways access = iota
	accRead
	accWrite
)

func classify(op byte) access {
	switch op {
	case opInquiry, opReportLUNs, opRequestSense, opTestUnitReady, opReadCapacity10,
		opMaintenanceIn, opPRIn, opPROut, opServiceAction16, opRelease6, opRelease10:
		return accAlways
	case opRead6, opRead10, opRead12, opRead16, opVerify10, opVerify12, opVerify16,
		opPrefetch10, opPrefetch16, opModeSense6, opModeSense10:
		return accRead
	}
	return accWrite
}

// conflicts applies SPC-2 reservations and SPC-4 table 53 to a command.
func (p *prState) conflicts(key string, cdb []byte) bool {
	op := cdb[0]
	acc := classify(op)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.legacy != "" && p.legacy != key {
		switch op {
		case opInquiry, opReportLUNs, opRequestSense, opRelease6, opRelease10, opMaintenanceIn:
			return false
		}
		return true
	}
	if p.holder == "" || p.isHolder(key) {
		return false
	}
	if op == opReserve6 || op == opReserve10 {
		return true
	}
	_, registered := p.regs[key]
	switch p.rtype {
	case prWE:
		return acc == accWrite
	case prEA:
		return acc != accAlways
	case prWERO, prWEAR:
		return acc == accWrite && !registered
	case prEARO, prEAAR:
		return acc != accAlways && !registered
	}
	return false
}

// reserve is SPC-2 RESERVE(6/10): whole-LU reservation for this nexus.
func (c *cmd) reserve() Result {
	if c.cdb[0] == opReserve10 && c.cdb[1]&0x03 != 0 { // 3rd party, long ID
		return check(invalidCDBField(1))
	}
	p := &c.dev.pr
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.holder != "" || (p.legacy != "" && p.legacy != c.n.key()) {
		return Result{Status: StatusReservationConflict}
	}
	p.legacy = c.n.key()
	return good(nil)
}

func (c *cmd) release() Result {
	p := &c.dev.pr
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.legacy == c.n.key() {
		p.legacy = ""
	}
	return good(nil)
}

// postUA raises asc on the nexuses whose keys are in keys (after p.mu is
// released: nexus locks are taken before device locks elsewhere).
func (d *Device) postUA(keys map[string]bool, asc uint16) {
	if len(keys) == 0 {
		return
	}
	d.pr.mu.Lock()
	var targets []*Nexus
	for n := range d.pr.nexuses {
		if keys[n.key()] {
			targets = append(targets, n)
		}
	}
	d.pr.mu.Unlock()
	for _, n := range targets {
		n.addUA(d, asc)
	}
}

func (c *cmd) prIn() Result {
	cdb := c.cdb
	alloc := int(binary.BigEndian.Uint16(cdb[7:9]))
	p := &c.dev.pr
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []byte
	switch cdb[1] & 0x1f {
	case 0: // READ KEYS
		keys := make([]string, 0, len(p.regs))
		for k := range p.regs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out = make([]byte, 8, 8+8*len(keys))
		binary.BigEndian.PutUint32(out, p.generation)
		binary.BigEndian.PutUint32(out[4:], uint32(8*len(keys)))
		for _, k := range keys {
			out = binary.BigEndian.AppendUint64(out, p.regs[k])
		}
	case 1: // READ RESERVATION
		out = make([]byte, 8)
		binary.BigEndian.PutUint32(out, p.generation)
		if p.holder != "" {
			binary.BigEndian.PutUint32(out[4:], 16)
			r := make([]byte, 16)
			if !allRegistrants(p.rtype) {
				binary.BigEndian.PutUint64(r, p.regs[p.holder])
			}
			r[13] = p.rtype
			out = append(out, r...)
		}
	case 2: // REPORT CAPABILITIES
		out = make([]byte, 8)
		out[1] = 8
		out[3] = 0x80 // TMV: the type mask is valid
		out[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02
		out[5] = 0x01
	case 3: // READ FULL STATUS
		keys := make([]string, 0, len(p.regs))
		for k := range p.regs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var body []byte
		for _, k := range keys {
			tid := transportID(k)
			d := make([]byte, 24, 24+len(tid))
			binary.BigEndian.PutUint64(d, p.regs[k])
			if p.isHolder(k) {
				d[12] = 0x01
				d[13] = p.rtype
			}
			binary.BigEndian.PutUint16(d[18:], uint16(portOfKey(k)))
			binary.BigEndian.PutUint32(d[20:], uint32(len(tid)))
			body = append(body, append(d, tid...)...)
		}
		out = make([]byte, 8)
		binary.BigEndian.PutUint32(out, p.generation)
		binary.BigEndian.PutUint32(out[4:], uint32(len(body)))
		out = append(out, body...)
	default:
		return check(invalidCDBField(1))
	}
	return good(truncate(out, alloc))
}

// transportID renders an iSCSI TransportID (format 01b, with ISID).
func transportID(key string) []byte {
	name := key
	if i := strings.LastIndexByte(key, '|'); i >= 0 {
		name = key[:i]
	}
	b := append([]byte(name), 0)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	hdr := []byte{0x45, 0, byte(len(b) >> 8), byte(len(b))}
	return append(hdr, b...)
}

func portOfKey(key string) int {
	i := strings.LastIndexByte(key, '|')
	n := 0
	for _, ch := range key[i+1:] {
		n = n*10 + int(ch-'0')
	}
	return n
}

func (c *cmd) prOut() Result {
	cdb := c.cdb
	sa := cdb[1] & 0x1f
	scope := cdb[2] >> 4
	typ := cdb[2] & 0x0f
	plen := binary.BigEndian.Uint32(cdb[5:9])
	if sa > 6 {
		return check(invalidCDBField(1)) // REGISTER AND MOVE unsupported
	}
	if plen != 24 {
		return check(errParamLen)
	}
	if len(c.out) < 24 {
		return check(errParamLen)
	}
	prm := c.out[:24]
	rk := binary.BigEndian.Uint64(prm[0:8])
	sark := binary.BigEndian.Uint64(prm[8:16])
	flags := prm[20]
	if flags&0x01 != 0 { // APTPL: reservations are not kept over power loss
		return check(invalidParamField(20))
	}
	if flags&0x0c != 0 { // SPEC_I_PT, ALL_TG_PT unsupported
		return check(invalidParamField(20))
	}
	me := c.n.key()
	p := &c.dev.pr
	p.mu.Lock()
	mine, registered := p.regs[me]
	conflict := Result{Status: StatusReservationConflict}
	var uaKeys map[string]bool
	var uaASC uint16
	res := good(nil)
	func() {
		switch sa {
		case 0, 6: // REGISTER, REGISTER AND IGNORE EXISTING KEY
			if sa == 0 {
				if !registered && rk != 0 || registered && rk != mine {
					res = conflict
					return
				}
			}
			if sark == 0 {
				if registered {
					uaKeys, uaASC = p.unregister(me)
					p.generation++
				}
				return
			}
			p.regs[me] = sark
			p.generation++
		case 1: // RESERVE
			if !registered || rk != mine {
				res = conflict
				return
			}
			if scope != 0 {
				res = check(invalidCDBField(2))
				return
			}
			if !validType(typ) {
				res = check(invalidCDBField(2))
				return
			}
			if p.holder != "" {
				if !p.isHolder(me) || p.rtype != typ {
					res = conflict
				}
				return
			}
			p.holder, p.rtype = me, typ
		case 2: // RELEASE
			if !registered || rk != mine {
				res = conflict
				return
			}
			if p.holder == "" || !p.isHolder(me) {
				return
			}
			if p.rtype != typ || scope != 0 {
				res = check(senseOf(KeyIllegalRequest, 0x2604)) // invalid release
				return
			}
			rt := p.rtype
			p.holder, p.rtype = "", 0
			if rt != prWE && rt != prEA {
				uaKeys, uaASC = p.othersRegistered(me), ascReservationsReleased
			}
		case 3: // CLEAR
			if !registered || rk != mine {
				res = conflict
				return
			}
			uaKeys, uaASC = p.othersRegistered(me), ascReservationsPreempted
			p.regs = map[string]uint64{}
			p.holder, p.rtype = "", 0
			p.generation++
		case 4, 5: // PREEMPT, PREEMPT AND ABORT
			if !registered || rk != mine {
				res = conflict
				return
			}
			if p.holder != "" && (scope != 0 || !validType(typ)) {
				res = check(invalidCDBField(2))
				return
			}
			uaASC = ascRegistrationsPreempted
			uaKeys = map[string]bool{}
			if p.holder != "" && allRegistrants(p.rtype) && sark == 0 {
				for k := range p.regs {
					if k != me {
						uaKeys[k] = true
						delete(p.regs, k)
					}
				}
				p.holder, p.rtype = me, typ
				p.generation++
				return
			}
			if p.holder != "" && !allRegistrants(p.rtype) && p.regs[p.holder] == sark {
				for k, v := range p.regs {
					if v == sark && k != me {
						uaKeys[k] = true
						delete(p.regs, k)
					}
				}
				p.holder, p.rtype = me, typ
				p.generation++
				return
			}
			if sark == 0 {
				res = check(invalidParamField(8))
				return
			}
			for k, v := range p.regs {
				if v == sark {
					uaKeys[k] = true
					delete(p.regs, k)
				}
			}
			if len(uaKeys) == 0 {
				res = conflict
				return
			}
			if _, ok := p.regs[p.holder]; !ok && p.holder != "" && !allRegistrants(p.rtype) {
				p.holder, p.rtype = "", 0
			}
			p.generation++
		}
	}()
	p.mu.Unlock()
	c.dev.postUA(uaKeys, uaASC)
	return res
}

func validType(t byte) bool {
	switch t {
	case prWE, prEA, prWERO, prEARO, prWEAR, prEAAR:
		return true
	}
	return false
}

// unregister removes key's registration and the reservation it held; for
// registrants-only types the others learn the reservation is gone.
func (p *prState) unregister(key string) (map[string]bool, uint16) {
	delete(p.regs, key)
	if p.holder == "" {
		return nil, 0
	}
	if allRegistrants(p.rtype) {
		if len(p.regs) == 0 {
			p.holder, p.rtype = "", 0
		}
		return nil, 0
	}
	if p.holder != key {
		return nil, 0
	}
	rt := p.rtype
	p.holder, p.rtype = "", 0
	if rt == prWERO || rt == prEARO {
		return p.othersRegistered(key), ascReservationsReleased
	}
	return nil, 0
}

func (p *prState) othersRegistered(me string) map[string]bool {
	out := map[string]bool{}
	for k := range p.regs {
		if k != me {
			out[k] = true
		}
	}
	return out
}
