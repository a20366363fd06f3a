package scsi

import "encoding/binary"

// Operation codes handled by this target.
const (
	opTestUnitReady    = 0x00
	opRequestSense     = 0x03
	opRead6            = 0x08
	opWrite6           = 0x0a
	opInquiry          = 0x12
	opModeSelect6      = 0x15
	opReserve6         = 0x16
	opRelease6         = 0x17
	opModeSense6       = 0x1a
	opStartStopUnit    = 0x1b
	opPreventAllow     = 0x1e
	opReadCapacity10   = 0x25
	opRead10           = 0x28
	opWrite10          = 0x2a
	opWriteVerify10    = 0x2e
	opVerify10         = 0x2f
	opPrefetch10       = 0x34
	opSyncCache10      = 0x35
	opWriteSame10      = 0x41
	opUnmap            = 0x42
	opModeSelect10     = 0x55
	opReserve10        = 0x56
	opRelease10        = 0x57
	opModeSense10      = 0x5a
	opReadDefect10     = 0x37
	opReadDefect12     = 0xb7
	opPRIn             = 0x5e
	opPROut            = 0x5f
	opRead16           = 0x88
	opCompareAndWrite  = 0x89
	opOrWrite16        = 0x8b
	opWrite16          = 0x8a
	opWriteVerify16    = 0x8e
	opVerify16         = 0x8f
	opPrefetch16       = 0x90
	opSyncCache16      = 0x91
	opWriteSame16      = 0x93
	opServiceAction16  = 0x9e
	opReportLUNs       = 0xa0
	opMaintenanceIn    = 0xa3
	opRead12           = 0xa8
	opWrite12          = 0xaa
	opWriteVerify12    = 0xae
	opVerify12         = 0xaf
	saReadCapacity16   = 0x10
	saGetLBAStatus     = 0x12
	saReportTPG        = 0x0a
	saReportSupportOps = 0x0c
)

// cdbLen is the CDB length implied by the opcode's group code.
func cdbLen(op byte) int {
	switch op >> 5 {
	case 0:
		return 6
	case 1, 2:
		return 10
	case 4:
		return 16
	case 5:
		return 12
	}
	return 0
}

// Execute runs one command addressed to lun. dataOut holds the data-out
// buffer the initiator sent (already collected by the transport).
func (n *Nexus) Execute(lun uint64, cdb []byte, dataOut []byte) Result {
	if len(cdb) == 0 {
		return check(errInvalidOpcode)
	}
	op := cdb[0]
	if l := cdbLen(op); l == 0 || len(cdb) < l {
		return check(errInvalidOpcode)
	}
	if op == opReportLUNs {
		// REPORT LUNS is answered for any LUN, mapped or not (SPC-4 §6.33).
		if _, ua, ok := n.lookup(lun, op); ok && ua != 0 {
			return check(senseOf(KeyUnitAttention, ua))
		}
		return n.reportLUNs(cdb)
	}
	dev, ua, ok := n.lookup(lun, op)
	if !ok {
		switch op {
		case opInquiry:
			return n.inquiryNoLU(cdb)
		case opRequestSense:
			return requestSenseData(cdb, senseOf(KeyIllegalRequest, ascLUNotSupported))
		}
		return check(errLUNotSupp)
	}
	if ua != 0 {
		return check(senseOf(KeyUnitAttention, ua))
	}
	if conflict := dev.pr.conflicts(n.key(), cdb); conflict {
		return Result{Status: StatusReservationConflict}
	}
	c := &cmd{n: n, dev: dev, lun: lun, cdb: cdb, out: dataOut}
	return c.run()
}

type cmd struct {
	n   *Nexus
	dev *Device
	lun uint64
	cdb []byte
	out []byte
}

func (c *cmd) run() Result {
	cdb := c.cdb
	switch cdb[0] {
	case opTestUnitReady, opStartStopUnit:
		return good(nil)
	case opPreventAllow:
		// Not removable media: only PREVENT=0 is meaningful.
		if cdb[4]&3 != 0 {
			return check(invalidCDBField(4))
		}
		return good(nil)
	case opRequestSense:
		if ua, ok := c.n.popUA(c.lun); ok {
			return requestSenseData(cdb, senseOf(KeyUnitAttention, ua))
		}
		return requestSenseData(cdb, senseOf(KeyNoSense, ascNone))
	case opInquiry:
		return c.inquiry()
	case opModeSense6, opModeSense10:
		return c.modeSense()
	case opModeSelect6, opModeSelect10:
		return c.modeSelect()
	case opReadCapacity10:
		return c.readCapacity10()
	case opServiceAction16:
		switch cdb[1] & 0x1f {
		case saReadCapacity16:
			return c.readCapacity16()
		case saGetLBAStatus:
			return c.getLBAStatus()
		}
		return check(invalidCDBField(1))
	case opMaintenanceIn:
		switch cdb[1] & 0x1f {
		case saReportTPG:
			return c.reportTPG()
		case saReportSupportOps:
			return c.reportSupportedOpcodes()
		}
		return check(invalidCDBField(1))
	case opRead6, opRead10, opRead12, opRead16:
		return c.read()
	case opWrite6, opWrite10, opWrite12, opWrite16:
		return c.write(false)
	case opWriteVerify10, opWriteVerify12, opWriteVerify16:
		return c.write(true)
	case opVerify10, opVerify12, opVerify16:
		return c.verify()
	case opCompareAndWrite:
		return c.compareAndWrite()
	case opOrWrite16:
		return c.orWrite()
	case opWriteSame10, opWriteSame16:
		return c.writeSame()
	case opUnmap:
		return c.unmap()
	case opSyncCache10, opSyncCache16:
		return c.syncCache()
	case opPrefetch10, opPrefetch16:
		return c.prefetch()
	case opReadDefect10, opReadDefect12:
		return c.readDefectData()
	case opPRIn:
		return c.prIn()
	case opPROut:
		return c.prOut()
	case opReserve6, opReserve10:
		return c.reserve()
	case opRelease6, opRelease10:
		return c.release()
	}
	return check(errInvalidOpcode)
}

// requestSenseData answers REQUEST SENSE with s as parameter data, fixed or
// descriptor format as the DESC bit asks.
func requestSenseData(cdb []byte, s *Sense) Result {
	var b []byte
	if cdb[1]&1 != 0 {
		b = []byte{0x72, s.Key, byte(s.ASC >> 8), byte(s.ASC), 0, 0, 0, 0}
	} else {
		b = s.Bytes()
	}
	return good(truncate(b, int(cdb[4])))
}

func truncate(b []byte, alloc int) []byte {
	if len(b) > alloc {
		return b[:alloc]
	}
	return b
}

// reportLUNs lists the LUNs masked to this nexus (SPC-4 §6.33).
func (n *Nexus) reportLUNs(cdb []byte) Result {
	alloc := binary.BigEndian.Uint32(cdb[6:10])
	if alloc < 16 {
		return check(invalidCDBField(6))
	}
	switch cdb[2] {
	case 0, 1, 2:
	default:
		return check(invalidCDBField(2))
	}
	var luns []uint64
	if cdb[2] != 1 { // select report 1 = well-known LUNs only: we have none
		luns = n.LUNs()
	}
	b := make([]byte, 8+8*len(luns))
	binary.BigEndian.PutUint32(b, uint32(8*len(luns)))
	for i, l := range luns {
		copy(b[8+8*i:], encodeLUN(l))
	}
	return good(truncate(b, int(alloc)))
}

// encodeLUN is SAM-5 single-level addressing: peripheral (<256) or flat.
func encodeLUN(l uint64) []byte {
	b := make([]byte, 8)
	if l < 256 {
		b[1] = byte(l)
	} else {
		b[0] = 0x40 | byte(l>>8)&0x3f
		b[1] = byte(l)
	}
	return b
}

// DecodeLUN is the inverse of encodeLUN for the 8-byte LUN field of a PDU.
func DecodeLUN(b []byte) uint64 {
	switch b[0] >> 6 {
	case 0:
		return uint64(b[1])
	case 1:
		return uint64(b[0]&0x3f)<<8 | uint64(b[1])
	}
	return 0xffff_ffff_ffff_ffff
}

// EncodeLUN renders a LUN for a PDU's LUN field.
func EncodeLUN(l uint64) []byte { return encodeLUN(l) }
