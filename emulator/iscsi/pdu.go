// Package iscsi is the emulator's iSCSI target (RFC 7143, ErrorRecoveryLevel
// 0): one target per node, listening on that node's portals, serving the
// LUNs the array model masks to each initiator. The SCSI command set lives
// in package scsi; this package is login, sequencing and data transfer.
package iscsi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Opcodes (RFC 7143 §11.1.1).
const (
	opNopOut      = 0x00
	opSCSICmd     = 0x01
	opTMFReq      = 0x02
	opLoginReq    = 0x03
	opTextReq     = 0x04
	opDataOut     = 0x05
	opLogoutReq   = 0x06
	opSNACK       = 0x10
	opNopIn       = 0x20
	opSCSIResp    = 0x21
	opTMFResp     = 0x22
	opLoginResp   = 0x23
	opTextResp    = 0x24
	opDataIn      = 0x25
	opLogoutResp  = 0x26
	opR2T         = 0x31
	opAsyncMsg    = 0x32
	opReject      = 0x3f
	bhsLen        = 48
	reservedTag   = 0xffffffff
	flagFinal     = 0x80
	flagImmediate = 0x40
)

// maxDataSegment bounds what we accept in one PDU whatever was negotiated,
// so a malformed length can never make us allocate gigabytes.
const maxDataSegment = 1 << 24

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errDigest is a header/data digest mismatch; the connection is dropped
// (ErrorRecoveryLevel 0).
var errDigest = errors.New("iscsi: digest mismatch")

// PDU is one iSCSI protocol data unit.
type PDU struct {
	BHS  [bhsLen]byte
	AHS  []byte
	Data []byte
}

func (p *PDU) opcode() byte       { return p.BHS[0] & 0x3f }
func (p *PDU) immediate() bool    { return p.BHS[0]&flagImmediate != 0 }
func (p *PDU) flags() byte        { return p.BHS[1] }
func (p *PDU) itt() uint32        { return binary.BigEndian.Uint32(p.BHS[16:20]) }
func (p *PDU) u32(off int) uint32 { return binary.BigEndian.Uint32(p.BHS[off:]) }
func (p *PDU) setU32(off int, v uint32) {
	binary.BigEndian.PutUint32(p.BHS[off:], v)
}
func (p *PDU) lun() []byte { return p.BHS[8:16] }

func dataSegLen(bhs []byte) int { return int(bhs[5])<<16 | int(bhs[6])<<8 | int(bhs[7]) }

func padLen(n int) int { return (4 - n%4) % 4 }

// readPDU reads one PDU, verifying digests when negotiated. maxData is the
// MaxRecvDataSegmentLength we declared (0: the hard cap).
func readPDU(r io.Reader, hdrDigest, dataDigest bool, maxData int) (*PDU, error) {
	p := &PDU{}
	if _, err := io.ReadFull(r, p.BHS[:]); err != nil {
		return nil, err
	}
	return readRest(r, p, hdrDigest, dataDigest, maxData)
}

func readRest(r io.Reader, p *PDU, hdrDigest, dataDigest bool, maxData int) (*PDU, error) {
	if ahs := int(p.BHS[4]) * 4; ahs > 0 {
		p.AHS = make([]byte, ahs)
		if _, err := io.ReadFull(r, p.AHS); err != nil {
			return nil, err
		}
	}
	if hdrDigest {
		var d [4]byte
		if _, err := io.ReadFull(r, d[:]); err != nil {
			return nil, err
		}
		crc := crc32.Update(crc32.Checksum(p.BHS[:], castagnoli), castagnoli, p.AHS)
		if binary.LittleEndian.Uint32(d[:]) != crc {
			return nil, fmt.Errorf("%w (header)", errDigest)
		}
	}
	n := dataSegLen(p.BHS[:])
	if maxData <= 0 || maxData > maxDataSegment {
		maxData = maxDataSegment
	}
	if n > maxData {
		return nil, fmt.Errorf("iscsi: data segment %d exceeds %d", n, maxData)
	}
	if n > 0 {
		buf := make([]byte, n+padLen(n))
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		if dataDigest {
			var d [4]byte
			if _, err := io.ReadFull(r, d[:]); err != nil {
				return nil, err
			}
			if binary.LittleEndian.Uint32(d[:]) != crc32.Checksum(buf, castagnoli) {
				return nil, fmt.Errorf("%w (data)", errDigest)
			}
		}
		p.Data = buf[:n]
	}
	return p, nil
}

var zeroPad [4]byte

// encode renders p as the buffers of one writev: header, AHS, digests,
// data and padding. The BHS data segment length is set from p.Data.
func (p *PDU) encode(hdrDigest, dataDigest bool) [][]byte {
	n := len(p.Data)
	p.BHS[4] = byte(len(p.AHS) / 4)
	p.BHS[5], p.BHS[6], p.BHS[7] = byte(n>>16), byte(n>>8), byte(n)
	bufs := make([][]byte, 0, 6)
	bufs = append(bufs, p.BHS[:])
	if len(p.AHS) > 0 {
		bufs = append(bufs, p.AHS)
	}
	if hdrDigest {
		crc := crc32.Update(crc32.Checksum(p.BHS[:], castagnoli), castagnoli, p.AHS)
		bufs = append(bufs, binary.LittleEndian.AppendUint32(nil, crc))
	}
	if n > 0 {
		bufs = append(bufs, p.Data)
		pad := zeroPad[:padLen(n)]
		if len(pad) > 0 {
			bufs = append(bufs, pad)
		}
		if dataDigest {
			crc := crc32.Update(crc32.Checksum(p.Data, castagnoli), castagnoli, pad)
			bufs = append(bufs, binary.LittleEndian.AppendUint32(nil, crc))
		}
	}
	return bufs
}
