package host_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/hosttest"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/scsi"
)

// The array unmapped A and mapped B at A's LUN while A was staged: the
// kernel still calls A's paths A (cached VPD). Fence re-reads them and cuts
// them off, so the unmount that follows cannot write A's superblock onto B.
func TestFence_LUNRemappedUnderStagedVolume_PathsCutQueueingOff(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	f.K.AutoMultipath = true
	v := f.ISCSIVolume(hosttest.UIDA, 5, hosttest.P1, hosttest.P2)
	a, err := f.C.Attach(context.Background(), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Present(hosttest.P1, hosttest.IQN1, 5, hosttest.UIDB)
	f.Present(hosttest.P2, hosttest.IQN2, 5, hosttest.UIDB)
	cut, err := f.C.Fence(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(slices.Sorted(slices.Values(cut)), slices.Sorted(slices.Values(a.Paths))) {
		t.Fatalf("cut %v, want every path %v", cut, a.Paths)
	}
	if len(f.K.Disks()) != 0 {
		t.Fatalf("remapped paths left: %v", f.K.Disks())
	}
	if indexOf(f.X.Calls(), "multipathd disablequeueing map 3"+hosttest.UIDA) < 0 {
		t.Fatalf("queueing not disabled on the pathless map:\n%s", strings.Join(f.X.Calls(), "\n"))
	}
	// Teardown then completes: no flush through a map without paths.
	if err := f.C.Detach(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	if indexOf(f.X.Calls(), "blockdev --flushbufs") >= 0 {
		t.Errorf("flushed a map whose paths lead to another vdisk:\n%s", strings.Join(f.X.Calls(), "\n"))
	}
	if len(f.K.Maps()) != 0 || len(f.K.Sessions()) != 0 {
		t.Fatalf("left behind maps=%v sessions=%v", f.K.Maps(), f.K.Sessions())
	}
}

func TestFence_NothingRemapped_NoPathTouched(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	f.K.AutoMultipath = true
	v := f.ISCSIVolume(hosttest.UIDA, 5, hosttest.P1, hosttest.P2)
	if _, err := f.C.Attach(context.Background(), v, nil); err != nil {
		t.Fatal(err)
	}
	cut, err := f.C.Fence(context.Background(), v)
	if err != nil || len(cut) != 0 {
		t.Fatalf("Fence = %v, %v; want nothing cut", cut, err)
	}
	if len(f.K.Disks()) != 2 || strings.Contains(strings.Join(f.K.Writes, " "), "delete=1") {
		t.Fatalf("paths touched: disks %v writes %v", f.K.Disks(), f.K.Writes)
	}
}

func TestResize_LUNRemapped_RefusedNoGrowOntoAnotherVdisk(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	f.K.AutoMultipath = true
	v := f.ISCSIVolume(hosttest.UIDA, 5, hosttest.P1)
	if _, err := f.C.Attach(context.Background(), v, nil); err != nil {
		t.Fatal(err)
	}
	f.Present(hosttest.P1, hosttest.IQN1, 5, hosttest.UIDB)
	if _, err := f.C.Resize(context.Background(), v); !errors.Is(err, host.ErrRemapped) {
		t.Fatalf("want ErrRemapped, got %v", err)
	}
	if indexOf(f.X.Calls(), "multipathd resize") >= 0 {
		t.Fatalf("map resized over another vdisk's LU")
	}
}

// B's teardown must never touch a path that reads B but sits under A's map
// (A's LU was remapped under it and A is still mounted): that is A's.
func TestDetach_PathUnderAnotherVolumesMap_Untouched(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	v := f.ISCSIVolume(hosttest.UIDB, 2, hosttest.P1)
	if err := f.C.ISCSI.Login(context.Background(), hosttest.P1, hosttest.IQN1); err != nil {
		t.Fatal(err)
	}
	d := f.K.AddDisk(scsiHCTL(2, 2), hosttest.UIDB) // reads B after a rescan
	f.K.AddMultipath(0, "3"+hosttest.UIDA, hosttest.UIDA, d)
	a, err := f.C.Find(v)
	if err != nil || a.Multipath != "" || len(a.Paths) != 0 {
		t.Fatalf("Find(B) = %+v, %v; want nothing of A's map", a, err)
	}
	if err := f.C.Detach(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	if !f.K.Sys.Exists(d) || len(f.K.Maps()) != 1 || indexOf(f.X.Calls(), "multipath -f") >= 0 {
		t.Fatalf("B's detach touched A's map or path: disks %v maps %v calls %v", f.K.Disks(), f.K.Maps(), f.X.Calls())
	}
}

func scsiHCTL(h, l int) scsi.HCTL { return scsi.HCTL{Host: h, LUN: l} }
