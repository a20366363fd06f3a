package hostexec_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mount "k8s.io/mount-utils"
	utilsexec "k8s.io/utils/exec"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host/hostexec"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/hostexec/hostexectest"
)

// fakeBin puts an executable script named name first on PATH.
func fakeBin(t *testing.T, name, script string) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
}

// A mount(8) or umount(8) that never returns (a LU that stopped answering)
// must not hang the RPC: the host command timeout kills it.
func TestMounter_HungMountAndUmountAreKilledByTheTimeout(t *testing.T) {
	fakeBin(t, "mount", "exec sleep 30")
	fakeBin(t, "umount", "exec sleep 30")
	m := hostexec.NewMounter(mount.NewFakeMounter(nil), hostexec.WithTimeout(utilsexec.New(), 300*time.Millisecond))
	for name, call := range map[string]func() error{
		"mount":  func() error { return m.Mount("/dev/sdz", "/mnt/x", "ext4", nil) },
		"umount": func() error { return m.Unmount("/mnt/x") },
	} {
		start := time.Now()
		err := call()
		if err == nil {
			t.Fatalf("%s: a hung command succeeded", name)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("%s: not bounded, took %v", name, d)
		}
		if !strings.Contains(err.Error(), "killed") {
			t.Errorf("%s: error does not say the command was killed: %v", name, err)
		}
	}
}

func TestMounter_ArgumentsAsMountUtilsBuildsThem(t *testing.T) {
	f := hostexectest.New()
	f.Handle("mount", hostexectest.OK(""))
	f.Handle("umount", hostexectest.Fail("umount: /mnt/gone: not mounted.", 32))
	m := hostexec.NewMounter(mount.NewFakeMounter(nil), f)
	if err := m.Mount("/dev/dm-3", "/stage", "ext4", []string{"noatime", "ro"}); err != nil {
		t.Fatal(err)
	}
	// A read-only bind: bind first, then a remount carrying ro and the source's own flags.
	src := t.TempDir()
	if err := m.Mount(src, "/target", "", []string{"bind", "ro"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Unmount("/mnt/gone"); err != nil {
		t.Fatalf("unmount of a path that is not mounted: %v", err)
	}
	got := f.Calls()
	want := []string{
		"mount -t ext4 -o noatime,ro /dev/dm-3 /stage",
		"mount -o bind " + src + " /target",
		"mount -o bind,remount,ro",
		"umount /mnt/gone",
	}
	if len(got) != len(want) {
		t.Fatalf("calls:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("call %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
}
