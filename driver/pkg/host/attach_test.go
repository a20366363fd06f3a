package host_test

import (
	"context"
	"errors"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/hosttest"
	"slices"
	"strings"
	"testing"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/iscsi"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/scsi"
)

func TestAttachISCSI_TwoPortals_ManualScanOfMappedLUNAndMultipathByWWID(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	f.K.AutoMultipath = true
	v := f.ISCSIVolume(hosttest.UIDA, 5, hosttest.P1, hosttest.P2)
	a, err := f.C.Attach(context.Background(), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Multipath != "dm-0" || a.Device != f.K.Sys.Dev("dm-0") || len(a.Paths) != 2 {
		t.Fatalf("attachment = %+v, want dm-0 over 2 paths", a)
	}
	// Exactly the mapped LUN was scanned on each session's host.
	scans := slices.Sorted(slices.Values(f.K.Scans)) // portals come up in parallel
	if want := []string{"host2: - - 5", "host3: - - 5"}; !slices.Equal(scans, want) {
		t.Fatalf("scans = %v, want %v", f.K.Scans, want)
	}
	calls := strings.Join(f.X.CallsOf("iscsiadm"), "\n")
	for _, want := range []string{
		"iscsiadm -m node -p 127.0.0.1:3260 -T " + hosttest.IQN1 + " -o update -n node.session.scan -v manual -n node.startup -v manual -n node.session.auth.authmethod -v None",
		"iscsiadm -m node -p 127.0.0.2:3260 -T " + hosttest.IQN2 + " --login",
	} {
		if !strings.Contains(calls, want) {
			t.Errorf("missing %q in\n%s", want, calls)
		}
	}
	if strings.Contains(calls, "discovery") {
		t.Errorf("attach must not run SendTargets discovery:\n%s", calls)
	}
}

func TestAttachISCSI_SinglePathWithoutMultipath(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	v := f.ISCSIVolume(hosttest.UIDA, 0, hosttest.P1)
	a, err := f.C.Attach(context.Background(), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Multipath != "" || a.Device != f.K.Sys.Dev("sda") {
		t.Fatalf("attachment = %+v, want /dev/sda", a)
	}
	if len(f.X.CallsOf("multipath")) != 0 {
		t.Errorf("single path without forceUseMultipath must not touch multipath: %v", f.X.CallsOf("multipath"))
	}
}

func TestAttachISCSI_CHAPConfiguredAndSecretNeverInErrors(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	f.Unreachable[hosttest.P1] = true
	v := f.ISCSIVolume(hosttest.UIDA, 1, hosttest.P1)
	_, err := f.C.Attach(context.Background(), v, &iscsi.CHAP{User: "iqn.node", Secret: "TopSecret12345"})
	if !errors.Is(err, host.ErrLogin) {
		t.Fatalf("want ErrLogin, got %v", err)
	}
	if strings.Contains(err.Error(), "TopSecret12345") {
		t.Fatalf("secret in error: %v", err)
	}
	calls := strings.Join(f.X.Calls(), "\n")
	if !strings.Contains(calls, "-n node.session.auth.authmethod -v CHAP -n node.session.auth.username -v iqn.node -n node.session.auth.password -v TopSecret12345") {
		t.Fatalf("CHAP not configured on the node record:\n%s", calls)
	}
}

func TestAttachISCSI_OnePortalDown_UsesTheOtherPath(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	f.Unreachable[hosttest.P2] = true
	v := f.ISCSIVolume(hosttest.UIDA, 3, hosttest.P1, hosttest.P2)
	a, err := f.C.Attach(context.Background(), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Paths) != 1 || a.Device != f.K.Sys.Dev(a.Paths[0]) {
		t.Fatalf("attachment = %+v", a)
	}
}

func TestAttachISCSI_DeviceNeverAppears_ErrNoDeviceAfterBoundedScans(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	v := f.ISCSIVolume(hosttest.UIDA, 7, hosttest.P1)
	f.Mu.Lock()
	delete(f.LUNs[hosttest.P1+"|"+hosttest.IQN1], 7) // mapped on paper, never presented
	f.Mu.Unlock()
	_, err := f.C.Attach(context.Background(), v, nil)
	if !errors.Is(err, host.ErrNoDevice) {
		t.Fatalf("want ErrNoDevice, got %v", err)
	}
	if len(f.K.Scans) != 3 {
		t.Fatalf("scans = %v, want scsiScanRetryTimes=3", f.K.Scans)
	}
}

func TestAttachISCSI_StaleDeviceAtReusedLUN_DeletedAndNeverUsed(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	v := f.ISCSIVolume(hosttest.UIDA, 2, hosttest.P1)
	// Log in first so the session host exists, then leave a leftover of
	// another vdisk at the same LUN number (unmapped without node cleanup).
	if err := f.C.ISCSI.Login(context.Background(), hosttest.P1, hosttest.IQN1); err != nil {
		t.Fatal(err)
	}
	stale := f.K.AddDisk(scsi.HCTL{Host: 2, LUN: 2}, hosttest.UIDB)
	a, err := f.C.Attach(context.Background(), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.K.Sys.Exists(stale) {
		t.Fatalf("stale %s still present", stale)
	}
	if len(a.Paths) != 1 || a.Paths[0] == stale {
		t.Fatalf("attachment %+v uses the stale device %s", a, stale)
	}
	if w, _ := f.K.Sys.WWID(a.Paths[0]); w != hosttest.UIDA {
		t.Fatalf("attached device has WWID %s, want %s", w, hosttest.UIDA)
	}
}

func TestAttachISCSI_StaleDeviceInUse_RefusedNeverMounted(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	v := f.ISCSIVolume(hosttest.UIDA, 2, hosttest.P1)
	if err := f.C.ISCSI.Login(context.Background(), hosttest.P1, hosttest.IQN1); err != nil {
		t.Fatal(err)
	}
	stale := f.K.AddDisk(scsi.HCTL{Host: 2, LUN: 2}, hosttest.UIDB)
	f.K.AddMultipath(4, "3"+hosttest.UIDB, hosttest.UIDB, stale)
	a, err := f.C.Attach(context.Background(), v, nil)
	if !errors.Is(err, host.ErrStaleInUse) {
		t.Fatalf("want ErrStaleInUse, got %v (attachment %+v)", err, a)
	}
	if !f.K.Sys.Exists(stale) {
		t.Fatal("an in-use device was deleted")
	}
}

// The kernel caches VPD 0x83: a device probed when this volume was mapped
// at LUN 2 still says so after the array gave LUN 2 to another vdisk. The
// cached WWID alone would pass the check; the rescan shows the LU changed.
func TestAttachISCSI_CachedWWIDOfOurVolumeButLUNRemapped_RescannedDeletedNeverUsed(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	v := f.ISCSIVolume(hosttest.UIDA, 2, hosttest.P1)
	f.Present(hosttest.P1, hosttest.IQN1, 2, hosttest.UIDB) // the array now has B at LUN 2
	if err := f.C.ISCSI.Login(context.Background(), hosttest.P1, hosttest.IQN1); err != nil {
		t.Fatal(err)
	}
	stale := f.K.AddDisk(scsi.HCTL{Host: 2, LUN: 2}, hosttest.UIDA) // probed back when A was there
	a, err := f.C.Attach(context.Background(), v, nil)
	if !errors.Is(err, host.ErrNoDevice) {
		t.Fatalf("want ErrNoDevice (LUN 2 is B now), got %v (attachment %+v)", err, a)
	}
	if !slices.Contains(f.K.Writes, "block/"+stale+"/device/rescan=1") {
		t.Errorf("pre-existing %s was not rescanned; writes %v", stale, f.K.Writes)
	}
	if f.K.Sys.Exists(stale) {
		t.Errorf("stale %s (now B) kept", stale)
	}
}

// A pre-existing device at our LUN that is ours: rescanned, still ours, used.
func TestAttachISCSI_PreexistingDeviceOfOurVolume_RescannedAndUsed(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	v := f.ISCSIVolume(hosttest.UIDA, 2, hosttest.P1)
	if err := f.C.ISCSI.Login(context.Background(), hosttest.P1, hosttest.IQN1); err != nil {
		t.Fatal(err)
	}
	ours := f.K.AddDisk(scsi.HCTL{Host: 2, LUN: 2}, hosttest.UIDA)
	a, err := f.C.Attach(context.Background(), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Paths) != 1 || a.Paths[0] != ours {
		t.Fatalf("attachment %+v, want the existing %s", a, ours)
	}
	if !slices.Contains(f.K.Writes, "block/"+ours+"/device/rescan=1") {
		t.Errorf("pre-existing %s was trusted without a rescan; writes %v", ours, f.K.Writes)
	}
}

// A disk whose WWID reads as ours but that another volume's map holds (A's
// map over a LUN the array re-assigned) is refused, never stacked on.
func TestAttachISCSI_OurWWIDButHeldByAnotherVolumesMap_Refused(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	v := f.ISCSIVolume(hosttest.UIDA, 2, hosttest.P1)
	if err := f.C.ISCSI.Login(context.Background(), hosttest.P1, hosttest.IQN1); err != nil {
		t.Fatal(err)
	}
	d := f.K.AddDisk(scsi.HCTL{Host: 2, LUN: 2}, hosttest.UIDA)
	f.K.AddMultipath(4, "3"+hosttest.UIDB, hosttest.UIDB, d)
	a, err := f.C.Attach(context.Background(), v, nil)
	if !errors.Is(err, host.ErrStaleInUse) {
		t.Fatalf("want ErrStaleInUse, got %v (attachment %+v)", err, a)
	}
	if slices.Contains(f.K.Writes, "block/"+d+"/device/rescan=1") || !f.K.Sys.Exists(d) {
		t.Errorf("a held device was rescanned or deleted: writes %v", f.K.Writes)
	}
}

func TestAttachISCSI_MultipathdDown(t *testing.T) {
	for _, forced := range []bool{true, false} {
		s := hosttest.FastSettings()
		s.ForceUseMultipath = forced
		f := hosttest.New(t, s)
		f.Multipathd = false
		v := f.ISCSIVolume(hosttest.UIDA, 1, hosttest.P1, hosttest.P2)
		a, err := f.C.Attach(context.Background(), v, nil)
		if forced {
			if !errors.Is(err, host.ErrMultipath) {
				t.Fatalf("forced: want ErrMultipath, got %v", err)
			}
			continue
		}
		if err != nil || a.Multipath != "" || a.Device != f.K.Sys.Dev(a.Paths[0]) {
			t.Fatalf("not forced: want a single path, got %+v, %v", a, err)
		}
	}
}

func TestAttachISCSI_ForcedMultipath_MapNeverAppears(t *testing.T) {
	s := hosttest.FastSettings()
	s.ForceUseMultipath = true
	f := hosttest.New(t, s)
	v := f.ISCSIVolume(hosttest.UIDA, 1, hosttest.P1)
	_, err := f.C.Attach(context.Background(), v, nil)
	if !errors.Is(err, host.ErrMultipath) {
		t.Fatalf("want ErrMultipath, got %v", err)
	}
	// It asked multipath-tools for the map (strict find_multipaths hosts).
	if got := f.X.CallsOf("multipath -a 3" + hosttest.UIDA); len(got) != 1 {
		t.Fatalf("no multipath -a nudge: %v", f.X.Calls())
	}
}

func TestAttachISCSI_MapWithPathOfOtherWWID_Refused(t *testing.T) {
	f := hosttest.New(t, hosttest.FastSettings())
	v := f.ISCSIVolume(hosttest.UIDA, 1, hosttest.P1, hosttest.P2)
	if _, err := f.C.Attach(context.Background(), v, nil); err != nil {
		t.Fatal(err) // no map: single path
	}
	// A map by this WWID now holds a path that carries another WWID.
	foreign := f.K.AddDisk(scsi.HCTL{Host: 9, LUN: 1}, hosttest.UIDB)
	f.K.AddMultipath(0, "3"+hosttest.UIDA, hosttest.UIDA, "sda", foreign)
	_, err := f.C.Attach(context.Background(), v, nil)
	if !errors.Is(err, host.ErrMultipath) || !strings.Contains(err.Error(), foreign) {
		t.Fatalf("want ErrMultipath naming %s, got %v", foreign, err)
	}
}

func TestVolumeValidate_RejectsBadInput(t *testing.T) {
	for name, v := range map[string]host.Volume{
		"bad uid":    {Link: "iscsi", UID: "xyz", ISCSI: []host.ISCSIPath{{Portal: hosttest.P1, IQN: hosttest.IQN1}}},
		"no paths":   {Link: "iscsi", UID: hosttest.UIDA},
		"bad portal": {Link: "iscsi", UID: hosttest.UIDA, ISCSI: []host.ISCSIPath{{Portal: "host.example:3260", IQN: hosttest.IQN1}}},
		"bad iqn":    {Link: "iscsi", UID: hosttest.UIDA, ISCSI: []host.ISCSIPath{{Portal: hosttest.P1, IQN: "target one"}}},
		"bad lun":    {Link: "iscsi", UID: hosttest.UIDA, ISCSI: []host.ISCSIPath{{Portal: hosttest.P1, IQN: hosttest.IQN1, LUN: -1}}},
		"bad wwpn":   {Link: "fc", UID: hosttest.UIDA, FC: []host.FCPath{{WWPN: "12"}}},
		"bad link":   {Link: "nvme", UID: hosttest.UIDA},
	} {
		if err := v.Validate(); err == nil {
			t.Errorf("%s: accepted %+v", name, v)
		}
	}
	v := host.Volume{Link: "iscsi", UID: strings.ToUpper(hosttest.UIDA), ISCSI: []host.ISCSIPath{{Portal: "127.0.0.1", IQN: hosttest.IQN1}}}
	if err := v.Validate(); err != nil || v.UID != hosttest.UIDA || v.ISCSI[0].Portal != hosttest.P1 {
		t.Fatalf("normalise: %+v, %v", v, err)
	}
}
