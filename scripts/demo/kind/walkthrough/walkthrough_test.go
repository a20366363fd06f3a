package main

import (
	"testing"

	"github.com/instorage-csi/instorage-csi/scripts/demo/internal/arrayview"
)

func TestLeaksSubListsOnlyNewEntriesSorted(t *testing.T) {
	base := leaks{"storage-01 vdisk old": true}
	now := leaks{"storage-01 vdisk old": true, "storage-01 vdisk pvc-b": true, "storage-01 hostmap node/pvc-b": true}
	if got, want := now.sub(base), "storage-01 hostmap node/pvc-b, storage-01 vdisk pvc-b"; got != want {
		t.Fatalf("sub = %q, want %q", got, want)
	}
	// Something gone since the baseline is not a leak.
	if got := (leaks{}).sub(base); got != "" {
		t.Fatalf("empty minus base = %q", got)
	}
}

func TestForwardingLineGivesTheLocalPort(t *testing.T) {
	for line, want := range map[string]string{
		"Forwarding from 127.0.0.1:41234 -> 2222": "41234",
		"Forwarding from [::1]:41234 -> 2222":     "",
		"Handling connection for 41234":           "",
		"Forwarding from 127.0.0.1:41234 -> 2280": "",
	} {
		got := ""
		if m := forwarding.FindStringSubmatch(line); m != nil {
			got = m[1]
		}
		if got != want {
			t.Errorf("%q: port %q, want %q", line, got, want)
		}
	}
}

func TestLeaksSummaryCountsPerArray(t *testing.T) {
	l := leaks{"storage-01 vdisk a": true, "storage-01 vdisk b": true, "storage-01 lcmap a->b": true, "storage-02 hostmap h/x": true}
	got := l.summary([]arrayview.Array{{Name: "storage-01"}, {Name: "storage-02"}})
	want := "storage-01: 2 vdisks, 0 host mappings, 1 LocalCopy maps; storage-02: 0 vdisks, 1 host mappings, 0 LocalCopy maps"
	if got != want {
		t.Fatalf("summary = %q, want %q", got, want)
	}
}
