package model

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkOpen10k measures a restart: loading 10 000 vdisks (snapshot +
// journal) and reconciling their data files.
func BenchmarkOpen10k(b *testing.B) {
	dir := b.TempDir()
	a, err := OpenWithOptions(dir, DefaultTopology(), Options{TickInterval: -1, NoSync: true, CompactEvery: 4096})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 10000; i++ {
		if _, err := a.MkVDisk(MkVDiskReq{Name: fmt.Sprintf("pvc-%08d", i), SizeBytes: 1 << 30,
			Pools: []string{"Pool0"}, Thin: true, RSizePct: 2, AutoExpand: true}); err != nil {
			b.Fatal(err)
		}
	}
	a.Close()
	var heap float64
	for b.Loop() {
		a, err := OpenWithOptions(dir, DefaultTopology(), Options{TickInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		heap = float64(ms.HeapAlloc) / (1 << 20)
		a.Close()
	}
	b.ReportMetric(heap, "heapMB")
}
