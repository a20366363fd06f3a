package host_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/iscsi"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/scsi"
)

func TestAttachISCSI_TwoPortals_ManualScanOfMappedLUNAndMultipathByWWID(t *testing.T) {
	f := newFakeHost(t, fastSettings())
	f.k.AutoMultipath = true
	v := f.iscsiVolume(uidA, 5, p1, p2)
	a, err := f.c.Attach(context.Background(), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Multipath != "dm-0" || a.Device != f.k.Sys.Dev("dm-0") || len(a.Paths) != 2 {
		t.Fatalf("attachment = %+v, want dm-0 over 2 paths", a)
	}
	// Exactly the mapped LUN was scanned on each session's host.
	if want := []string{"host2: - - 5", "host3: - - 5"}; !slices.Equal(f.k.Scans, want) {
		t.Fatalf("scans = %v, want %v", f.k.Scans, want)
	}
	calls := strings.Join(f.x.CallsOf("iscsiadm"), "\n")
	for _, want := range []string{
		"iscsiadm -m node -p 127.0.0.1:3260 -T " + iqn1 + " -o update -n node.session.scan -v manual",
		"iscsiadm -m node -p 127.0.0.2:3260 -T " + iqn2 + " --login",
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
	f := newFakeHost(t, fastSettings())
	v := f.iscsiVolume(uidA, 0, p1)
	a, err := f.c.Attach(context.Background(), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Multipath != "" || a.Device != f.k.Sys.Dev("sda") {
		t.Fatalf("attachment = %+v, want /dev/sda", a)
	}
	if len(f.x.CallsOf("multipath")) != 0 {
		t.Errorf("single path without forceUseMultipath must not touch multipath: %v", f.x.CallsOf("multipath"))
	}
}

func TestAttachISCSI_CHAPConfiguredAndSecretNeverInErrors(t *testing.T) {
	f := newFakeHost(t, fastSettings())
	f.unreachable[p1] = true
	v := f.iscsiVolume(uidA, 1, p1)
	_, err := f.c.Attach(context.Background(), v, &iscsi.CHAP{User: "iqn.node", Secret: "TopSecret12345"})
	if !errors.Is(err, host.ErrLogin) {
		t.Fatalf("want ErrLogin, got %v", err)
	}
	if strings.Contains(err.Error(), "TopSecret12345") {
		t.Fatalf("secret in error: %v", err)
	}
	calls := strings.Join(f.x.Calls(), "\n")
	if !strings.Contains(calls, "-n node.session.auth.authmethod -v CHAP") || !strings.Contains(calls, "-n node.session.auth.password -v TopSecret12345") {
		t.Fatalf("CHAP not configured on the node record:\n%s", calls)
	}
}

func TestAttachISCSI_OnePortalDown_UsesTheOtherPath(t *testing.T) {
	f := newFakeHost(t, fastSettings())
	f.unreachable[p2] = true
	v := f.iscsiVolume(uidA, 3, p1, p2)
	a, err := f.c.Attach(context.Background(), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Paths) != 1 || a.Device != f.k.Sys.Dev(a.Paths[0]) {
		t.Fatalf("attachment = %+v", a)
	}
}

func TestAttachISCSI_DeviceNeverAppears_ErrNoDeviceAfterBoundedScans(t *testing.T) {
	f := newFakeHost(t, fastSettings())
	v := f.iscsiVolume(uidA, 7, p1)
	f.mu.Lock()
	delete(f.luns[p1+"|"+iqn1], 7) // mapped on paper, never presented
	f.mu.Unlock()
	_, err := f.c.Attach(context.Background(), v, nil)
	if !errors.Is(err, host.ErrNoDevice) {
		t.Fatalf("want ErrNoDevice, got %v", err)
	}
	if len(f.k.Scans) != 3 {
		t.Fatalf("scans = %v, want scsiScanRetryTimes=3", f.k.Scans)
	}
}

func TestAttachISCSI_StaleDeviceAtReusedLUN_DeletedAndNeverUsed(t *testing.T) {
	f := newFakeHost(t, fastSettings())
	v := f.iscsiVolume(uidA, 2, p1)
	// Log in first so the session host exists, then leave a leftover of
	// another vdisk at the same LUN number (unmapped without node cleanup).
	if err := f.c.ISCSI.Login(context.Background(), p1, iqn1); err != nil {
		t.Fatal(err)
	}
	stale := f.k.AddDisk(scsi.HCTL{Host: 2, LUN: 2}, uidB)
	a, err := f.c.Attach(context.Background(), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.k.Sys.Exists(stale) {
		t.Fatalf("stale %s still present", stale)
	}
	if len(a.Paths) != 1 || a.Paths[0] == stale {
		t.Fatalf("attachment %+v uses the stale device %s", a, stale)
	}
	if w, _ := f.k.Sys.WWID(a.Paths[0]); w != uidA {
		t.Fatalf("attached device has WWID %s, want %s", w, uidA)
	}
}

func TestAttachISCSI_StaleDeviceInUse_RefusedNeverMounted(t *testing.T) {
	f := newFakeHost(t, fastSettings())
	v := f.iscsiVolume(uidA, 2, p1)
	if err := f.c.ISCSI.Login(context.Background(), p1, iqn1); err != nil {
		t.Fatal(err)
	}
	stale := f.k.AddDisk(scsi.HCTL{Host: 2, LUN: 2}, uidB)
	f.k.AddMultipath(4, "3"+uidB, uidB, stale)
	a, err := f.c.Attach(context.Background(), v, nil)
	if !errors.Is(err, host.ErrStaleInUse) {
		t.Fatalf("want ErrStaleInUse, got %v (attachment %+v)", err, a)
	}
	if !f.k.Sys.Exists(stale) {
		t.Fatal("an in-use device was deleted")
	}
}

func TestAttachISCSI_MultipathdDown(t *testing.T) {
	for _, forced := range []bool{true, false} {
		s := fastSettings()
		s.ForceUseMultipath = forced
		f := newFakeHost(t, s)
		f.multipathd = false
		v := f.iscsiVolume(uidA, 1, p1, p2)
		a, err := f.c.Attach(context.Background(), v, nil)
		if forced {
			if !errors.Is(err, host.ErrMultipath) {
				t.Fatalf("forced: want ErrMultipath, got %v", err)
			}
			continue
		}
		if err != nil || a.Multipath != "" || a.Device != f.k.Sys.Dev(a.Paths[0]) {
			t.Fatalf("not forced: want a single path, got %+v, %v", a, err)
		}
	}
}

func TestAttachISCSI_ForcedMultipath_MapNeverAppears(t *testing.T) {
	s := fastSettings()
	s.ForceUseMultipath = true
	f := newFakeHost(t, s)
	v := f.iscsiVolume(uidA, 1, p1)
	_, err := f.c.Attach(context.Background(), v, nil)
	if !errors.Is(err, host.ErrMultipath) {
		t.Fatalf("want ErrMultipath, got %v", err)
	}
	// It asked multipath-tools for the map (strict find_multipaths hosts).
	if got := f.x.CallsOf("multipath -a 3" + uidA); len(got) != 1 {
		t.Fatalf("no multipath -a nudge: %v", f.x.Calls())
	}
}

func TestAttachISCSI_MapWithPathOfOtherWWID_Refused(t *testing.T) {
	f := newFakeHost(t, fastSettings())
	v := f.iscsiVolume(uidA, 1, p1, p2)
	if _, err := f.c.Attach(context.Background(), v, nil); err != nil {
		t.Fatal(err) // no map: single path
	}
	// A map by this WWID now holds a path that carries another WWID.
	foreign := f.k.AddDisk(scsi.HCTL{Host: 9, LUN: 1}, uidB)
	f.k.AddMultipath(0, "3"+uidA, uidA, "sda", foreign)
	_, err := f.c.Attach(context.Background(), v, nil)
	if !errors.Is(err, host.ErrMultipath) || !strings.Contains(err.Error(), foreign) {
		t.Fatalf("want ErrMultipath naming %s, got %v", foreign, err)
	}
}

func TestVolumeValidate_RejectsBadInput(t *testing.T) {
	for name, v := range map[string]host.Volume{
		"bad uid":    {Link: "iscsi", UID: "xyz", ISCSI: []host.ISCSIPath{{Portal: p1, IQN: iqn1}}},
		"no paths":   {Link: "iscsi", UID: uidA},
		"bad portal": {Link: "iscsi", UID: uidA, ISCSI: []host.ISCSIPath{{Portal: "host.example:3260", IQN: iqn1}}},
		"bad iqn":    {Link: "iscsi", UID: uidA, ISCSI: []host.ISCSIPath{{Portal: p1, IQN: "target one"}}},
		"bad lun":    {Link: "iscsi", UID: uidA, ISCSI: []host.ISCSIPath{{Portal: p1, IQN: iqn1, LUN: -1}}},
		"bad wwpn":   {Link: "fc", UID: uidA, FC: []host.FCPath{{WWPN: "12"}}},
		"bad link":   {Link: "nvme", UID: uidA},
	} {
		if err := v.Validate(); err == nil {
			t.Errorf("%s: accepted %+v", name, v)
		}
	}
	v := host.Volume{Link: "iscsi", UID: strings.ToUpper(uidA), ISCSI: []host.ISCSIPath{{Portal: "127.0.0.1", IQN: iqn1}}}
	if err := v.Validate(); err != nil || v.UID != uidA || v.ISCSI[0].Portal != p1 {
		t.Fatalf("normalise: %+v, %v", v, err)
	}
}
