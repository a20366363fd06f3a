package e2etest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/instorage-csi/instorage-csi/emulator/config"
	"github.com/instorage-csi/instorage-csi/emulator/model"
)

// benchVDisks is the array size the latency and memory goals refer to.
const benchVDisks = 10000

// minSamples keeps p99 meaningful under `make bench` (-benchtime 1x): each
// benchmark times max(b.N, minSamples) commands.
const minSamples = 500

var (
	bigOnce sync.Once
	bigEmu  *emu
	bigErr  error
	bigDir  string
)

// bigArray is one emulator process holding benchVDisks vdisks, shared by the
// benchmarks (populating takes ~25 s because every change is fsynced).
// The model is filled in-process, then served by the real binary.
func bigArray(b *testing.B) *emu {
	b.Helper()
	bigOnce.Do(func() {
		bigDir, bigErr = os.MkdirTemp("", "mcs-emulator-bench")
		if bigErr != nil {
			return
		}
		state := filepath.Join(bigDir, "state")
		a, err := model.Open(filepath.Join(state, config.ArrayDir), model.DefaultTopology())
		if err != nil {
			bigErr = err
			return
		}
		for i := range benchVDisks {
			if _, err := a.MkVDisk(model.MkVDiskReq{Name: benchName(i), SizeBytes: 64 << 20, Pools: []string{"Pool0"}, RSizePct: -1}); err != nil {
				a.Close()
				bigErr = fmt.Errorf("populate vdisk %d: %w", i, err)
				return
			}
		}
		if bigErr = a.Close(); bigErr != nil {
			return
		}
		bigEmu, bigErr = launch(bigDir, state)
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigEmu
}

// stopBigArray runs from TestMain after all benchmarks.
func stopBigArray() {
	if bigEmu != nil {
		bigEmu.kill()
	}
	if bigDir != "" {
		os.RemoveAll(bigDir)
	}
}

func benchName(i int) string { return fmt.Sprintf("bench-%05d", i) }

func benchDial(b *testing.B, e *emu) *gossh.Client {
	b.Helper()
	c, err := e.tryDial(testUser, gossh.Password(testPassword))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// latencies collects per-command durations and reports p50/p99 in ms.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	s := slices.Clone(l)
	slices.Sort(s)
	pct := func(p float64) float64 {
		return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(len(s)), "samples")
}

// timeCommands runs cmd(i) for max(b.N, minSamples) commands, one SSH
// session each on one connection, as [G] does.
func timeCommands(b *testing.B, c *gossh.Client, cmd func(i int) string, check func(result) bool) latencies {
	return timeN(b, max(b.N, minSamples), c, cmd, check)
}

func timeN(b *testing.B, n int, c *gossh.Client, cmd func(i int) string, check func(result) bool) latencies {
	b.Helper()
	lat := make(latencies, 0, n)
	b.ResetTimer()
	for i := range n {
		start := time.Now()
		r, err := tryRun(c, cmd(i))
		lat = append(lat, time.Since(start))
		if err != nil || !check(r) {
			b.Fatalf("%s: %+v %v", cmd(i), r, err)
		}
	}
	b.StopTimer()
	return lat
}

// BenchmarkSSHLsvdiskFilter10k: goal p99 < 20 ms with 10 000 vdisks.
func BenchmarkSSHLsvdiskFilter10k(b *testing.B) {
	c := benchDial(b, bigArray(b))
	timeCommands(b, c, func(i int) string {
		return "mcsinq lsvdisk -bytes -delim ! -filtervalue volume_name=" + benchName(rand.IntN(benchVDisks))
	}, func(r result) bool {
		return r.Status == 0 && strings.Count(r.Stdout, "\n") == 2
	}).report(b)
}

// BenchmarkSSHLsvdiskAll10k is ListVolumes' unfiltered listing of all
// 10 000 vdisks (about 1.5 MB of output per command).
func BenchmarkSSHLsvdiskAll10k(b *testing.B) {
	c := benchDial(b, bigArray(b))
	timeN(b, max(b.N, 50), c, func(int) string { return "mcsinq lsvdisk -bytes -delim !" }, func(r result) bool {
		return r.Status == 0 && strings.Count(r.Stdout, "\n") >= benchVDisks+1
	}).report(b)
}

// BenchmarkSSHMkvdisk10k creates vdisks on the 10 000-vdisk array (every
// create is journalled and fsynced before the answer).
func BenchmarkSSHMkvdisk10k(b *testing.B) {
	c := benchDial(b, bigArray(b))
	prefix := "mk-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-"
	timeCommands(b, c, func(i int) string {
		return "mcsop mkvdisk -name " + prefix + strconv.Itoa(i) + " -size 1 -unit gb -mdiskgrp Pool1 -rsize 0% -autoexpand"
	}, func(r result) bool {
		return r.Status == 0 && vdiskCreated.MatchString(r.Stdout)
	}).report(b)
}

// BenchmarkSSHLssystemBaseline is the cheapest command on an empty array:
// the SSH session cost the other numbers include.
func BenchmarkSSHLssystemBaseline(b *testing.B) {
	e, err := launch(b.TempDir(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer e.kill()
	c := benchDial(b, e)
	timeCommands(b, c, func(int) string { return "mcsinq lssystem -delim !" },
		func(r result) bool { return r.Status == 0 }).report(b)
}

// BenchmarkSSH64Concurrent runs lsvdisk filters from 64 connections at once.
func BenchmarkSSH64Concurrent(b *testing.B) {
	e := bigArray(b)
	const workers = 64
	clients := make([]*gossh.Client, workers)
	for i := range clients {
		clients[i] = benchDial(b, e)
	}
	per := max(b.N, minSamples) / workers * 4
	all := make([]latencies, workers)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	b.ResetTimer()
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				cmd := "mcsinq lsvdisk -bytes -delim ! -filtervalue volume_name=" + benchName(rand.IntN(benchVDisks))
				t0 := time.Now()
				r, err := tryRun(clients[w], cmd)
				all[w] = append(all[w], time.Since(t0))
				if err != nil || r.Status != 0 {
					errs <- fmt.Errorf("%s: %+v %v", cmd, r, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	var lat latencies
	for _, l := range all {
		lat = append(lat, l...)
	}
	lat.report(b)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "cmds/s")
}

// BenchmarkRSS10kVdisks reports the resident memory of the real process
// serving 10 000 vdisks after full listings (goal < 200 MB), next to an
// empty array's.
func BenchmarkRSS10kVdisks(b *testing.B) {
	e := bigArray(b)
	c := benchDial(b, e)
	for range 3 {
		r, err := tryRun(c, "mcsinq lsvdisk -bytes -delim !")
		if err != nil || r.Status != 0 || strings.Count(r.Stdout, "\n") < benchVDisks+1 {
			b.Fatalf("full lsvdisk: %v, %d lines", err, strings.Count(r.Stdout, "\n"))
		}
	}
	empty, err := launch(b.TempDir(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer empty.kill()
	mustOK(b, benchDial(b, empty), "mcsinq lsvdisk -bytes -delim !")
	b.ReportMetric(rssMB(b, e.cmd.Process.Pid), "rss-MB")
	b.ReportMetric(rssMB(b, empty.cmd.Process.Pid), "empty-rss-MB")
}

// rssMB reads VmRSS of pid from /proc.
func rssMB(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	b.Fatal("no VmRSS in /proc status")
	return 0
}
