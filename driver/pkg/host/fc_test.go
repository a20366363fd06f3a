package host_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/scsi"
)

const tgtWWPN = "5005076802132ADE"

func fcVolume(lun int) host.Volume {
	return host.Volume{Link: host.LinkFC, UID: uidA, FC: []host.FCPath{{WWPN: tgtWWPN, LUN: lun}}}
}

func TestAttachFC_ScanLevels(t *testing.T) {
	for level, want := range map[string][]string{
		"lun": {"host4: - - 3", "host5: - - 3"},
		"ctl": {"host4: 0 2 3"},
		"all": {"host4: - - -", "host5: - - -"},
	} {
		s := fastSettings()
		s.Link, s.FCScanLevel = host.LinkFC, level
		f := newFakeHost(t, s)
		f.k.AddFCHost(4, "21000024ff3ab9c8")
		f.k.AddFCHost(5, "21000024ff3ab9c9")
		f.k.AddFCRemotePort(4, 0, 1, tgtWWPN, 2)
		f.k.AddFCRemotePort(5, 0, 1, "5005076802132AFF", 0) // another array
		f.k.ExposeLUN(4, 3, uidA)
		f.k.ExposeLUN(5, 3, uidA)
		a, err := f.c.Attach(context.Background(), fcVolume(3), nil)
		if err != nil {
			t.Fatalf("%s: %v", level, err)
		}
		if !slices.Equal(f.k.Scans, want) {
			t.Errorf("%s: scans %v, want %v", level, f.k.Scans, want)
		}
		if len(a.Paths) == 0 {
			t.Errorf("%s: no paths", level)
		}
	}
}

func TestAttachFC_StaleLUNCleared_NeverAppearingFails(t *testing.T) {
	s := fastSettings()
	s.Link = host.LinkFC
	f := newFakeHost(t, s)
	f.k.AddFCHost(4, "21000024ff3ab9c8")
	stale := f.k.AddDisk(scsi.HCTL{Host: 4, LUN: 3}, uidB)
	f.k.ExposeLUN(4, 3, uidA)
	a, err := f.c.Attach(context.Background(), fcVolume(3), nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.k.Sys.Exists(stale) || slices.Contains(a.Paths, stale) {
		t.Fatalf("stale %s kept/used: %+v", stale, a)
	}
	_, err = f.c.Attach(context.Background(), host.Volume{Link: host.LinkFC, UID: uidB, FC: []host.FCPath{{WWPN: tgtWWPN, LUN: 9}}}, nil)
	if !errors.Is(err, host.ErrNoDevice) {
		t.Fatalf("want ErrNoDevice, got %v", err)
	}
}
