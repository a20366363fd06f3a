package scsi

import (
	"testing"
)

// BenchmarkExecuteRead4KiB is the SCSI layer alone: CDB decode, range
// check, pread into a fresh buffer.
func BenchmarkExecuteRead4KiB(b *testing.B) {
	n, _, _ := newTestNexus(b, false, 64<<20)
	b.SetBytes(4096)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r := n.Execute(3, cdb16(opRead16, uint64(i*8)%(64<<20/512), 8), nil)
		if r.Status != StatusGood {
			b.Fatal("read failed")
		}
	}
}
