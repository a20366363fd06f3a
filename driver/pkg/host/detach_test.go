package host_test

import (
	"context"
	"errors"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/hosttest"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/scsi"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host"
)

func indexOf(calls []string, prefix string) int {
	for i, c := range calls {
		if strings.HasPrefix(c, prefix) {
			return i
		}
	}
	return -1
}

func TestDetach_FlushThenMultipathFlushThenDeletePathsThenLogout(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	f.K.AutoMultipath = true
	v := f.ISCSIVolume(hosttest.UIDA, 5, hosttest.P1, hosttest.P2)
	a, err := f.C.Attach(context.Background(), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.C.Detach(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	calls := f.X.Calls()
	flush := indexOf(calls, "blockdev --flushbufs "+f.K.Sys.Dev(a.Multipath))
	mpf := indexOf(calls, "multipath -f 3"+hosttest.UIDA)
	logout := indexOf(calls, "iscsiadm -m node -p "+hosttest.P1+" -T "+hosttest.IQN1+" --logout")
	if flush < 0 || mpf < flush || logout < mpf {
		t.Fatalf("order flush=%d multipath-f=%d logout=%d:\n%s", flush, mpf, logout, strings.Join(calls, "\n"))
	}
	// Path deletes happened between multipath -f and logout.
	if d := f.K.Writes; len(d) == 0 || !strings.Contains(strings.Join(d, " "), "device/delete=1") {
		t.Fatalf("no path delete: %v", d)
	}
	if len(f.K.Disks()) != 0 || len(f.K.Maps()) != 0 || len(f.K.Sessions()) != 0 {
		t.Fatalf("left behind disks=%v maps=%v sessions=%v", f.K.Disks(), f.K.Maps(), f.K.Sessions())
	}
	if indexOf(calls, "iscsiadm -m node -p "+hosttest.P2+" -T "+hosttest.IQN2+" -o delete") < 0 {
		t.Fatalf("node record not deleted:\n%s", strings.Join(calls, "\n"))
	}
}

func TestDetach_MultipathFlushFails_PathsAndSessionsKept(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	f.K.AutoMultipath = true
	v := f.ISCSIVolume(hosttest.UIDA, 5, hosttest.P1, hosttest.P2)
	if _, err := f.C.Attach(context.Background(), v, nil); err != nil {
		t.Fatal(err)
	}
	f.FlushFails = true
	err := f.C.Detach(context.Background(), v)
	if !errors.Is(err, host.ErrBusy) {
		t.Fatalf("want ErrBusy, got %v", err)
	}
	if n := len(f.X.CallsOf("multipath -f")); n != 3 {
		t.Fatalf("multipath -f tried %d times, want multipathSearchRetryTimes=3", n)
	}
	if len(f.K.Disks()) != 2 || len(f.K.Sessions()) != 2 {
		t.Fatalf("paths deleted or sessions dropped before the map was flushed: disks=%v sessions=%v", f.K.Disks(), f.K.Sessions())
	}
	// Once the holder is gone, a retry completes.
	f.FlushFails = false
	if err := f.C.Detach(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	if len(f.K.Disks()) != 0 {
		t.Fatalf("disks left: %v", f.K.Disks())
	}
}

func TestDetach_LogoutOnlyWhenNoLUNOfTheTargetRemains(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	va := f.ISCSIVolume(hosttest.UIDA, 0, hosttest.P1)
	vb := f.ISCSIVolume(hosttest.UIDB, 1, hosttest.P1)
	for _, v := range []host.Volume{va, vb} {
		if _, err := f.C.Attach(context.Background(), v, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.C.Detach(context.Background(), va); err != nil {
		t.Fatal(err)
	}
	if len(f.X.CallsOf("iscsiadm -m node -p "+hosttest.P1+" -T "+hosttest.IQN1+" --logout")) != 0 {
		t.Fatal("logged out while volume B's LUN is still on the session")
	}
	if d := f.K.Disks(); len(d) != 1 {
		t.Fatalf("disks = %v, want B's only", d)
	}
	if w, _ := f.K.Sys.WWID(f.K.Disks()[0]); w != hosttest.UIDB {
		t.Fatalf("detach of A removed B's device (left %s)", w)
	}
	if err := f.C.Detach(context.Background(), vb); err != nil {
		t.Fatal(err)
	}
	if len(f.K.Sessions()) != 0 {
		t.Fatalf("sessions left after the last LUN: %v", f.K.Sessions())
	}
}

func TestDetach_EverythingAlreadyGone_Succeeds(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	v := f.ISCSIVolume(hosttest.UIDA, 0, hosttest.P1)
	if err := f.C.Detach(context.Background(), v); err != nil {
		t.Fatalf("detach of a never-attached volume: %v", err)
	}
	if _, err := f.C.Attach(context.Background(), v, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.C.Detach(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	if err := f.C.Detach(context.Background(), v); err != nil {
		t.Fatalf("second detach: %v", err)
	}
}

// TestDetach_AfterDeviceRenamed finds paths by WWID, not by remembered names.
func TestDetach_AfterDeviceRenamed(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	v := f.ISCSIVolume(hosttest.UIDA, 0, hosttest.P1)
	a, err := f.C.Attach(context.Background(), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Simulate a reboot: the path comes back under another name.
	f.K.RemoveDisk(a.Paths[0])
	f.K.HideLUN(2, 0)
	if err := f.C.Sys.Scan(2, -1, -1, 0); err != nil {
		t.Fatal(err)
	}
	f.K.ExposeLUN(2, 0, hosttest.UIDA)
	if err := f.C.Sys.Scan(2, -1, -1, 0); err != nil {
		t.Fatal(err)
	}
	if d := f.K.Disks(); len(d) != 1 || d[0] == a.Paths[0] {
		t.Fatalf("setup: disks %v", d)
	}
	if err := f.C.Detach(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	if len(f.K.Disks()) != 0 || len(f.K.Sessions()) != 0 {
		t.Fatalf("left disks=%v sessions=%v", f.K.Disks(), f.K.Sessions())
	}
}

func TestResize_RescansEveryPathThenResizesMap(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	f.K.AutoMultipath = true
	v := f.ISCSIVolume(hosttest.UIDA, 5, hosttest.P1, hosttest.P2)
	if _, err := f.C.Attach(context.Background(), v, nil); err != nil {
		t.Fatal(err)
	}
	a, err := f.C.Resize(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	rescans := 0
	for _, w := range f.K.Writes {
		if strings.HasSuffix(w, "device/rescan=1") {
			rescans++
		}
	}
	if rescans != 2 || a.Multipath == "" {
		t.Fatalf("rescans=%d attachment=%+v", rescans, a)
	}
	if len(f.X.CallsOf("multipathd resize map 3"+hosttest.UIDA)) != 1 {
		t.Fatalf("no multipathd resize: %v", f.X.Calls())
	}
	f.Multipathd = false
	if _, err := f.C.Resize(context.Background(), v); !errors.Is(err, host.ErrMultipath) {
		t.Fatalf("resize with multipathd down: want ErrMultipath, got %v", err)
	}
}

func TestDetach_ControllerLUNDoesNotKeepTheSessionLoggedIn(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	v := f.ISCSIVolume(hosttest.UIDA, 1, hosttest.P1)
	if _, err := f.C.Attach(context.Background(), v, nil); err != nil {
		t.Fatal(err)
	}
	// A non-disk device (type 12, storage array controller) at LUN 0.
	ctl := f.K.AddDisk(scsi.HCTL{Host: 2, LUN: 0}, "ffffffffffffffffffffffffffffffff")
	dev, _ := filepath.EvalSymlinks(f.K.Sys.Sys("block", ctl, "device"))
	if err := os.WriteFile(filepath.Join(dev, "type"), []byte("12\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.C.Detach(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	if len(f.K.Sessions()) != 0 {
		t.Fatal("a controller LUN kept the session logged in")
	}
}
