package scsi_test

import (
	"testing"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host/scsi"
)

func TestNormalizeWWID_AllFormsOfTheVDiskUID(t *testing.T) {
	const uid = "60050760008989c0d00000000002aa53"
	for in, want := range map[string]string{
		"naa.60050760008989c0d00000000002aa53\n": uid, // sysfs device/wwid
		"360050760008989c0d00000000002aa53":      uid, // scsi_id --page=0x83
		"60050760008989C0D00000000002AA53":       uid, // lsvdisk vdisk_UID
		"t10.IET     VIRTUAL-DISK":               "t10.iet     virtual-disk",
		"3600507600089":                          "3600507600089", // too short to be 3+NAA: kept, never equal
	} {
		if got := scsi.NormalizeWWID(in); got != want {
			t.Errorf("NormalizeWWID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseHCTL(t *testing.T) {
	if a, err := scsi.ParseHCTL("2:0:1:17"); err != nil || a != (scsi.HCTL{Host: 2, Target: 1, LUN: 17}) {
		t.Fatalf("got %+v, %v", a, err)
	}
	for _, bad := range []string{"", "2:0:1", "2:0:x:1", "-1:0:0:0", "target2:0:0"} {
		if _, err := scsi.ParseHCTL(bad); err == nil {
			t.Errorf("ParseHCTL(%q) accepted", bad)
		}
	}
}
