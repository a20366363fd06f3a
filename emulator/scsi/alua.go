package scsi

import "encoding/binary"

// ALUA asymmetric access states (SPC-4 §6.37).
const (
	aluaActiveOptimized    = 0x0
	aluaActiveNonOptimized = 0x1
)

// reportTPG answers REPORT TARGET PORT GROUPS: one group per node of the
// vdisk's I/O group, the preferred node active/optimized and its partner
// active/non-optimized. Group id = relative port id = node id.
func (c *cmd) reportTPG() Result {
	cdb := c.cdb
	alloc := binary.BigEndian.Uint32(cdb[6:10])
	ext := cdb[1]>>5 == 1
	info := c.dev.Info()
	type grp struct {
		id    int
		state byte
	}
	groups := []grp{{info.PreferredNode, aluaActiveOptimized}}
	if info.PartnerNode != 0 && info.PartnerNode != info.PreferredNode {
		groups = append(groups, grp{info.PartnerNode, aluaActiveNonOptimized})
	}
	var body []byte
	for _, g := range groups {
		d := make([]byte, 12)
		d[0] = g.state
		if g.state == aluaActiveOptimized {
			d[0] |= 0x80 // PREF
		}
		d[1] = 0x01 | 0x02 // AO_SUP, AN_SUP
		binary.BigEndian.PutUint16(d[2:], uint16(g.id))
		d[5] = 0x02 // status: altered by implicit ALUA behaviour
		d[7] = 1    // one target port per node
		binary.BigEndian.PutUint16(d[10:], uint16(g.id))
		body = append(body, d...)
	}
	var hdr []byte
	if ext {
		hdr = make([]byte, 8)
		binary.BigEndian.PutUint32(hdr, uint32(len(body)+4))
		hdr[4] = 0x10 // format: extended header
	} else {
		hdr = make([]byte, 4)
		binary.BigEndian.PutUint32(hdr, uint32(len(body)))
	}
	return good(truncate(append(hdr, body...), int(alloc)))
}

type opDesc struct {
	op     byte
	sa     uint16
	hasSA  bool
	cdbLen int
}

var supportedOps = []opDesc{
	{opTestUnitReady, 0, false, 6}, {opRequestSense, 0, false, 6}, {opRead6, 0, false, 6},
	{opWrite6, 0, false, 6}, {opInquiry, 0, false, 6}, {opModeSelect6, 0, false, 6},
	{opReserve6, 0, false, 6}, {opRelease6, 0, false, 6}, {opModeSense6, 0, false, 6},
	{opStartStopUnit, 0, false, 6}, {opPreventAllow, 0, false, 6}, {opReadCapacity10, 0, false, 10},
	{opRead10, 0, false, 10}, {opWrite10, 0, false, 10}, {opWriteVerify10, 0, false, 10},
	{opVerify10, 0, false, 10}, {opPrefetch10, 0, false, 10}, {opSyncCache10, 0, false, 10},
	{opWriteSame10, 0, false, 10}, {opUnmap, 0, false, 10}, {opModeSelect10, 0, false, 10},
	{opReserve10, 0, false, 10}, {opRelease10, 0, false, 10}, {opModeSense10, 0, false, 10},
	{opPRIn, 0, true, 10}, {opPRIn, 1, true, 10}, {opPRIn, 2, true, 10}, {opPRIn, 3, true, 10},
	{opPROut, 0, true, 10}, {opPROut, 1, true, 10}, {opPROut, 2, true, 10}, {opPROut, 3, true, 10},
	{opPROut, 4, true, 10}, {opPROut, 5, true, 10}, {opPROut, 6, true, 10},
	{opRead16, 0, false, 16}, {opCompareAndWrite, 0, false, 16}, {opOrWrite16, 0, false, 16}, {opWrite16, 0, false, 16},
	{opWriteVerify16, 0, false, 16}, {opVerify16, 0, false, 16}, {opPrefetch16, 0, false, 16},
	{opSyncCache16, 0, false, 16}, {opWriteSame16, 0, false, 16},
	{opServiceAction16, saReadCapacity16, true, 16}, {opServiceAction16, saGetLBAStatus, true, 16},
	{opReportLUNs, 0, false, 12}, {opMaintenanceIn, saReportTPG, true, 12},
	{opMaintenanceIn, saReportSupportOps, true, 12},
	{opReadDefect10, 0, false, 10}, {opReadDefect12, 0, false, 12},
	{opRead12, 0, false, 12}, {opWrite12, 0, false, 12}, {opWriteVerify12, 0, false, 12}, {opVerify12, 0, false, 12},
}

// reportSupportedOpcodes is REPORT SUPPORTED OPERATION CODES (SPC-4 §6.35).
func (c *cmd) reportSupportedOpcodes() Result {
	cdb := c.cdb
	rctd := cdb[2]&0x80 != 0
	opt := cdb[2] & 0x07
	reqOp := cdb[3]
	reqSA := binary.BigEndian.Uint16(cdb[4:6])
	alloc := binary.BigEndian.Uint32(cdb[6:10])
	timeouts := func() []byte { return []byte{0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} }
	switch opt {
	case 0:
		var body []byte
		for _, d := range supportedOps {
			e := make([]byte, 8)
			e[0] = d.op
			binary.BigEndian.PutUint16(e[2:], d.sa)
			if d.hasSA {
				e[5] |= 0x01
			}
			if rctd {
				e[5] |= 0x02
			}
			binary.BigEndian.PutUint16(e[6:], uint16(d.cdbLen))
			body = append(body, e...)
			if rctd {
				body = append(body, timeouts()...)
			}
		}
		hdr := make([]byte, 4)
		binary.BigEndian.PutUint32(hdr, uint32(len(body)))
		return good(truncate(append(hdr, body...), int(alloc)))
	case 1, 2, 3:
		var found *opDesc
		opHasSA := false
		for i, d := range supportedOps {
			if d.op == reqOp {
				opHasSA = opHasSA || d.hasSA
				if (opt == 1 && !d.hasSA) || (opt != 1 && d.sa == reqSA) {
					found = &supportedOps[i]
				}
			}
		}
		if opt == 1 && opHasSA || opt == 2 && !opHasSA && anyOp(reqOp) {
			return check(invalidCDBField(2))
		}
		out := []byte{0, 0x01, 0, 0} // support: not supported
		if found != nil {
			out[1] = 0x03 // supported, standard conformant
			if rctd {
				out[1] |= 0x80
			}
			binary.BigEndian.PutUint16(out[2:], uint16(found.cdbLen))
			usage := make([]byte, found.cdbLen)
			usage[0] = found.op
			for i := 1; i < found.cdbLen; i++ {
				usage[i] = 0xff
			}
			if found.hasSA {
				usage[1] = byte(found.sa) | 0xe0
			}
			usage[found.cdbLen-1] = 0x07 // control byte: NACA, link bits
			out = append(out, usage...)
			if rctd {
				out = append(out, timeouts()...)
			}
		}
		return good(truncate(out, int(alloc)))
	}
	return check(invalidCDBField(2))
}

func anyOp(op byte) bool {
	for _, d := range supportedOps {
		if d.op == op {
			return true
		}
	}
	return false
}
