package iscsi_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host/iscsi"
)

func TestNormalizePortal(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.5":           "10.0.0.5:3260",
		"10.0.0.5:3261":      "10.0.0.5:3261",
		" 127.0.0.2:3260 ":   "127.0.0.2:3260",
		"fe80::1":            "[fe80::1]:3260",
		"[fe80::1]:3260":     "[fe80::1]:3260",
		"[2001:db8::5]:3260": "[2001:db8::5]:3260",
	} {
		if got, err := iscsi.NormalizePortal(in); err != nil || got != want {
			t.Errorf("NormalizePortal(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "array.example:3260", "10.0.0.5:0", "10.0.0.5:99999", "10.0.0.5:x"} {
		if got, err := iscsi.NormalizePortal(bad); err == nil {
			t.Errorf("NormalizePortal(%q) accepted as %q", bad, got)
		}
	}
}

func TestReadInitiatorName(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "initiatorname.iscsi")
	if err := os.WriteFile(p, []byte("## DO NOT EDIT\n# InitiatorName=iqn.old:commented\nInitiatorName=iqn.1993-08.org.debian:01:abc \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := iscsi.ReadInitiatorName(p); err != nil || got != "iqn.1993-08.org.debian:01:abc" {
		t.Fatalf("got %q, %v", got, err)
	}
	if err := os.WriteFile(p, []byte("# nothing\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := iscsi.ReadInitiatorName(p); err == nil {
		t.Fatal("file without InitiatorName accepted")
	}
}
