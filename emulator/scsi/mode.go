package scsi

import "encoding/binary"

// modePage returns the current (pc=0/2) or changeable (pc=1) values.
func modePage(code byte, pc byte) []byte {
	switch code {
	case 0x08: // caching: WCE=1, data is durable after SYNC CACHE or FUA
		p := make([]byte, 20)
		p[0], p[1] = 0x08, 0x12
		if pc != 1 {
			p[2] = 0x04
		}
		return p
	case 0x0a: // control: unrestricted reordering, no descriptor sense
		p := make([]byte, 12)
		p[0], p[1] = 0x0a, 0x0a
		if pc != 1 {
			p[3] = 0x10
			binary.BigEndian.PutUint16(p[8:], 0xffff) // busy timeout: unlimited
		}
		return p
	case 0x1c: // informational exceptions: nothing to report
		p := make([]byte, 12)
		p[0], p[1] = 0x1c, 0x0a
		return p
	}
	return nil
}

var modePages = []byte{0x08, 0x0a, 0x1c}

func (c *cmd) modeSense() Result {
	cdb := c.cdb
	six := cdb[0] == opModeSense6
	dbd := cdb[1]&0x08 != 0
	llbaa := !six && cdb[1]&0x10 != 0
	pc := cdb[2] >> 6
	code := cdb[2] & 0x3f
	sub := cdb[3]
	var alloc int
	if six {
		alloc = int(cdb[4])
	} else {
		alloc = int(binary.BigEndian.Uint16(cdb[7:9]))
	}
	if pc == 3 {
		return check(senseOf(KeyIllegalRequest, 0x3900)) // saving parameters not supported
	}
	if sub != 0 && sub != 0xff {
		return check(invalidCDBField(3))
	}
	var pages []byte
	if code == 0x3f {
		for _, p := range modePages {
			pages = append(pages, modePage(p, pc)...)
		}
	} else {
		pages = modePage(code, pc)
		if pages == nil {
			return check(invalidCDBField(2))
		}
	}
	blocks := c.dev.blocks()
	var bd []byte
	if !dbd {
		if llbaa {
			bd = make([]byte, 16)
			binary.BigEndian.PutUint64(bd, blocks)
			binary.BigEndian.PutUint32(bd[12:], BlockSize)
		} else {
			bd = make([]byte, 8)
			nb := blocks
			if nb > 0xffffff {
				nb = 0xffffff
			}
			bd[1], bd[2], bd[3] = byte(nb>>16), byte(nb>>8), byte(nb)
			bd[5], bd[6], bd[7] = 0, BlockSize>>8, BlockSize&0xff
		}
	}
	const dpofua = 0x10 // FUA honoured on writes
	var out []byte
	if six {
		out = []byte{0, 0, dpofua, byte(len(bd))}
		out = append(out, bd...)
		out = append(out, pages...)
		out[0] = byte(len(out) - 1)
	} else {
		out = []byte{0, 0, 0, dpofua, 0, 0, 0, byte(len(bd))}
		if llbaa && !dbd {
			out[4] = 1
		}
		out = append(out, bd...)
		out = append(out, pages...)
		binary.BigEndian.PutUint16(out, uint16(len(out)-2))
	}
	return good(truncate(out, alloc))
}

// modeSelect accepts parameter lists that change nothing we cannot honour.
func (c *cmd) modeSelect() Result {
	cdb := c.cdb
	var plen int
	if cdb[0] == opModeSelect6 {
		plen = int(cdb[4])
	} else {
		plen = int(binary.BigEndian.Uint16(cdb[7:9]))
	}
	if cdb[1]&0x01 != 0 { // SP: saving not supported
		return check(invalidCDBField(1))
	}
	if len(c.out) < plen {
		return check(errParamLen)
	}
	return good(nil)
}
