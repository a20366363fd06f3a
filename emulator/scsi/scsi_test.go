package scsi

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

const testUID = "6005076000000000000000000000ABCD"

func newTestNexus(t testing.TB, thin bool, size uint64) (*Nexus, *Registry, LUNInfo) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vdisk0")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, int64(size)); err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	n := NewNexus(reg, Identity{Vendor: "INSPUR", Product: "MCS", Revision: "0001"},
		"iqn.1994-05.com.redhat:host1,i,0x400001370000", Port{NodeID: 1, TargetName: "iqn.2004-12.com.inspur:mcs.c.node1"})
	info := LUNInfo{LUN: 3, Name: "vol", UID: testUID, CapacityBytes: size, Path: path, Thin: thin, PreferredNode: 1, PartnerNode: 2}
	if err := n.SetLUNs([]LUNInfo{info}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n, reg, info
}

func mustGood(t *testing.T, r Result) []byte {
	t.Helper()
	if r.Status != StatusGood {
		k, asc, _ := DecodeSense(r.Sense)
		t.Fatalf("status 0x%x sense key 0x%x asc 0x%04x", r.Status, k, asc)
	}
	return r.Data
}

func wantSense(t *testing.T, r Result, key byte, asc uint16) {
	t.Helper()
	if r.Status != StatusCheckCondition {
		t.Fatalf("status 0x%x, want CHECK CONDITION", r.Status)
	}
	k, a, ok := DecodeSense(r.Sense)
	if !ok || k != key || a != asc {
		t.Fatalf("sense key 0x%x asc 0x%04x, want 0x%x 0x%04x", k, a, key, asc)
	}
}

func cdb16(op byte, lba uint64, n uint32) []byte {
	c := make([]byte, 16)
	c[0] = op
	binary.BigEndian.PutUint64(c[2:], lba)
	binary.BigEndian.PutUint32(c[10:], n)
	return c
}

func TestSense_FixedFormatFields(t *testing.T) {
	b := invalidCDBField(7).Bytes()
	if len(b) != 18 || b[0] != 0x70 || b[2] != KeyIllegalRequest || b[7] != 10 || b[12] != 0x24 || b[13] != 0 {
		t.Fatalf("bad fixed sense % x", b)
	}
	if b[15] != 0xc0 || binary.BigEndian.Uint16(b[16:]) != 7 {
		t.Fatalf("field pointer not set: % x", b[15:18])
	}
}

func TestInquiry_StandardAndVPD83NAAEqualsUID(t *testing.T) {
	n, _, _ := newTestNexus(t, true, 1<<20)
	std := mustGood(t, n.Execute(3, []byte{opInquiry, 0, 0, 0, 96, 0}, nil))
	if got := string(std[8:16]); got != "INSPUR  " {
		t.Fatalf("vendor %q", got)
	}
	if got := string(bytes.TrimRight(std[16:32], " ")); got != "MCS" {
		t.Fatalf("product %q", got)
	}
	if std[5]&0x30 != 0x10 {
		t.Fatalf("TPGS not implicit ALUA: 0x%x", std[5])
	}
	page := mustGood(t, n.Execute(3, []byte{opInquiry, 1, 0x83, 0x01, 0, 0}, nil))
	var naa []byte
	for off := 4; off+4 <= len(page); {
		l := int(page[off+3])
		if page[off+1]&0x0f == 3 && page[off+1]&0x30 == 0 {
			naa = page[off+4 : off+4+l]
		}
		off += 4 + l
	}
	if hex.EncodeToString(naa) != "6005076000000000000000000000abcd" {
		t.Fatalf("NAA designator %x, want vdisk_UID", naa)
	}
	// Unsupported VPD page.
	wantSense(t, n.Execute(3, []byte{opInquiry, 1, 0x99, 0, 255, 0}, nil), KeyIllegalRequest, ascInvalidFieldInCDB)
}

func TestInquiry_UnmappedLUNHasQualifier3(t *testing.T) {
	n, _, _ := newTestNexus(t, false, 1<<20)
	d := mustGood(t, n.Execute(9, []byte{opInquiry, 0, 0, 0, 36, 0}, nil))
	if d[0] != 0x7f {
		t.Fatalf("peripheral byte 0x%x, want 0x7f", d[0])
	}
	wantSense(t, n.Execute(9, []byte{opTestUnitReady, 0, 0, 0, 0, 0}, nil), KeyIllegalRequest, ascLUNotSupported)
}

func TestReadCapacity16_LBPMEOnlyWhenThin(t *testing.T) {
	for _, thin := range []bool{true, false} {
		n, _, _ := newTestNexus(t, thin, 8<<20)
		c := make([]byte, 16)
		c[0], c[1], c[13] = opServiceAction16, saReadCapacity16, 32
		d := mustGood(t, n.Execute(3, c, nil))
		if last := binary.BigEndian.Uint64(d); last != 8<<20/512-1 {
			t.Fatalf("last LBA %d", last)
		}
		if got := d[14]&0x80 != 0; got != thin {
			t.Fatalf("thin=%v: LBPME=%v", thin, got)
		}
	}
}

func TestUnmap_PunchesHolesAndReadsZero(t *testing.T) {
	n, _, info := newTestNexus(t, true, 4<<20)
	data := bytes.Repeat([]byte{0xab}, 1<<20)
	mustGood(t, n.Execute(3, cdb16(opWrite16, 0, 2048), data))
	mustGood(t, n.Execute(3, cdb16(opSyncCache16, 0, 0), nil))
	before := allocated(t, info.Path)
	param := make([]byte, 24)
	binary.BigEndian.PutUint16(param[0:], 22)
	binary.BigEndian.PutUint16(param[2:], 16)
	binary.BigEndian.PutUint64(param[8:], 0)
	binary.BigEndian.PutUint32(param[16:], 2048)
	c := make([]byte, 10)
	c[0] = opUnmap
	binary.BigEndian.PutUint16(c[7:], 24)
	mustGood(t, n.Execute(3, c, param))
	after := allocated(t, info.Path)
	if after >= before || after > before-(900<<10) {
		t.Fatalf("allocation %d -> %d: hole not punched", before, after)
	}
	got := mustGood(t, n.Execute(3, cdb16(opRead16, 0, 8), nil))
	if !allZero(got) {
		t.Fatal("unmapped blocks do not read zero")
	}
	// GET LBA STATUS reports the range deallocated.
	g := make([]byte, 16)
	g[0], g[1] = opServiceAction16, saGetLBAStatus
	binary.BigEndian.PutUint32(g[10:], 64)
	st := mustGood(t, n.Execute(3, g, nil))
	if st[8+12] != 1 {
		t.Fatalf("provisioning status %d, want deallocated", st[8+12])
	}
	// UNMAP beyond the end is refused and changes nothing.
	binary.BigEndian.PutUint64(param[8:], 8191)
	wantSense(t, n.Execute(3, c, param), KeyIllegalRequest, ascLBAOutOfRange)
}

func allocated(t *testing.T, path string) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

func TestUnitAttention_MapUnmapExpand(t *testing.T) {
	n, _, info := newTestNexus(t, true, 1<<20)
	tur := []byte{opTestUnitReady, 0, 0, 0, 0, 0}
	mustGood(t, n.Execute(3, tur, nil))

	second := info
	second.LUN, second.UID = 4, "6005076000000000000000000000BBBB"
	if err := n.SetLUNs([]LUNInfo{info, second}); err != nil {
		t.Fatal(err)
	}
	wantSense(t, n.Execute(3, tur, nil), KeyUnitAttention, ascReportedLUNsChanged)
	mustGood(t, n.Execute(3, tur, nil))
	if got := n.LUNs(); len(got) != 2 {
		t.Fatalf("LUNs %v", got)
	}

	grown := info
	grown.CapacityBytes = 2 << 20
	if err := n.SetLUNs([]LUNInfo{grown, second}); err != nil {
		t.Fatal(err)
	}
	wantSense(t, n.Execute(3, tur, nil), KeyUnitAttention, ascCapacityChanged)
	rc := mustGood(t, n.Execute(3, []byte{opReadCapacity10, 0, 0, 0, 0, 0, 0, 0, 0, 0}, nil))
	if binary.BigEndian.Uint32(rc) != 2<<20/512-1 {
		t.Fatalf("capacity not refreshed: %d", binary.BigEndian.Uint32(rc))
	}
	// LUN 4 saw no capacity change, only its own map event was consumed?
	// It still holds REPORTED LUNS DATA HAS CHANGED from the map.
	wantSense(t, n.Execute(4, tur, nil), KeyUnitAttention, ascReportedLUNsChanged)

	if err := n.SetLUNs([]LUNInfo{grown}); err != nil {
		t.Fatal(err)
	}
	wantSense(t, n.Execute(3, tur, nil), KeyUnitAttention, ascReportedLUNsChanged)
	wantSense(t, n.Execute(4, tur, nil), KeyIllegalRequest, ascLUNotSupported)
	// REPORT LUNS lists only LUN 3 now.
	rl := make([]byte, 12)
	rl[0] = opReportLUNs
	binary.BigEndian.PutUint32(rl[6:], 64)
	d := mustGood(t, n.Execute(0, rl, nil))
	if binary.BigEndian.Uint32(d) != 8 || d[9] != 3 {
		t.Fatalf("REPORT LUNS % x", d)
	}
}

func TestReportTPG_PreferredNodeOptimized(t *testing.T) {
	n, _, _ := newTestNexus(t, false, 1<<20)
	c := make([]byte, 12)
	c[0], c[1] = opMaintenanceIn, saReportTPG
	binary.BigEndian.PutUint32(c[6:], 256)
	d := mustGood(t, n.Execute(3, c, nil))
	if binary.BigEndian.Uint32(d) != 24 {
		t.Fatalf("length %d, want two groups", binary.BigEndian.Uint32(d))
	}
	g1, g2 := d[4:16], d[16:28]
	if g1[0]&0x0f != aluaActiveOptimized || binary.BigEndian.Uint16(g1[2:]) != 1 {
		t.Fatalf("group 1 % x", g1)
	}
	if g2[0]&0x0f != aluaActiveNonOptimized || binary.BigEndian.Uint16(g2[2:]) != 2 {
		t.Fatalf("group 2 % x", g2)
	}
}

func TestRead_BeyondEndAndProtect(t *testing.T) {
	n, _, _ := newTestNexus(t, false, 1<<20)
	wantSense(t, n.Execute(3, cdb16(opRead16, 2047, 2), nil), KeyIllegalRequest, ascLBAOutOfRange)
	c := cdb16(opRead16, 0, 1)
	c[1] = 0x20 // RDPROTECT
	wantSense(t, n.Execute(3, c, nil), KeyIllegalRequest, ascInvalidFieldInCDB)
	wantSense(t, n.Execute(3, []byte{0xc9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, nil), KeyIllegalRequest, ascInvalidOpcode)
}

func TestCompareAndWrite_Miscompare(t *testing.T) {
	n, _, _ := newTestNexus(t, false, 1<<20)
	a := bytes.Repeat([]byte{'A'}, 512)
	mustGood(t, n.Execute(3, cdb16(opWrite16, 5, 1), a))
	c := cdb16(opCompareAndWrite, 5, 0)
	c[13] = 1
	wrong := append(bytes.Repeat([]byte{'X'}, 512), bytes.Repeat([]byte{'B'}, 512)...)
	wantSense(t, n.Execute(3, c, wrong), KeyMiscompare, ascMiscompareDuringVerify)
	right := append(append([]byte(nil), a...), bytes.Repeat([]byte{'B'}, 512)...)
	mustGood(t, n.Execute(3, c, right))
	if got := mustGood(t, n.Execute(3, cdb16(opRead16, 5, 1), nil)); got[0] != 'B' {
		t.Fatal("CAW did not write")
	}
}

func TestPersistentReservation_WriteExclusiveBlocksOtherNexus(t *testing.T) {
	n, reg, info := newTestNexus(t, false, 1<<20)
	other := NewNexus(reg, Identity{Vendor: "INSPUR", Product: "MCS"}, "iqn.other,i,0x1", Port{NodeID: 2})
	if err := other.SetLUNs([]LUNInfo{info}); err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	prout := func(nx *Nexus, sa, typ byte, key, sark uint64) Result {
		c := make([]byte, 10)
		c[0], c[1], c[2] = opPROut, sa, typ
		binary.BigEndian.PutUint32(c[5:], 24)
		p := make([]byte, 24)
		binary.BigEndian.PutUint64(p, key)
		binary.BigEndian.PutUint64(p[8:], sark)
		return nx.Execute(3, c, p)
	}
	mustGood(t, prout(n, 0, 0, 0, 0xaa))
	mustGood(t, prout(n, 1, prWE, 0xaa, 0))
	if r := other.Execute(3, cdb16(opWrite16, 0, 1), make([]byte, 512)); r.Status != StatusReservationConflict {
		t.Fatalf("write from other nexus: status 0x%x", r.Status)
	}
	mustGood(t, other.Execute(3, cdb16(opRead16, 0, 1), nil))
	mustGood(t, n.Execute(3, cdb16(opWrite16, 0, 1), make([]byte, 512)))
	// A wrong key cannot release.
	if r := prout(other, 2, prWE, 0xbb, 0); r.Status != StatusReservationConflict {
		t.Fatalf("release by unregistered: 0x%x", r.Status)
	}
}

func TestRegistry_SharesOneDevicePerUID(t *testing.T) {
	n, reg, info := newTestNexus(t, false, 1<<20)
	other := NewNexus(reg, Identity{}, "iqn.other,i,0x1", Port{NodeID: 2})
	if err := other.SetLUNs([]LUNInfo{info}); err != nil {
		t.Fatal(err)
	}
	if reg.Open() != 1 {
		t.Fatalf("open devices %d", reg.Open())
	}
	pattern := bytes.Repeat([]byte{0x5a}, 512)
	mustGood(t, n.Execute(3, cdb16(opWrite16, 7, 1), pattern))
	if got := mustGood(t, other.Execute(3, cdb16(opRead16, 7, 1), nil)); !bytes.Equal(got, pattern) {
		t.Fatal("second path does not see the write")
	}
	other.Close()
	n.Close()
	if reg.Open() != 0 {
		t.Fatalf("devices leaked: %d", reg.Open())
	}
}

func TestQuiesce_BlocksWritesUntilResume(t *testing.T) {
	n, reg, info := newTestNexus(t, false, 1<<20)
	resume := reg.Quiesce([]string{info.Path, info.Path})
	done := make(chan Result, 1)
	go func() { done <- n.Execute(3, cdb16(opWrite16, 0, 1), bytes.Repeat([]byte{1}, 512)) }()
	select {
	case <-done:
		t.Fatal("write completed while quiesced")
	case <-time.After(100 * time.Millisecond):
	}
	// Reads still flow.
	mustGood(t, n.Execute(3, cdb16(opRead16, 0, 1), nil))
	resume()
	select {
	case r := <-done:
		mustGood(t, r)
	case <-time.After(5 * time.Second):
		t.Fatal("write still blocked after resume")
	}
}
