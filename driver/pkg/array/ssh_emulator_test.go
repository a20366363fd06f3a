package array_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
	"github.com/instorage-csi/instorage-csi/emulator/cli"
	"github.com/instorage-csi/instorage-csi/emulator/fault"
	"github.com/instorage-csi/instorage-csi/emulator/model"
	"github.com/instorage-csi/instorage-csi/emulator/sshd"
)

// startEmulatorSSHD serves the emulator CLI over the emulator's own SSH
// server on loopback, with the array's connection limits switched on.
func startEmulatorSSHD(t *testing.T) (addr string, hostKey gossh.PublicKey) {
	addr, hostKey, _ = startFaultyEmulatorSSHD(t)
	return addr, hostKey
}

var arrayLimits = sshd.Limits{ConnectionsPerSecond: 3, ConnectionBurst: 3}

// startFaultyEmulatorSSHD is startEmulatorSSHD with the emulator's fault
// injector between SSH and the CLI.
func startFaultyEmulatorSSHD(t *testing.T) (addr string, hostKey gossh.PublicKey, faults *fault.Injector) {
	return startEmulatorSSHDWith(t, arrayLimits)
}

func startEmulatorSSHDWith(t *testing.T, limits sshd.Limits) (addr string, hostKey gossh.PublicKey, faults *fault.Injector) {
	t.Helper()
	m, err := model.Open(t.TempDir(), model.DefaultTopology())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	key, err := sshd.LoadOrCreateHostKey(filepath.Join(t.TempDir(), "host_key"))
	if err != nil {
		t.Fatal(err)
	}
	creds := sshd.NewCredentials()
	if err := creds.AddPassword("superuser", "passw0rd"); err != nil {
		t.Fatal(err)
	}
	faults = fault.NewInjector()
	srv, err := sshd.New(sshd.Config{Runner: faults.Wrap(cli.New(m)), Credentials: creds, HostKey: key,
		Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	a, done, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return a.String(), key.PublicKey(), faults
}

// The production path end to end: config.Storage → array.Connect → SSH
// pool → emulator sshd → CLI → model, with host-key checking on.
func TestSSHEmulator_ConnectFromConfig(t *testing.T) {
	addr, hostKey := startEmulatorSSHD(t)
	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, hostKey)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := fmt.Sprintf("storage:\n- name: emu\n  type: AS18000\n  host: %s\n  username: superuser\n  password: passw0rd\n  knownHostsFile: %s\n", addr, kh)
	cfgPath := filepath.Join(dir, "instorage.yaml")
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	metrics, err := array.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := array.Connect(cfg.StorageByName("emu"), metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	// 24 concurrent creates through the pool: all succeed, ≤ 4 connections.
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := c.MkVDisk(ctx, array.MkVDiskArgs{Name: fmt.Sprintf("pvc-%02d", i), SizeBytes: 1 << 30, Pool: "Pool0"})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	vds, err := c.LsVDisks(ctx, nil)
	if err != nil || len(vds) != 24 {
		t.Fatalf("lsvdisk: %d rows, %v", len(vds), err)
	}
	if _, err := c.LsVDisk(ctx, "nope"); !array.IsNotFound(err) {
		t.Errorf("not found over SSH: %v", err)
	}

	if n := gaugeValue(t, reg, "instorage_ssh_connections"); n < 1 || n > 4 {
		t.Errorf("open connections gauge = %v, want 1..4", n)
	}
	if n := gaugeValue(t, reg, "instorage_ssh_sessions_in_use"); n != 0 {
		t.Errorf("sessions in use after all commands = %v", n)
	}
	if got := histCount(t, reg, "mkvdisk", "ok"); got != 24 {
		t.Errorf("mkvdisk ok count = %d", got)
	}
	if got := histCount(t, reg, "lsvdisk", "cli_error"); got != 1 {
		t.Errorf("lsvdisk cli_error count = %d", got)
	}
	if got := counterValue(t, reg, "instorage_array_command_errors_total", map[string]string{"command": "lsvdisk", "code": "CMMVC5754E"}); got != 1 {
		t.Errorf("errors_total{lsvdisk,CMMVC5754E} = %v", got)
	}

	// A wrong host key in the same config is refused before any command.
	bad := *cfg.StorageByName("emu")
	bad.KnownHostsFile = ""
	bad.HostKeyFingerprint = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
	bc, err := array.Connect(&bad, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	// The array may first refuse the connection under its 3/s limit
	// (the pool above just used the burst); retry until the handshake runs.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := bc.LsSystem(ctx)
		if !array.IsTransport(err) {
			t.Fatalf("wrong pinned key: %v", err)
		}
		if strings.Contains(err.Error(), "host key verification failed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never reached the host key check: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) == 1 {
			return mf.Metric[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

func histCount(t *testing.T, reg *prometheus.Registry, command, result string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "instorage_array_command_duration_seconds" {
			continue
		}
		for _, m := range mf.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["command"] == command && labels["result"] == result {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// What callers can rely on when the connection fails around a command
// (mcs-cli.md §1.3 ambiguity): queries are retried, operations report
// ErrTransport and the caller must re-read the array.
func TestSSHEmulator_ConnectionFaults(t *testing.T) {
	addr, hostKey, faults := startFaultyEmulatorSSHD(t)
	c, err := array.Connect(&config.Storage{Name: "emu", Host: addr, Username: "superuser", Password: "passw0rd",
		HostKeyFingerprint: gossh.FingerprintSHA256(hostKey)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	add := func(r fault.Rule) {
		if _, err := faults.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	// Stay under the emulator's 3 connections/s: each drop costs a redial.
	retry := func(f func() error) error {
		deadline := time.Now().Add(5 * time.Second)
		for {
			err := f()
			if err == nil || !strings.Contains(err.Error(), "connection reset") || time.Now().After(deadline) {
				return err
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	add(fault.Rule{Command: "lsvdisk", Drop: true, When: fault.Before, Times: 1})
	if err := retry(func() error { _, err := c.LsVDisks(ctx, nil); return err }); err != nil {
		t.Fatalf("query after one dropped connection: %v", err)
	}

	add(fault.Rule{Command: "mkvdisk", Drop: true, When: fault.After, Times: 1})
	_, err = c.MkVDisk(ctx, array.MkVDiskArgs{Name: "pvc-after", SizeBytes: 1 << 30, Pool: "Pool0"})
	if !array.IsTransport(err) {
		t.Fatalf("mkvdisk dropped after it ran: %v", err)
	}
	if err := retry(func() error { _, err := c.LsVDisk(ctx, "pvc-after"); return err }); err != nil {
		t.Errorf("the vdisk exists although the client saw a transport error: %v", err)
	}

	add(fault.Rule{Command: "mkvdisk", Drop: true, When: fault.Before, Times: 1})
	_, err = c.MkVDisk(ctx, array.MkVDiskArgs{Name: "pvc-before", SizeBytes: 1 << 30, Pool: "Pool0"})
	if !array.IsTransport(err) {
		t.Fatalf("mkvdisk dropped before it ran: %v", err)
	}
	if err := retry(func() error { _, err := c.LsVDisk(ctx, "pvc-before"); return err }); !array.IsNotFound(err) {
		t.Errorf("the vdisk must not exist: %v", err)
	}

	add(fault.Rule{Command: "lssystem", Latency: &fault.Latency{Fixed: fault.Duration(3 * time.Second)}, Times: 1})
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.LsSystem(tctx); !array.IsTransport(err) || time.Since(start) > 2*time.Second {
		t.Errorf("slow lssystem: %v after %v", err, time.Since(start))
	}
	if sys, err := c.LsSystem(ctx); err != nil || sys.Name != "mcs-emu" {
		t.Errorf("after a timeout: %+v %v", sys, err)
	}
}
