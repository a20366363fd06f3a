package iscsi

import (
	"testing"
)

// BenchmarkRead4KiB measures one 4 KiB READ16 round trip through the whole
// target (PDU parse, SCSI, file read, Data-In) over loopback TCP.
func BenchmarkRead4KiB(b *testing.B) {
	benchRead(b, 8)
}

// BenchmarkRead1MiB is the large-transfer path (Data-In segmentation).
func BenchmarkRead1MiB(b *testing.B) {
	benchRead(b, 2048)
}

func benchRead(b *testing.B, blocks uint32) {
	f := startTarget(b, Config{})
	v := f.vdisk(b, 1, "60050760000000000000000000000001", 64<<20)
	f.be.Map(hostIQN, v)
	ti, err := dialLogin(f.addr1, hostIQN, loginOpts{target: testIQN1})
	if err != nil {
		b.Fatal(err)
	}
	defer ti.logout()
	ti.command(1, make([]byte, 6), nil, 0)
	size := int(blocks) * 512
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lba := uint64(i) * uint64(blocks) % (64 << 20 / 512)
		r, err := ti.command(1, cdb16(0x88, lba, blocks), nil, size)
		if err != nil || r.status != 0 || len(r.data) != size {
			b.Fatalf("read: %v status %d len %d", err, r.status, len(r.data))
		}
	}
}
