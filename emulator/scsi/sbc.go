package scsi

import (
	"bytes"
	"encoding/binary"
)

// rw decodes LBA, block count and the protect/FUA byte of READ/WRITE/VERIFY
// CDBs of every size.
func rw(cdb []byte) (lba uint64, n uint32, flags byte) {
	switch len(cdb) {
	case 6:
		lba = uint64(cdb[1]&0x1f)<<16 | uint64(cdb[2])<<8 | uint64(cdb[3])
		n = uint32(cdb[4])
		if n == 0 && (cdb[0] == opRead6 || cdb[0] == opWrite6) {
			n = 256
		}
		return lba, n, 0
	case 10:
		return uint64(binary.BigEndian.Uint32(cdb[2:6])), uint32(binary.BigEndian.Uint16(cdb[7:9])), cdb[1]
	case 12:
		return uint64(binary.BigEndian.Uint32(cdb[2:6])), binary.BigEndian.Uint32(cdb[6:10]), cdb[1]
	}
	return binary.BigEndian.Uint64(cdb[2:10]), binary.BigEndian.Uint32(cdb[10:14]), cdb[1]
}

// normCDB trims the CDB to its opcode's length (transports pad to 16).
func (c *cmd) normCDB() []byte { return c.cdb[:cdbLen(c.cdb[0])] }

// checkRange validates [lba, lba+n) against the current capacity.
func (c *cmd) checkRange(lba uint64, n uint64) *Sense {
	blocks := c.dev.blocks()
	if lba > blocks || n > blocks-lba {
		return errLBARange
	}
	return nil
}

func (c *cmd) read() Result {
	cdb := c.normCDB()
	lba, n, flags := rw(cdb)
	if flags&0xe0 != 0 { // RDPROTECT: no protection information
		return check(invalidCDBField(1))
	}
	if s := c.checkRange(lba, uint64(n)); s != nil {
		return check(s)
	}
	if n > maxTransferBlocks {
		return check(invalidCDBField(uint16(len(cdb) - 5)))
	}
	if n == 0 {
		return good(nil)
	}
	buf := getBuf(int(n) * BlockSize)
	if err := c.dev.readAt(buf, int64(lba)*BlockSize); err != nil {
		putBuf(buf)
		return check(senseOf(KeyMediumError, ascUnrecoveredReadError))
	}
	return Result{Status: StatusGood, Data: buf, pooled: true}
}

func (c *cmd) write(verify bool) Result {
	cdb := c.normCDB()
	lba, n, flags := rw(cdb)
	if flags&0xe0 != 0 {
		return check(invalidCDBField(1))
	}
	if s := c.checkRange(lba, uint64(n)); s != nil {
		return check(s)
	}
	if n > maxTransferBlocks {
		return check(invalidCDBField(uint16(len(cdb) - 5)))
	}
	// iSCSI EDTL below the CDB's length: write only the whole blocks the
	// initiator sent; the transport reports the overflow residual.
	n = min(n, uint32(len(c.out)/BlockSize))
	need := int(n) * BlockSize
	if n == 0 {
		return good(nil)
	}
	// WRITE AND VERIFY: writing through the file is our verification.
	fua := flags&0x08 != 0 || verify
	if err := c.dev.writeAt(c.out[:need], int64(lba)*BlockSize, fua); err != nil {
		return check(senseOf(KeyMediumError, ascWriteError))
	}
	return good(nil)
}

func (c *cmd) verify() Result {
	cdb := c.normCDB()
	lba, n, flags := rw(cdb)
	if flags&0xe0 != 0 {
		return check(invalidCDBField(1))
	}
	if s := c.checkRange(lba, uint64(n)); s != nil {
		return check(s)
	}
	bytchk := (flags >> 1) & 3
	if bytchk == 0 || n == 0 {
		return good(nil)
	}
	if bytchk == 2 {
		return check(invalidCDBField(1))
	}
	want := c.out
	need := int(n) * BlockSize
	if bytchk == 3 { // one block compared against every block
		if len(want) < BlockSize {
			return check(errParamLen)
		}
		want = bytes.Repeat(want[:BlockSize], int(n))
	}
	if len(want) < need {
		return check(errParamLen)
	}
	got := make([]byte, need)
	if err := c.dev.readAt(got, int64(lba)*BlockSize); err != nil {
		return check(senseOf(KeyMediumError, ascUnrecoveredReadError))
	}
	if i := firstDiff(got, want[:need]); i >= 0 {
		return check(&Sense{Key: KeyMiscompare, ASC: ascMiscompareDuringVerify, HasInfo: true, Info: uint64(i)})
	}
	return good(nil)
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// compareAndWrite is SBC-3 COMPARE AND WRITE: atomic against other CAWs.
func (c *cmd) compareAndWrite() Result {
	cdb := c.cdb
	if cdb[1]&0xe0 != 0 {
		return check(invalidCDBField(1))
	}
	lba := binary.BigEndian.Uint64(cdb[2:10])
	n := int(cdb[13])
	if n > maxCAWBlocks {
		return check(invalidCDBField(13))
	}
	if s := c.checkRange(lba, uint64(n)); s != nil {
		return check(s)
	}
	size := n * BlockSize
	if len(c.out) != 2*size {
		// Data-out must be exactly the compare and the write blocks.
		return check(invalidCDBField(13))
	}
	c.dev.cawMu.Lock()
	defer c.dev.cawMu.Unlock()
	got := make([]byte, size)
	if err := c.dev.readAt(got, int64(lba)*BlockSize); err != nil {
		return check(senseOf(KeyMediumError, ascUnrecoveredReadError))
	}
	if i := firstDiff(got, c.out[:size]); i >= 0 {
		return check(&Sense{Key: KeyMiscompare, ASC: ascMiscompareDuringVerify, HasInfo: true, Info: uint64(i)})
	}
	if err := c.dev.writeAt(c.out[size:2*size], int64(lba)*BlockSize, cdb[1]&0x08 != 0); err != nil {
		return check(senseOf(KeyMediumError, ascWriteError))
	}
	return good(nil)
}

func (c *cmd) syncCache() Result {
	cdb := c.normCDB()
	var lba, n uint64
	if cdb[0] == opSyncCache10 {
		lba, n = uint64(binary.BigEndian.Uint32(cdb[2:6])), uint64(binary.BigEndian.Uint16(cdb[7:9]))
	} else {
		lba, n = binary.BigEndian.Uint64(cdb[2:10]), uint64(binary.BigEndian.Uint32(cdb[10:14]))
	}
	if s := c.checkRange(lba, n); s != nil {
		return check(s)
	}
	// Real fdatasync, IMMED or not: the data is durable when we answer.
	if err := c.dev.sync(); err != nil {
		return check(senseOf(KeyMediumError, ascWriteError))
	}
	return good(nil)
}

func (c *cmd) prefetch() Result {
	cdb := c.normCDB()
	var lba, n uint64
	if cdb[0] == opPrefetch10 {
		lba, n = uint64(binary.BigEndian.Uint32(cdb[2:6])), uint64(binary.BigEndian.Uint16(cdb[7:9]))
	} else {
		lba, n = binary.BigEndian.Uint64(cdb[2:10]), uint64(binary.BigEndian.Uint32(cdb[10:14]))
	}
	if s := c.checkRange(lba, n); s != nil {
		return check(s)
	}
	return good(nil)
}

func (c *cmd) readCapacity10() Result {
	cdb := c.cdb
	if cdb[8]&1 == 0 && binary.BigEndian.Uint32(cdb[2:6]) != 0 {
		return check(invalidCDBField(2)) // LBA without PMI
	}
	last := c.dev.blocks() - 1
	if last > 0xffffffff {
		last = 0xffffffff
	}
	b := make([]byte, 8)
	binary.BigEndian.PutUint32(b, uint32(last))
	binary.BigEndian.PutUint32(b[4:], BlockSize)
	return good(b)
}

func (c *cmd) readCapacity16() Result {
	cdb := c.cdb
	alloc := binary.BigEndian.Uint32(cdb[10:14])
	b := make([]byte, 32)
	binary.BigEndian.PutUint64(b, c.dev.blocks()-1)
	binary.BigEndian.PutUint32(b[8:], BlockSize)
	// 8 logical blocks per 4 KiB physical block: the data file's
	// allocation unit, so initiators align I/O and discards to it.
	b[13] = 3
	if c.dev.Info().Thin {
		b[14] = 0x80 | 0x40 // LBPME, LBPRZ: unmapped blocks read as zeros
	}
	return good(truncate(b, int(alloc)))
}

// getLBAStatus reports mapped/deallocated extents from the file's holes.
func (c *cmd) getLBAStatus() Result {
	cdb := c.cdb
	lba := binary.BigEndian.Uint64(cdb[2:10])
	alloc := binary.BigEndian.Uint32(cdb[10:14])
	blocks := c.dev.blocks()
	if lba >= blocks {
		return check(errLBARange)
	}
	if alloc < 24 {
		// Room for the header and one descriptor at least.
		if alloc == 0 {
			return good(nil)
		}
	}
	maxDesc := 64
	if a := (int(alloc) - 8) / 16; a < maxDesc && a > 0 {
		maxDesc = a
	}
	end := int64(blocks) * BlockSize
	off := int64(lba) * BlockSize
	var descs []byte
	thin := c.dev.Info().Thin
	for off < end && len(descs)/16 < maxDesc {
		mapped, run := true, end-off
		if thin {
			mapped, run = c.dev.mapped(off, end)
		}
		// Partial blocks count as mapped: round the run to whole blocks.
		nb := uint64(run / BlockSize)
		if nb == 0 {
			nb = 1
			mapped = true
		}
		if nb > 0xffffffff {
			nb = 0xffffffff
		}
		d := make([]byte, 16)
		binary.BigEndian.PutUint64(d, uint64(off/BlockSize))
		binary.BigEndian.PutUint32(d[8:], uint32(nb))
		if !mapped {
			d[12] = 1
		}
		// Merge with the previous descriptor when the state is the same.
		if k := len(descs); k > 0 && descs[k-4] == d[12] {
			prev := binary.BigEndian.Uint32(descs[k-8:])
			if uint64(prev)+nb <= 0xffffffff {
				binary.BigEndian.PutUint32(descs[k-8:], prev+uint32(nb))
				off += int64(nb) * BlockSize
				continue
			}
		}
		descs = append(descs, d...)
		off += int64(nb) * BlockSize
	}
	b := make([]byte, 8, 8+len(descs))
	binary.BigEndian.PutUint32(b, uint32(4+len(descs)))
	b = append(b, descs...)
	return good(truncate(b, int(alloc)))
}

// unmap punches holes in the data file (SBC-3 §5.28).
func (c *cmd) unmap() Result {
	cdb := c.cdb
	if !c.dev.Info().Thin {
		return check(errInvalidOpcode)
	}
	if cdb[1]&0x01 != 0 { // ANCHOR: anchored state unsupported
		return check(invalidCDBField(1))
	}
	plen := int(binary.BigEndian.Uint16(cdb[7:9]))
	if plen == 0 {
		return good(nil)
	}
	if plen < 8 || len(c.out) < plen {
		return check(errParamLen)
	}
	p := c.out[:plen]
	bdl := int(binary.BigEndian.Uint16(p[2:4]))
	if bdl%16 != 0 || 8+bdl > plen {
		return check(errParamLen)
	}
	if bdl/16 > maxUnmapDescs {
		return check(invalidParamField(2))
	}
	type ext struct{ lba, n uint64 }
	var exts []ext
	var total uint64
	for off := 8; off+16 <= 8+bdl; off += 16 {
		lba := binary.BigEndian.Uint64(p[off:])
		n := uint64(binary.BigEndian.Uint32(p[off+8:]))
		if s := c.checkRange(lba, n); s != nil {
			return check(s)
		}
		total += n
		exts = append(exts, ext{lba, n})
	}
	if total > maxUnmapBlocks {
		return check(invalidParamField(8))
	}
	for _, e := range exts {
		if err := c.dev.punch(int64(e.lba)*BlockSize, int64(e.n)*BlockSize); err != nil {
			return check(senseOf(KeyMediumError, ascWriteError))
		}
	}
	return good(nil)
}

// writeSame writes one block repeatedly, or deallocates the range when the
// UNMAP bit is set and the block is zeros (thin vdisks read holes as zeros).
func (c *cmd) writeSame() Result {
	cdb := c.normCDB()
	var lba, n uint64
	if cdb[0] == opWriteSame10 {
		lba, n = uint64(binary.BigEndian.Uint32(cdb[2:6])), uint64(binary.BigEndian.Uint16(cdb[7:9]))
	} else {
		lba, n = binary.BigEndian.Uint64(cdb[2:10]), uint64(binary.BigEndian.Uint32(cdb[10:14]))
	}
	flags := cdb[1]
	if flags&0xe0 != 0 {
		return check(invalidCDBField(1))
	}
	if flags&0x10 != 0 { // ANCHOR
		return check(invalidCDBField(1))
	}
	unmap := flags&0x08 != 0
	ndob := cdb[0] == opWriteSame16 && flags&0x01 != 0
	thin := c.dev.Info().Thin
	if unmap && !thin {
		return check(invalidCDBField(1))
	}
	if s := c.checkRange(lba, n); s != nil {
		return check(s)
	}
	if n == 0 {
		n = c.dev.blocks() - lba
	}
	if n > maxWriteSameBlocks {
		return check(invalidCDBField(uint16(len(cdb) - 5)))
	}
	block := make([]byte, BlockSize)
	if !ndob {
		if len(c.out) != BlockSize {
			// Exactly one logical block of data-out (SBC-3 §5.45).
			return check(invalidCDBField(uint16(len(cdb) - 5)))
		}
		copy(block, c.out)
	}
	off := int64(lba) * BlockSize
	size := int64(n) * BlockSize
	// UNMAP=1 deallocates whatever the block holds (libiscsi and SBC-3
	// §5.45: the device server unmaps; LBPRZ makes the range read zero).
	if unmap && thin || ndob && thin && allZero(block) {
		if err := c.dev.punch(off, size); err != nil {
			return check(senseOf(KeyMediumError, ascWriteError))
		}
		return good(nil)
	}
	const chunk = 1 << 20
	buf := bytes.Repeat(block, chunk/BlockSize)
	for size > 0 {
		w := min(size, chunk)
		if err := c.dev.writeAt(buf[:w], off, false); err != nil {
			return check(senseOf(KeyMediumError, ascWriteError))
		}
		off += w
		size -= w
	}
	return good(nil)
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// orWrite is ORWRITE(16): data-out ORed into the medium, atomically with
// respect to COMPARE AND WRITE.
func (c *cmd) orWrite() Result {
	cdb := c.normCDB()
	lba, n, flags := rw(cdb)
	if flags&0xe0 != 0 {
		return check(invalidCDBField(1))
	}
	if s := c.checkRange(lba, uint64(n)); s != nil {
		return check(s)
	}
	if n > maxTransferBlocks {
		return check(invalidCDBField(10))
	}
	n = min(n, uint32(len(c.out)/BlockSize))
	if n == 0 {
		return good(nil)
	}
	size := int(n) * BlockSize
	c.dev.cawMu.Lock()
	defer c.dev.cawMu.Unlock()
	buf := make([]byte, size)
	if err := c.dev.readAt(buf, int64(lba)*BlockSize); err != nil {
		return check(senseOf(KeyMediumError, ascUnrecoveredReadError))
	}
	for i := range buf {
		buf[i] |= c.out[i]
	}
	if err := c.dev.writeAt(buf, int64(lba)*BlockSize, flags&0x08 != 0); err != nil {
		return check(senseOf(KeyMediumError, ascWriteError))
	}
	return good(nil)
}

// readDefectData reports an empty defect list in the requested format: a
// file has no grown or primary defects.
func (c *cmd) readDefectData() Result {
	cdb := c.normCDB()
	if cdb[0] == opReadDefect10 {
		alloc := int(binary.BigEndian.Uint16(cdb[7:9]))
		return good(truncate([]byte{0, cdb[2] & 0x1f, 0, 0}, alloc))
	}
	alloc := int(binary.BigEndian.Uint32(cdb[6:10]))
	return good(truncate([]byte{0, cdb[1] & 0x1f, 0, 0, 0, 0, 0, 0}, alloc))
}
