package e2etest

import (
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// TestKill9DuringConcurrentCreates: the process is killed while 8 clients
// create vdisks. After restart every acknowledged vdisk exists, nothing
// exists that no client asked for, and the array accepts new work.
func TestKill9DuringConcurrentCreates(t *testing.T) {
	dir := t.TempDir()
	e := startEmu(t, dir)
	var mu sync.Mutex
	acked := map[string]bool{}
	sent := map[string]bool{}
	var wg sync.WaitGroup
	for w := range 8 {
		c, err := e.tryDial(testUser, gossh.Password(testPassword))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			for i := 0; ; i++ {
				name := "crash-" + itoa(w) + "-" + itoa(i)
				mu.Lock()
				sent[name] = true
				mu.Unlock()
				r, err := tryRun(c, "mcsop mkvdisk -name "+name+" -size 1 -unit gb -mdiskgrp Pool0 -rsize 2% -autoexpand")
				if err != nil {
					return // the process died under us
				}
				if r.Status != 0 || !vdiskCreated.MatchString(r.Stdout) {
					t.Errorf("%s: %+v", name, r)
					return
				}
				mu.Lock()
				acked[name] = true
				mu.Unlock()
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	e.kill9()
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no create was acknowledged before the kill")
	}

	e2 := startEmu(t, dir)
	c := e2.dial()
	present := map[string]bool{}
	for _, r := range rows(t, mustOK(t, c, "mcsinq lsvdisk -bytes -delim !")) {
		present[r["name"]] = true
		if !sent[r["name"]] {
			t.Errorf("vdisk %q exists but no client created it", r["name"])
		}
		if r["status"] != "online" || r["capacity"] != "1073741824" {
			t.Errorf("vdisk after recovery: %+v", r)
		}
	}
	for name := range acked {
		if !present[name] {
			t.Errorf("acknowledged vdisk %s lost by kill -9", name)
		}
	}
	t.Logf("%d acknowledged, %d present after kill -9", len(acked), len(present))
	mustOK(t, c, "mcsop mkvdisk -name after-crash -size 1 -unit gb -mdiskgrp Pool0")
	if strings.Contains(e2.log(), "panic") {
		t.Fatalf("panic in the restarted emulator:\n%s", e2.log())
	}
}
