package scsi_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host/scsi"
)

// InUse on a real block device (a loop device; needs root): free, then
// mounted — what a single-path volume staged without multipath looks like,
// with no holders in sysfs — then free again.
func TestInUse_RealBlockDevice_MountedIsInUse(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a loop device")
	}
	for _, bin := range []string{"losetup", "mkfs.ext4"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed", bin)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 16<<20); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, "losetup", "--find", "--show", img).Output()
	if err != nil {
		t.Skipf("no loop device: %v", err)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("losetup", "-d", dev).Run() })
	if out, err := exec.CommandContext(ctx, "mkfs.ext4", "-q", dev).CombinedOutput(); err != nil {
		t.Fatalf("mkfs: %v %s", err, out)
	}
	sys := scsi.Default()
	name := filepath.Base(dev)
	if h, err := sys.InUse(name); err != nil || h != "" {
		t.Fatalf("free %s: InUse = %q, %v", dev, h, err)
	}
	mnt := t.TempDir()
	if err := unix.Mount(dev, mnt, "ext4", 0, ""); err != nil {
		t.Skipf("mount: %v", err)
	}
	h, err := sys.InUse(name)
	_ = unix.Unmount(mnt, 0)
	if err != nil || h == "" {
		t.Fatalf("mounted %s: InUse = %q, %v; want it reported in use", dev, h, err)
	}
	if h, err := sys.InUse(name); err != nil || h != "" {
		t.Fatalf("unmounted %s: InUse = %q, %v", dev, h, err)
	}
}
