package cli

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/instorage-csi/instorage-csi/emulator/model"
)

// benchArray builds an array with n vdisks through the model API.
func benchArray(b *testing.B, n int) *CLI {
	b.Helper()
	a, err := model.OpenWithOptions(b.TempDir(), model.DefaultTopology(), model.Options{TickInterval: -1, CompactEvery: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	for i := 0; i < n; i++ {
		if _, err := a.MkVDisk(model.MkVDiskReq{Name: fmt.Sprintf("pvc-%08d", i), SizeBytes: 1 << 30,
			Pools: []string{"Pool0"}, RSizePct: 2, AutoExpand: true}); err != nil {
			b.Fatal(err)
		}
	}
	return New(a)
}

// BenchmarkLsVDiskFilterVolumeName: the [G] lookup with 10 000 vdisks.
func BenchmarkLsVDiskFilterVolumeName(b *testing.B) {
	c := benchArray(b, 10000)
	for i := 0; b.Loop(); i++ {
		out, _, code := c.Run(context.Background(), "u", fmt.Sprintf("mcsinq lsvdisk -bytes -delim ! -filtervalue volume_name=pvc-%08d", i%10000))
		if code != 0 || len(out) == 0 {
			b.Fatal("lookup failed")
		}
	}
	// Live heap of the whole 10 000-vdisk array (the RSS budget is 200 MB).
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heapMB")
}

// BenchmarkLsVDiskAll lists all 10 000 vdisks ([G] ListVolumes).
func BenchmarkLsVDiskAll(b *testing.B) {
	c := benchArray(b, 10000)
	for b.Loop() {
		if _, _, code := c.Run(context.Background(), "u", "mcsinq lsvdisk -bytes -delim !"); code != 0 {
			b.Fatal("list failed")
		}
	}
}

// BenchmarkMkVDisk creates vdisks on an array that already has 10 000:
// one journal record + fsync and one sparse file each, never a full rewrite.
func BenchmarkMkVDisk(b *testing.B) {
	c := benchArray(b, 10000)
	for i := 0; b.Loop(); i++ {
		if _, e, code := c.Run(context.Background(), "u", fmt.Sprintf("mcsop mkvdisk -name bench-%d -size 1 -unit gb -mdiskgrp Pool0 -rsize 2%% -autoexpand", i)); code != 0 {
			b.Fatal(string(e))
		}
	}
}
