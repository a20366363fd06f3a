package controller_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
	"github.com/instorage-csi/instorage-csi/driver/pkg/controller"
	"github.com/instorage-csi/instorage-csi/emulator/fault"
	"github.com/instorage-csi/instorage-csi/sanity/harness"
)

const (
	benchVolumes     = 200
	benchConcurrency = 16
	benchLatency     = 20 * time.Millisecond
	benchNodes       = 16
)

// BenchmarkLifecycle200x16 drives 200 volumes through create → publish →
// unpublish → delete, 16 at a time, over SSH to an emulator that adds 20 ms
// to every command. It reports throughput, CLI commands per RPC, and how
// close throughput comes to the bound P/(L × commands per lifecycle), where
// P is the number of commands the driver can have in flight (the 16 workers;
// task limits are raised to 16 so they do not bind first). The emulator
// skips fsync: the disk of the test machine is not what is measured.
func BenchmarkLifecycle200x16(b *testing.B) { benchLifecycle(b, benchLatency) }

// BenchmarkLifecycle200x16_NoLatency is the baseline run side by side: the
// same work with no added latency shows what the emulator, SSH and the
// shared CPU cost on their own.
func BenchmarkLifecycle200x16_NoLatency(b *testing.B) { benchLifecycle(b, 0) }

func benchLifecycle(b *testing.B, latency time.Duration) {
	for i := 0; i < b.N; i++ {
		e := newEnv(b, harness.Options{SSH: true, NoSync: true}, func(_ *config.Storage, o *controller.Options) {
			o.Task = config.Task{MaxCreateVolumeNumber: benchConcurrency, MaxDeleteVolumeNumber: benchConcurrency,
				MaxPublishVolumeNumber: benchConcurrency, MaxUnpublishVolumeNumber: benchConcurrency}
		})
		if latency > 0 {
			if _, err := e.emu.Faults.Add(fault.Rule{Latency: &fault.Latency{Fixed: fault.Duration(latency)}}); err != nil {
				b.Fatal(err)
			}
		}
		before := e.emu.Commands.Total()
		work := make(chan int)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		start := time.Now()
		for w := 0; w < benchConcurrency; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				node := fmt.Sprintf("bench-node-%d;iqn=iqn.2026-01.io.example:bench-%d", w%benchNodes, w%benchNodes)
				for v := range work {
					if err := oneLifecycle(e, fmt.Sprintf("pvc-bench-%d", v), node); err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
					}
				}
			}(w)
		}
		for v := 0; v < benchVolumes; v++ {
			work <- v
		}
		close(work)
		wg.Wait()
		elapsed := time.Since(start)
		if firstErr != nil {
			b.Fatal(firstErr)
		}
		cmds := float64(e.emu.Commands.Total() - before)
		rpcs := float64(4 * benchVolumes)
		perLifecycle := cmds / benchVolumes
		lifecyclesPerSec := benchVolumes / elapsed.Seconds()
		b.ReportMetric(lifecyclesPerSec, "lifecycles/s")
		b.ReportMetric(rpcs/elapsed.Seconds(), "rpcs/s")
		b.ReportMetric(cmds/rpcs, "cmds/rpc")
		if latency > 0 {
			bound := float64(benchConcurrency) / (latency.Seconds() * perLifecycle)
			b.ReportMetric(bound, "bound-lifecycles/s")
			b.ReportMetric(lifecyclesPerSec/bound, "ratio-to-bound")
			// On a loaded machine a 20 ms sleep lasts longer; the same bound
			// with the sleep actually measured now separates the driver's
			// overhead from the scheduler's.
			eff := measuredSleep(latency, benchConcurrency)
			effBound := float64(benchConcurrency) / (eff.Seconds() * perLifecycle)
			b.ReportMetric(float64(eff.Microseconds())/1000, "measured-L-ms")
			b.ReportMetric(lifecyclesPerSec/effBound, "ratio-to-measured-bound")
		}
		b.Logf("%d lifecycles in %v; %v commands (%.1f per lifecycle): %v", benchVolumes, elapsed.Round(time.Millisecond), cmds, perLifecycle, e.emu.Commands.By())
		if v, h := e.vdisks(), e.hosts(); len(v)+len(h) != 0 {
			b.Fatalf("left behind: %d vdisks, %d hosts", len(v), len(h))
		}
	}
}

func oneLifecycle(e *env, name, node string) error {
	r, err := e.s.CreateVolume(ctx, createReq(name, 1<<30, nil))
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	id := r.Volume.VolumeId
	if _, err := e.s.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: id, NodeId: node, VolumeCapability: rwo()[0]}); err != nil {
		return fmt.Errorf("publish %s: %w", name, err)
	}
	if _, err := e.s.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: id, NodeId: node}); err != nil {
		return fmt.Errorf("unpublish %s: %w", name, err)
	}
	if _, err := e.s.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id}); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// measuredSleep is the mean wall time of a `d` sleep with n sleepers, the
// way the emulator's injected latency runs.
func measuredSleep(d time.Duration, n int) time.Duration {
	const rounds = 25
	var mu sync.Mutex
	var total time.Duration
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				start := time.Now()
				time.Sleep(d)
				el := time.Since(start)
				mu.Lock()
				total += el
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return total / time.Duration(n*rounds)
}
