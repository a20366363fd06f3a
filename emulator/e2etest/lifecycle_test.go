package e2etest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/instorage-csi/instorage-csi/emulator/fault"
)

const mkvdiskG = "mcsop mkvdisk -name %s -size 1 -unit gb -mdiskgrp Pool0"

func TestAuthOverRealBinary(t *testing.T) {
	e := startEmu(t, t.TempDir())
	if _, err := e.tryDial(testUser, gossh.Password("wrong")); err == nil {
		t.Fatal("wrong password accepted")
	}
	if _, err := e.tryDial("admin", gossh.Password("admin")); err == nil {
		t.Fatal("demo account active although --user was given")
	}
	c := e.dial()
	if out := mustOK(t, c, "mcsinq lssystem -delim !"); !strings.Contains(out, "name!") {
		t.Fatalf("lssystem: %q", out)
	}
}

func TestRestartKeepsHostKeyAndState(t *testing.T) {
	dir := t.TempDir()
	e := startEmu(t, dir)
	c := e.dial()
	id := createdID(t, mustOK(t, c, "mcsop mkvdisk -name keep-me -size 1 -unit gb -mdiskgrp Pool0"))
	fp := e.Fingerprint
	c.Close()
	e.stop()

	e2 := startEmu(t, dir)
	if e2.Fingerprint != fp {
		t.Fatalf("host key changed across restart: %s → %s", fp, e2.Fingerprint)
	}
	rs := rows(t, mustOK(t, e2.dial(), "mcsinq lsvdisk -bytes -delim ! -filtervalue name=keep-me"))
	if len(rs) != 1 || rs[0]["id"] != itoa(id) || rs[0]["capacity"] != "1073741824" {
		t.Fatalf("after restart: %+v", rs)
	}
}

func TestKill9ThenRestartKeepsAcknowledgedState(t *testing.T) {
	dir := t.TempDir()
	e := startEmu(t, dir)
	c := e.dial()
	var names []string
	for i := range 20 {
		n := "k9-" + itoa(i)
		mustOK(t, c, "mcsop mkvdisk -name "+n+" -size 1 -unit gb -mdiskgrp Pool0")
		names = append(names, n)
	}
	mustOK(t, c, "mcsop rmvdisk -force k9-3")
	e.kill9()

	e2 := startEmu(t, dir)
	c2 := e2.dial()
	rs := rows(t, mustOK(t, c2, "mcsinq lsvdisk -bytes -delim !"))
	got := map[string]bool{}
	for _, r := range rs {
		got[r["name"]] = true
	}
	for _, n := range names {
		if want := n != "k9-3"; got[n] != want {
			t.Errorf("vdisk %s present=%v after kill -9, want %v", n, got[n], want)
		}
	}
	// The array keeps working after recovery.
	mustOK(t, c2, "mcsop mkvdisk -name after-crash -size 1 -unit gb -mdiskgrp Pool0")
}

func TestFingerprintCommandMatchesServer(t *testing.T) {
	dir := t.TempDir()
	e := startEmu(t, dir)
	out, err := runBinary("fingerprint", "--state-dir", dir)
	if err != nil || strings.TrimSpace(out) != e.Fingerprint {
		t.Fatalf("fingerprint %q (%v), server says %s", out, err, e.Fingerprint)
	}
	kh, err := os.ReadFile(filepath.Join(dir, "known_hosts"))
	if err != nil || !strings.HasPrefix(string(kh), "[127.0.0.1]:") || !strings.Contains(string(kh), "ssh-ed25519 ") {
		t.Fatalf("known_hosts %q %v", kh, err)
	}
}

func TestServeRefusesDemoAccountOffLoopback(t *testing.T) {
	out, err := runBinary("serve", "--state-dir", t.TempDir(), "--ssh-addr", "0.0.0.0:0", "--control-addr", "off", "--iscsi=false")
	if err == nil || !strings.Contains(out, "no CLI account configured") {
		t.Fatalf("want refusal, got %v: %s", err, out)
	}
}

func TestArrayLimitsRefuseExcessConnections(t *testing.T) {
	e := startEmu(t, t.TempDir(), "--array-limits")
	var wg sync.WaitGroup
	var mu sync.Mutex
	start := make(chan struct{})
	accepted := 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c, err := e.tryDial(testUser, gossh.Password(testPassword))
			if err == nil {
				c.Close()
				mu.Lock()
				accepted++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	// Burst 3 at 3/s: 3 pass (one more if a token refills meanwhile).
	if accepted < 3 || accepted > 5 {
		t.Fatalf("accepted %d of 10 simultaneous connections with --array-limits, want 3-5", accepted)
	}
}

// TestSIGTERMFinishesCommandInFlight: a command that is running when
// SIGTERM arrives still gets its answer, and the process exits 0 promptly.
func TestSIGTERMFinishesCommandInFlight(t *testing.T) {
	e := startEmu(t, t.TempDir())
	c := e.dial()
	if _, err := e.control().AddFault(context.Background(), fault.Rule{Command: "mkvdisk",
		Latency: &fault.Latency{Fixed: fault.Duration(time.Second)}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan result, 1)
	go func() {
		r, err := tryRun(c, "mcsop mkvdisk -name inflight -size 1 -unit gb -mdiskgrp Pool0")
		if err != nil {
			r.Stderr = err.Error()
			r.Status = -1
		}
		done <- r
	}()
	time.Sleep(300 * time.Millisecond) // inside the injected second
	start := time.Now()
	e.stop()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("exit took %v after SIGTERM", d)
	}
	if r := <-done; r.Status != 0 || !vdiskCreated.MatchString(r.Stdout) {
		t.Fatalf("in-flight mkvdisk: %+v", r)
	}
}

// TestConcurrentSessionsRealBinary: 64 connections run commands at once.
func TestConcurrentSessionsRealBinary(t *testing.T) {
	e := startEmu(t, t.TempDir())
	errs := make(chan error, 64)
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := e.tryDial(testUser, gossh.Password(testPassword))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			r, err := tryRun(c, "mcsop mkvdisk -name conc-"+itoa(i)+" -size 1 -unit gb -mdiskgrp Pool0")
			if err != nil || r.Status != 0 {
				errs <- fmt.Errorf("session %d: %+v %v", i, r, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(rows(t, mustOK(t, e.dial(), "mcsinq lsvdisk -bytes -delim !"))); n != 64 {
		t.Fatalf("%d vdisks after 64 concurrent creates", n)
	}
}

// TestSecondEmulatorOnSameStateDirRefused: two processes must never share
// one journal.
func TestSecondEmulatorOnSameStateDirRefused(t *testing.T) {
	dir := t.TempDir()
	startEmu(t, dir)
	out, err := runBinary("serve", "--state-dir", dir, "--ssh-addr", "127.0.0.1:0", "--control-addr", "off", "--iscsi=false")
	if err == nil || !strings.Contains(out, "in use by another mcs-emulator") {
		t.Fatalf("second emulator on the same state dir: %v\n%s", err, out)
	}
}
