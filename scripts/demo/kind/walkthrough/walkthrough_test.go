package main

import "testing"

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
