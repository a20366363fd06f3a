package scsi

import "encoding/binary"

// DataOutLength is how many data-out bytes cdb asks for, when the command
// is one this target knows; the transport uses it for residual counts.
func DataOutLength(cdb []byte) (int, bool) {
	if len(cdb) == 0 || len(cdb) < cdbLen(cdb[0]) {
		return 0, false
	}
	switch cdb[0] {
	case opWrite6, opWrite10, opWrite12, opWrite16, opWriteVerify10, opWriteVerify12, opWriteVerify16, opOrWrite16:
		_, n, _ := rw(cdb[:cdbLen(cdb[0])])
		return int(n) * BlockSize, true
	case opVerify10, opVerify12, opVerify16:
		_, n, flags := rw(cdb[:cdbLen(cdb[0])])
		switch (flags >> 1) & 3 {
		case 0:
			return 0, true
		case 3:
			return BlockSize, true
		}
		return int(n) * BlockSize, true
	case opCompareAndWrite:
		return 2 * int(cdb[13]) * BlockSize, true
	case opWriteSame10:
		return BlockSize, true
	case opWriteSame16:
		if cdb[1]&0x01 != 0 {
			return 0, true
		}
		return BlockSize, true
	case opUnmap:
		return int(binary.BigEndian.Uint16(cdb[7:9])), true
	case opPROut:
		return int(binary.BigEndian.Uint32(cdb[5:9])), true
	case opModeSelect6:
		return int(cdb[4]), true
	case opModeSelect10:
		return int(binary.BigEndian.Uint16(cdb[7:9])), true
	}
	return 0, false
}
