package scsi

import (
	"encoding/binary"
	"encoding/hex"
)

// VPD pages served; 0xb2 is listed for every LU and says whether it is thin.
var vpdPages = []byte{0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2}

func pad(s string, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = ' '
	}
	copy(b, s)
	return b
}

func (n *Nexus) standardInquiry(pq byte) []byte {
	b := make([]byte, 74)
	b[0] = pq
	b[2] = 0x06 // SPC-4
	b[3] = 0x12 // HiSup, response data format 2
	b[4] = byte(len(b) - 5)
	b[5] = 0x10 // TPGS=01b: implicit ALUA (the array moves paths itself)
	b[6] = 0x10 // MultiP: one LU, several target ports (one per node)
	b[7] = 0x02 // CmdQue
	copy(b[8:16], pad(n.ident.Vendor, 8))
	copy(b[16:32], pad(n.ident.Product, 16))
	copy(b[32:36], pad(n.ident.Revision, 4))
	// Version descriptors: SAM-5, iSCSI, SPC-4, SBC-3.
	for i, v := range []uint16{0x00a0, 0x0960, 0x0460, 0x04c0} {
		binary.BigEndian.PutUint16(b[58+2*i:], v)
	}
	return b
}

// inquiryNoLU answers INQUIRY for a LUN not mapped to this initiator:
// peripheral qualifier 011b, device type 1Fh (SPC-4 §6.6.2).
func (n *Nexus) inquiryNoLU(cdb []byte) Result {
	if cdb[1]&1 != 0 {
		return check(errLUNotSupp)
	}
	alloc := int(binary.BigEndian.Uint16(cdb[3:5]))
	return good(truncate(n.standardInquiry(0x7f), alloc))
}

func (c *cmd) inquiry() Result {
	cdb := c.cdb
	alloc := int(binary.BigEndian.Uint16(cdb[3:5]))
	if cdb[1]&0x02 != 0 { // CMDDT is obsolete
		return check(invalidCDBField(1))
	}
	if cdb[1]&1 == 0 {
		if cdb[2] != 0 {
			return check(invalidCDBField(2))
		}
		return good(truncate(c.n.standardInquiry(0), alloc))
	}
	var page []byte
	info := c.dev.Info()
	switch cdb[2] {
	case 0x00:
		page = append([]byte{0, 0x00, 0, byte(len(vpdPages))}, vpdPages...)
	case 0x80:
		page = append([]byte{0, 0x80, 0, byte(len(info.UID))}, info.UID...)
	case 0x83:
		page = c.deviceIdentification(info)
	case 0xb0:
		page = blockLimits(info)
	case 0xb1:
		page = make([]byte, 64)
		page[1] = 0xb1
		page[3] = 0x3c
		page[5] = 1 // medium rotation rate: non-rotating
	case 0xb2:
		page = make([]byte, 8)
		page[1] = 0xb2
		page[3] = 4
		if info.Thin {
			page[5] = 0x80 | 0x40 | 0x20 | 0x04 // LBPU, LBPWS, LBPWS10, LBPRZ
			page[6] = 0x02                      // provisioning type: thin
		}
	default:
		return check(invalidCDBField(2))
	}
	return good(truncate(page, alloc))
}

// deviceIdentification is VPD 0x83: the NAA-6 designator is vdisk_UID, so
// udev's wwn-0x<uid> and scsi_id's 3<uid> match lsvdisk (mcs-cli.md §3.2);
// the target port group and relative port let scsi_dh_alua find the path.
func (c *cmd) deviceIdentification(info LUNInfo) []byte {
	naa, err := hex.DecodeString(info.UID)
	if err != nil || len(naa) != 16 {
		naa = make([]byte, 16)
	}
	var d []byte
	// NAA, binary, LU association.
	d = append(d, 0x01, 0x03, 0, 16)
	d = append(d, naa...)
	// T10 vendor id, ASCII: vendor + UID (stable, human readable).
	t10 := append(pad(c.n.ident.Vendor, 8), info.UID...)
	d = append(d, 0x02, 0x01, 0, byte(len(t10)))
	d = append(d, t10...)
	port := uint16(c.n.Port.NodeID)
	// Relative target port (PIV, iSCSI protocol, target-port association).
	d = append(d, 0x51, 0x94, 0, 4, 0, 0, byte(port>>8), byte(port))
	// Target port group.
	d = append(d, 0x51, 0x95, 0, 4, 0, 0, byte(port>>8), byte(port))
	// SCSI name string of the target port: "<iqn>,t,0x<tpgt>".
	name := []byte(c.n.Port.TargetName + ",t,0x" + hex.EncodeToString([]byte{byte(port >> 8), byte(port)}))
	name = append(name, 0)
	for len(name)%4 != 0 {
		name = append(name, 0)
	}
	d = append(d, 0x53, 0x98, 0, byte(len(name)))
	d = append(d, name...)
	page := []byte{0, 0x83, byte(len(d) >> 8), byte(len(d))}
	return append(page, d...)
}

// Limits advertised in VPD 0xb0; the command handlers enforce the same.
const (
	maxTransferBlocks  = 16384   // 8 MiB per command
	maxUnmapBlocks     = 1 << 20 // 512 MiB per UNMAP command
	maxUnmapDescs      = 256
	maxWriteSameBlocks = 65535 // 32 MiB - 1 block per WRITE SAME
	maxCAWBlocks       = 255
	unmapGranularity   = 8 // 4 KiB: the file system's hole granularity
)

func blockLimits(info LUNInfo) []byte {
	b := make([]byte, 64)
	b[1] = 0xb0
	b[3] = 0x3c
	b[5] = maxCAWBlocks
	binary.BigEndian.PutUint16(b[6:], unmapGranularity)
	binary.BigEndian.PutUint32(b[8:], maxTransferBlocks)
	if info.Thin {
		binary.BigEndian.PutUint32(b[20:], maxUnmapBlocks)
		binary.BigEndian.PutUint32(b[24:], maxUnmapDescs)
		binary.BigEndian.PutUint32(b[28:], unmapGranularity)
	}
	binary.BigEndian.PutUint64(b[36:], maxWriteSameBlocks)
	return b
}
