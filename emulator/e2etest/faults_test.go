package e2etest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/instorage-csi/instorage-csi/emulator/fault"
)

func vdiskExists(t *testing.T, c *gossh.Client, name string) bool {
	t.Helper()
	return len(rows(t, mustOK(t, c, "mcsinq lsvdisk -bytes -delim ! -filtervalue name="+name))) == 1
}

func TestFaultErrorInjectedOnceThenClears(t *testing.T) {
	ctx := context.Background()
	e := startEmu(t, t.TempDir())
	c := e.dial()
	if _, err := e.control().AddFault(ctx, fault.Rule{Command: "mkvdisk", Error: "CMMVC5860E The action failed because there were not enough extents in the managed disk group.", Times: 1}); err != nil {
		t.Fatal(err)
	}
	r := run(t, c, "mcsop mkvdisk -name f1 -size 1 -unit gb -mdiskgrp Pool0")
	if r.Status != 1 || r.Stdout != "" || r.Stderr != "CMMVC5860E The action failed because there were not enough extents in the managed disk group.\n" {
		t.Fatalf("injected error: %+v", r)
	}
	if vdiskExists(t, c, "f1") {
		t.Fatal("a command failed before taking effect still created the vdisk")
	}
	mustOK(t, c, "mcsop mkvdisk -name f1 -size 1 -unit gb -mdiskgrp Pool0")
	l, err := e.control().ListFaults(ctx)
	if err != nil || len(l) != 1 || l[0].Fired != 1 {
		t.Fatalf("fault status %+v %v", l, err)
	}
}

// TestFaultDropConnection is the idempotency case: the client loses the
// connection without an answer; only the "after" drop changed the array.
func TestFaultDropConnection(t *testing.T) {
	ctx := context.Background()
	e := startEmu(t, t.TempDir())
	for _, tc := range []struct {
		when    fault.When
		name    string
		created bool
	}{{fault.Before, "drop-before", false}, {fault.After, "drop-after", true}} {
		if _, err := e.control().AddFault(ctx, fault.Rule{Command: "mkvdisk", Drop: true, When: tc.when, Times: 1}); err != nil {
			t.Fatal(err)
		}
		c := e.dial()
		_, err := tryRun(c, "mcsop mkvdisk -name "+tc.name+" -size 1 -unit gb -mdiskgrp Pool0")
		var exitErr *gossh.ExitError
		if err == nil || errors.As(err, &exitErr) {
			t.Fatalf("%s: want a transport error without exit status, got %v", tc.when, err)
		}
		if _, err := tryRun(c, "mcsinq lssystem -delim !"); err == nil {
			t.Fatalf("%s: connection still usable after drop", tc.when)
		}
		if got := vdiskExists(t, e.dial(), tc.name); got != tc.created {
			t.Fatalf("%s: vdisk exists=%v, want %v", tc.when, got, tc.created)
		}
	}
}

func TestFaultLatency(t *testing.T) {
	ctx := context.Background()
	e := startEmu(t, t.TempDir())
	c := e.dial()
	id, err := e.control().AddFault(ctx, fault.Rule{Command: "lssystem", Latency: &fault.Latency{Fixed: fault.Duration(300 * time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	mustOK(t, c, "mcsinq lssystem -delim !")
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("lssystem took %v with 300ms injected", d)
	}
	if err := e.control().RemoveFault(ctx, id); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	mustOK(t, c, "mcsinq lssystem -delim !")
	if d := time.Since(start); d >= 300*time.Millisecond {
		t.Fatalf("latency still applied after removal: %v", d)
	}
}

func TestFaultNodeOffline(t *testing.T) {
	ctx := context.Background()
	e := startEmu(t, t.TempDir())
	c := e.dial()
	status := func() map[string]string {
		m := map[string]string{}
		for _, r := range rows(t, mustOK(t, c, "mcsinq lsnode -delim !")) {
			m[r["name"]] = r["status"]
		}
		return m
	}
	if err := e.control().SetNodeOnline(ctx, "node2", false); err != nil {
		t.Fatal(err)
	}
	if s := status(); s["node1"] != "online" || s["node2"] != "offline" {
		t.Fatalf("lsnode after node2 offline: %v", s)
	}
	if err := e.control().SetNodeOnline(ctx, "node2", true); err != nil {
		t.Fatal(err)
	}
	if s := status(); s["node2"] != "online" {
		t.Fatalf("lsnode after node2 online: %v", s)
	}
	if err := e.control().SetNodeOnline(ctx, "node9", false); err == nil {
		t.Fatal("unknown node accepted")
	}
}

func TestFaultPoolFull(t *testing.T) {
	ctx := context.Background()
	e := startEmu(t, t.TempDir())
	c := e.dial()
	if err := e.control().SetPoolFree(ctx, "Pool0", 0); err != nil {
		t.Fatal(err)
	}
	p := rows(t, mustOK(t, c, "mcsinq lsmdiskgrp -bytes -delim ! -filtervalue name=Pool0"))
	if len(p) != 1 || p[0]["free_capacity"] != "0" {
		t.Fatalf("lsmdiskgrp of a full pool: %+v", p)
	}
	r := run(t, c, "mcsop mkvdisk -name full-1 -size 1 -unit gb -mdiskgrp Pool0")
	if r.Status != 1 || !strings.HasPrefix(r.Stderr, "CMMVC") || vdiskExists(t, c, "full-1") {
		t.Fatalf("mkvdisk in a full pool: %+v", r)
	}
	if err := e.control().SetPoolFree(ctx, "Pool0", -1); err != nil {
		t.Fatal(err)
	}
	mustOK(t, c, "mcsop mkvdisk -name full-1 -size 1 -unit gb -mdiskgrp Pool0")
}

func TestFaultsFromConfigFile(t *testing.T) {
	dir := t.TempDir()
	cfg := dir + "/emulator.yaml"
	writeFile(t, cfg, `
faults:
  rules:
    - command: rmvdisk
      error: CMMVC5753E
  offlineNodes: [node1]
`)
	e := startEmu(t, dir+"/state", "--config", cfg)
	c := e.dial()
	r := run(t, c, "mcsop rmvdisk -force nothing")
	if r.Status != 1 || r.Stderr != "CMMVC5753E The specified object does not exist or is not a suitable candidate.\n" {
		t.Fatalf("%+v", r)
	}
	for _, n := range rows(t, mustOK(t, c, "mcsinq lsnode -delim !")) {
		if n["name"] == "node1" && n["status"] != "offline" {
			t.Fatalf("node1 %+v", n)
		}
	}
}

// TestCtlSubcommand drives faults through `mcs-emulator ctl`, the way an
// in-cluster test without curl would (kubectl exec … ctl …).
func TestCtlSubcommand(t *testing.T) {
	e := startEmu(t, t.TempDir())
	c := e.dial()
	ctl := func(args ...string) string {
		t.Helper()
		out, err := runBinary(append([]string{"ctl", "--control-addr", e.ControlAddr}, args...)...)
		if err != nil {
			t.Fatalf("ctl %v: %v\n%s", args, err, out)
		}
		return out
	}
	id := strings.TrimSpace(ctl("fault-add", `{"command":"mkvdisk","error":"CMMVC6035E","times":1}`))
	if r := run(t, c, "mcsop mkvdisk -name ctl-1 -size 1 -unit gb -mdiskgrp Pool0"); r.Status != 1 || !strings.HasPrefix(r.Stderr, "CMMVC6035E ") {
		t.Fatalf("fault from ctl not applied: %+v", r)
	}
	if out := ctl("faults"); !strings.Contains(out, `"id": "`+id+`"`) || !strings.Contains(out, `"fired": 1`) {
		t.Fatalf("ctl faults:\n%s", out)
	}
	ctl("fault-rm", id)
	ctl("node", "node1", "offline")
	for _, n := range rows(t, mustOK(t, c, "mcsinq lsnode -delim !")) {
		if n["name"] == "node1" && n["status"] != "offline" {
			t.Fatalf("node1 %+v", n)
		}
	}
	ctl("pool", "Pool1", "0")
	if p := rows(t, mustOK(t, c, "mcsinq lsmdiskgrp -bytes -delim ! -filtervalue name=Pool1")); p[0]["free_capacity"] != "0" {
		t.Fatalf("Pool1 %+v", p)
	}
	if out, err := runBinary("ctl", "--control-addr", e.ControlAddr, "fault-add", `{"comand":"x"}`); err == nil {
		t.Fatalf("misspelt rule accepted: %s", out)
	}
	if out := ctl("info"); !strings.Contains(out, e.Fingerprint) {
		t.Fatalf("ctl info:\n%s", out)
	}
}
