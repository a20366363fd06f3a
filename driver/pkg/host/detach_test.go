package host_test

import (
	"context"
	"errors"
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
	f := newFakeHost(t, fastSettings())
	f.k.AutoMultipath = true
	v := f.iscsiVolume(uidA, 5, p1, p2)
	a, err := f.c.Attach(context.Background(), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.c.Detach(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	calls := f.x.Calls()
	flush := indexOf(calls, "blockdev --flushbufs "+f.k.Sys.Dev(a.Multipath))
	mpf := indexOf(calls, "multipath -f 3"+uidA)
	logout := indexOf(calls, "iscsiadm -m node -p "+p1+" -T "+iqn1+" --logout")
	if flush < 0 || mpf < flush || logout < mpf {
		t.Fatalf("order flush=%d multipath-f=%d logout=%d:\n%s", flush, mpf, logout, strings.Join(calls, "\n"))
	}
	// Path deletes happened between multipath -f and logout.
	if d := f.k.Writes; len(d) == 0 || !strings.Contains(strings.Join(d, " "), "device/delete=1") {
		t.Fatalf("no path delete: %v", d)
	}
	if len(f.k.Disks()) != 0 || len(f.k.Maps()) != 0 || len(f.k.Sessions()) != 0 {
		t.Fatalf("left behind disks=%v maps=%v sessions=%v", f.k.Disks(), f.k.Maps(), f.k.Sessions())
	}
	if indexOf(calls, "iscsiadm -m node -p "+p2+" -T "+iqn2+" -o delete") < 0 {
		t.Fatalf("node record not deleted:\n%s", strings.Join(calls, "\n"))
	}
}

func TestDetach_MultipathFlushFails_PathsAndSessionsKept(t *testing.T) {
	f := newFakeHost(t, fastSettings())
	f.k.AutoMultipath = true
	v := f.iscsiVolume(uidA, 5, p1, p2)
	if _, err := f.c.Attach(context.Background(), v, nil); err != nil {
		t.Fatal(err)
	}
	f.flushFails = true
	err := f.c.Detach(context.Background(), v)
	if !errors.Is(err, host.ErrBusy) {
		t.Fatalf("want ErrBusy, got %v", err)
	}
	if n := len(f.x.CallsOf("multipath -f")); n != 3 {
		t.Fatalf("multipath -f tried %d times, want multipathSearchRetryTimes=3", n)
	}
	if len(f.k.Disks()) != 2 || len(f.k.Sessions()) != 2 {
		t.Fatalf("paths deleted or sessions dropped before the map was flushed: disks=%v sessions=%v", f.k.Disks(), f.k.Sessions())
	}
	// Once the holder is gone, a retry completes.
	f.flushFails = false
	if err := f.c.Detach(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	if len(f.k.Disks()) != 0 {
		t.Fatalf("disks left: %v", f.k.Disks())
	}
}

func TestDetach_LogoutOnlyWhenNoLUNOfTheTargetRemains(t *testing.T) {
	f := newFakeHost(t, fastSettings())
	va := f.iscsiVolume(uidA, 0, p1)
	vb := f.iscsiVolume(uidB, 1, p1)
	for _, v := range []host.Volume{va, vb} {
		if _, err := f.c.Attach(context.Background(), v, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.c.Detach(context.Background(), va); err != nil {
		t.Fatal(err)
	}
	if len(f.x.CallsOf("iscsiadm -m node -p "+p1+" -T "+iqn1+" --logout")) != 0 {
		t.Fatal("logged out while volume B's LUN is still on the session")
	}
	if d := f.k.Disks(); len(d) != 1 {
		t.Fatalf("disks = %v, want B's only", d)
	}
	if w, _ := f.k.Sys.WWID(f.k.Disks()[0]); w != uidB {
		t.Fatalf("detach of A removed B's device (left %s)", w)
	}
	if err := f.c.Detach(context.Background(), vb); err != nil {
		t.Fatal(err)
	}
	if len(f.k.Sessions()) != 0 {
		t.Fatalf("sessions left after the last LUN: %v", f.k.Sessions())
	}
}

func TestDetach_EverythingAlreadyGone_Succeeds(t *testing.T) {
	f := newFakeHost(t, fastSettings())
	v := f.iscsiVolume(uidA, 0, p1)
	if err := f.c.Detach(context.Background(), v); err != nil {
		t.Fatalf("detach of a never-attached volume: %v", err)
	}
	if _, err := f.c.Attach(context.Background(), v, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Detach(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Detach(context.Background(), v); err != nil {
		t.Fatalf("second detach: %v", err)
	}
}

// TestDetach_AfterDeviceRenamed finds paths by WWID, not by remembered names.
func TestDetach_AfterDeviceRenamed(t *testing.T) {
	f := newFakeHost(t, fastSettings())
	v := f.iscsiVolume(uidA, 0, p1)
	a, err := f.c.Attach(context.Background(), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Simulate a reboot: the path comes back under another name.
	f.k.RemoveDisk(a.Paths[0])
	f.k.HideLUN(2, 0)
	if err := f.c.Sys.Scan(2, -1, -1, 0); err != nil {
		t.Fatal(err)
	}
	f.k.ExposeLUN(2, 0, uidA)
	if err := f.c.Sys.Scan(2, -1, -1, 0); err != nil {
		t.Fatal(err)
	}
	if d := f.k.Disks(); len(d) != 1 || d[0] == a.Paths[0] {
		t.Fatalf("setup: disks %v", d)
	}
	if err := f.c.Detach(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	if len(f.k.Disks()) != 0 || len(f.k.Sessions()) != 0 {
		t.Fatalf("left disks=%v sessions=%v", f.k.Disks(), f.k.Sessions())
	}
}

func TestResize_RescansEveryPathThenResizesMap(t *testing.T) {
	f := newFakeHost(t, fastSettings())
	f.k.AutoMultipath = true
	v := f.iscsiVolume(uidA, 5, p1, p2)
	if _, err := f.c.Attach(context.Background(), v, nil); err != nil {
		t.Fatal(err)
	}
	a, err := f.c.Resize(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	rescans := 0
	for _, w := range f.k.Writes {
		if strings.HasSuffix(w, "device/rescan=1") {
			rescans++
		}
	}
	if rescans != 2 || a.Multipath == "" {
		t.Fatalf("rescans=%d attachment=%+v", rescans, a)
	}
	if len(f.x.CallsOf("multipathd resize map 3"+uidA)) != 1 {
		t.Fatalf("no multipathd resize: %v", f.x.Calls())
	}
	f.multipathd = false
	if _, err := f.c.Resize(context.Background(), v); !errors.Is(err, host.ErrMultipath) {
		t.Fatalf("resize with multipathd down: want ErrMultipath, got %v", err)
	}
}
