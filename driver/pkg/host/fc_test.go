package host_test

import (
	"context"
	"errors"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/hosttest"
	"slices"
	"testing"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/scsi"
)

const tgtWWPN = "5005076802132ADE"

func fcVolume(lun int) host.Volume {
	return host.Volume{Link: host.LinkFC, UID: hosttest.UIDA, FC: []host.FCPath{{WWPN: tgtWWPN, LUN: lun}}}
}

func TestAttachFC_ScanLevels(t *testing.T) {
	for level, want := range map[string][]string{
		"lun": {"host4: - - 3", "host5: - - 3"},
		"ctl": {"host4: 0 2 3"},
		"all": {"host4: - - -", "host5: - - -"},
	} {
		s := hosttest.FastSettings()
		s.Link, s.FCScanLevel = host.LinkFC, level
		f := hosttest.New(t, s)
		f.K.AddFCHost(4, "21000024ff3ab9c8")
		f.K.AddFCHost(5, "21000024ff3ab9c9")
		f.K.AddFCRemotePort(4, 0, 1, tgtWWPN, 2)
		f.K.AddFCRemotePort(5, 0, 1, "5005076802132AFF", 0) // another array
		f.K.ExposeLUN(4, 3, hosttest.UIDA)
		f.K.ExposeLUN(5, 3, hosttest.UIDA)
		a, err := f.C.Attach(context.Background(), fcVolume(3), nil)
		if err != nil {
			t.Fatalf("%s: %v", level, err)
		}
		if !slices.Equal(f.K.Scans, want) {
			t.Errorf("%s: scans %v, want %v", level, f.K.Scans, want)
		}
		if len(a.Paths) == 0 {
			t.Errorf("%s: no paths", level)
		}
	}
}

func TestAttachFC_StaleLUNCleared_NeverAppearingFails(t *testing.T) {
	s := hosttest.FastSettings()
	s.Link = host.LinkFC
	f := hosttest.New(t, s)
	f.K.AddFCHost(4, "21000024ff3ab9c8")
	stale := f.K.AddDisk(scsi.HCTL{Host: 4, LUN: 3}, hosttest.UIDB)
	f.K.ExposeLUN(4, 3, hosttest.UIDA)
	a, err := f.C.Attach(context.Background(), fcVolume(3), nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.K.Sys.Exists(stale) || slices.Contains(a.Paths, stale) {
		t.Fatalf("stale %s kept/used: %+v", stale, a)
	}
	_, err = f.C.Attach(context.Background(), host.Volume{Link: host.LinkFC, UID: hosttest.UIDB, FC: []host.FCPath{{WWPN: tgtWWPN, LUN: 9}}}, nil)
	if !errors.Is(err, host.ErrNoDevice) {
		t.Fatalf("want ErrNoDevice, got %v", err)
	}
}
