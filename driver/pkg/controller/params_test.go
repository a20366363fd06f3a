package controller

import (
	"strings"
	"testing"
)

func TestParseVolumeParams_Valid(t *testing.T) {
	cases := []struct {
		name string
		in   map[string]string
		want VolumeParams
	}{
		{"basic thick with vendor defaults", map[string]string{"volPoolName": "Pool0", "devKind": "block"},
			VolumeParams{Pool: "Pool0", Level: "basic", RSizePct: 2, AutoExpand: true}},
		{"thin with manual example values", map[string]string{"volPoolName": "Pool0", "volThin": "true", "volThinResize": "2",
			"volThinGrainSize": "256", "volThinWarning": "20"},
			VolumeParams{Pool: "Pool0", Level: "basic", Thin: true, RSizePct: 2, RSizeSet: true, GrainSize: 256, WarningPct: 20, AutoExpand: true}},
		{"compression implies thin", map[string]string{"volPoolName": "Pool0", "volCompress": "true"},
			VolumeParams{Pool: "Pool0", Level: "basic", Thin: true, Compressed: true, RSizePct: 2, AutoExpand: true}},
		{"mirror", map[string]string{"volPoolName": "Pool0", "volAuxPoolName": "Pool1", "volLevel": "mirror", "volIOGrp": "0"},
			VolumeParams{Pool: "Pool0", AuxPool: "Pool1", IOGrp: "0", Level: "mirror", RSizePct: 2, AutoExpand: true}},
		{"active-active", map[string]string{"volPoolName": "Pool0", "volAuxPoolName": "Pool1", "volLevel": "aa",
			"volIOGrp": "0", "volAuxIOGrp": "1", "devName": "storage-02"},
			VolumeParams{Storage: "storage-02", Pool: "Pool0", AuxPool: "Pool1", IOGrp: "0", AuxIOGrp: "1", Level: "aa", RSizePct: 2, AutoExpand: true}},
		{"csi.storage.k8s.io keys pass", map[string]string{"volPoolName": "Pool0",
			"csi.storage.k8s.io/pvc/name": "data", "csi.storage.k8s.io/fstype": "xfs"},
			VolumeParams{Pool: "Pool0", Level: "basic", RSizePct: 2, AutoExpand: true}},
		{"autoexpand off, rsize 0", map[string]string{"volPoolName": "Pool0", "volThin": "true", "volAutoExpand": "false", "volThinResize": "0"},
			VolumeParams{Pool: "Pool0", Level: "basic", Thin: true, RSizePct: 0, RSizeSet: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseVolumeParams(c.in)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got != c.want {
				t.Fatalf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestParseVolumeParams_Invalid(t *testing.T) {
	cases := []struct {
		name    string
		in      map[string]string
		message string // a fragment the error must contain
	}{
		{"no pool", map[string]string{}, "volPoolName is required"},
		{"unknown key", map[string]string{"volPoolName": "P", "volSize": "1"}, "unknown parameters volSize"},
		{"share devKind", map[string]string{"volPoolName": "P", "devKind": "share"}, "block volumes only"},
		{"bad level", map[string]string{"volPoolName": "P", "volLevel": "raid5"}, "basic, mirror or aa"},
		{"mirror without aux pool", map[string]string{"volPoolName": "P", "volLevel": "mirror"}, "needs volAuxPoolName"},
		{"aa without iogrps", map[string]string{"volPoolName": "P", "volAuxPoolName": "Q", "volLevel": "aa"}, "volIOGrp and volAuxIOGrp"},
		{"bad bool", map[string]string{"volPoolName": "P", "volThin": "yes please"}, "not true or false"},
		{"resize out of range", map[string]string{"volPoolName": "P", "volThin": "true", "volThinResize": "101"}, "[0, 100]"},
		{"warning 0", map[string]string{"volPoolName": "P", "volThin": "true", "volThinWarning": "0"}, "[1, 99]"},
		{"grain 512", map[string]string{"volPoolName": "P", "volThin": "true", "volThinGrainSize": "512"}, "32, 64, 128 or 256"},
		{"thin knob on thick", map[string]string{"volPoolName": "P", "volThinGrainSize": "64"}, "needs volThin=true"},
		{"grain on compressed", map[string]string{"volPoolName": "P", "volCompress": "true", "volThinGrainSize": "64"}, "compressed"},
		{"aux pool on basic", map[string]string{"volPoolName": "P", "volAuxPoolName": "Q"}, "mirror or aa only"},
		{"shell metacharacters", map[string]string{"volPoolName": "P;rm -rf /"}, "characters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseVolumeParams(c.in)
			if err == nil {
				t.Fatalf("accepted %v", c.in)
			}
			if !strings.Contains(err.Error(), c.message) {
				t.Fatalf("error %q does not mention %q", err, c.message)
			}
		})
	}
}

// Every problem is reported at once, so a StorageClass is fixed in one edit.
func TestParseVolumeParams_ReportsAllProblems(t *testing.T) {
	_, err := ParseVolumeParams(map[string]string{"volLevel": "x", "volThin": "maybe", "bogus": "1"})
	for _, frag := range []string{"unknown parameters bogus", "basic, mirror or aa", "not true or false", "volPoolName is required"} {
		if err == nil || !strings.Contains(err.Error(), frag) {
			t.Errorf("error %v does not mention %q", err, frag)
		}
	}
}
