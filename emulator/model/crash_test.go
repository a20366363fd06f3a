package model

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCrash_Kill9 runs a child process that creates, maps and deletes
// vdisks as fast as it can, kills it with SIGKILL at several instants, and
// checks that every change the child saw acknowledged survived and the
// state loads consistently.
func TestCrash_Kill9(t *testing.T) {
	if dir := os.Getenv("MODEL_CRASH_CHILD"); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	acked := map[string]bool{}
	deleted := map[string]bool{}
	for round, wait := range []time.Duration{30, 70, 150, 5, 300} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrash_Kill9$", "-test.v=false")
		cmd.Env = append(os.Environ(), "MODEL_CRASH_CHILD="+dir, fmt.Sprintf("MODEL_CRASH_ROUND=%d", round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1<<16)
		first := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(out)
			once := false
			for sc.Scan() {
				if !once {
					once = true
					close(first)
				}
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Kill at an instant after the child is demonstrably working.
		select {
		case <-first:
		case <-time.After(60 * time.Second):
			t.Fatal("child never started working")
		}
		time.Sleep(wait * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		for l := range lines {
			if name, ok := strings.CutPrefix(l, "made "); ok {
				acked[name] = true
			}
			if name, ok := strings.CutPrefix(l, "gone "); ok {
				deleted[name] = true
			}
		}
		cmd.Wait()
		a, err := Open(dir, DefaultTopology())
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		for name := range acked {
			_, err := a.VDisk(name)
			if deleted[name] && err == nil {
				t.Fatalf("round %d: acknowledged delete of %s lost", round, name)
			}
			// Every third vdisk is deleted right after; its delete may be
			// durable before the child could acknowledge it.
			var i int
			fmt.Sscanf(name[strings.Index(name, "-v")+2:], "%d", &i)
			if i%3 != 0 && err != nil {
				t.Fatalf("round %d: acknowledged vdisk %s lost", round, name)
			}
		}
		// Mappings refer to live vdisks and hosts only.
		for _, m := range a.st.HostMaps {
			if a.st.VDisks[m.VDiskID] == nil || a.st.Hosts[m.HostID] == nil {
				t.Fatalf("round %d: dangling mapping %+v", round, m)
			}
		}
		a.Close()
	}
	if len(acked) == 0 {
		t.Fatal("child acknowledged nothing; the test proved nothing")
	}
}

func crashChild(dir string) {
	a, err := OpenWithOptions(dir, DefaultTopology(), Options{CompactEvery: 16})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	round := os.Getenv("MODEL_CRASH_ROUND")
	host := "h" + round
	if _, err := a.MkHost(MkHostReq{Name: host, IQNs: []string{"iqn.2000-01.a:" + host}}); err != nil {
		os.Exit(2)
	}
	for i := 0; ; i++ {
		name := fmt.Sprintf("r%s-v%d", round, i)
		if _, err := a.MkVDisk(MkVDiskReq{Name: name, SizeBytes: 1 << 20, Pools: []string{"Pool0"}}); err != nil {
			os.Exit(2)
		}
		fmt.Println("made " + name)
		if _, err := a.MkVDiskHostMap(host, name, -1, true); err != nil {
			os.Exit(2)
		}
		if i%3 == 0 {
			if err := a.RmVDisk(name, true); err != nil {
				os.Exit(2)
			}
			fmt.Println("gone " + name)
		}
	}
}
