package cli

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/instorage-csi/instorage-csi/emulator/model"
)

var (
	benchOnce sync.Once
	benchCLI  *CLI
	benchDir  string
	benchErr  error
)

// benchArray returns one shared array with 10 000 vdisks (built once: each
// mkvdisk is fsynced, so building it per benchmark would dominate make bench).
func benchArray(b *testing.B) *CLI {
	b.Helper()
	benchOnce.Do(func() {
		if benchDir, benchErr = os.MkdirTemp("", "cli-bench-"); benchErr != nil {
			return
		}
		// Build without fsync, then reopen durable: only the measured part pays fsync.
		a, err := model.OpenWithOptions(benchDir, model.DefaultTopology(), model.Options{TickInterval: -1, NoSync: true})
		if err != nil {
			benchErr = err
			return
		}
		for i := 0; i < 10000; i++ {
			if _, err := a.MkVDisk(model.MkVDiskReq{Name: fmt.Sprintf("pvc-%08d", i), SizeBytes: 1 << 30,
				Pools: []string{"Pool0"}, Thin: true, RSizePct: 2, AutoExpand: true}); err != nil {
				benchErr = err
				return
			}
		}
		a.Close()
		if a, benchErr = model.OpenWithOptions(benchDir, model.DefaultTopology(), model.Options{TickInterval: -1}); benchErr != nil {
			return
		}
		benchCLI = New(a)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchCLI
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchCLI != nil {
		benchCLI.a.Close()
	}
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// BenchmarkLsVDiskFilterVolumeName: the [G] lookup with 10 000 vdisks.
func BenchmarkLsVDiskFilterVolumeName(b *testing.B) {
	c := benchArray(b)
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
	c := benchArray(b)
	for b.Loop() {
		if _, _, code := c.Run(context.Background(), "u", "mcsinq lsvdisk -bytes -delim !"); code != 0 {
			b.Fatal("list failed")
		}
	}
}

// BenchmarkMkVDisk creates vdisks on an array that already has 10 000:
// one journal record + fsync and one sparse file each, never a full rewrite.
func BenchmarkMkVDisk(b *testing.B) {
	c := benchArray(b)
	for i := 0; b.Loop(); i++ {
		if _, e, code := c.Run(context.Background(), "u", fmt.Sprintf("mcsop mkvdisk -name bench-%d -size 1 -unit gb -mdiskgrp Pool0 -rsize 2%% -autoexpand", i)); code != 0 {
			b.Fatal(string(e))
		}
	}
}
