package e2etest

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestISCSIPortalsServedFromModel starts the binary with its iSCSI target
// (on a free port) and checks every node portal accepts connections.
func TestISCSIPortalsServedFromModel(t *testing.T) {
	e := startEmu(t, t.TempDir(), "--iscsi=true", "--iscsi-port", "-1")
	info, err := e.control().Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(info.ISCSIPortals) != 2 {
		t.Fatalf("portals %v, want one per node (127.0.0.1, 127.0.0.2)", info.ISCSIPortals)
	}
	for _, p := range info.ISCSIPortals {
		c, err := net.DialTimeout("tcp", p, 5*time.Second)
		if err != nil {
			t.Fatalf("portal %s: %v", p, err)
		}
		c.Close()
	}
}

// libiscsi runs one libiscsi utility (package libiscsi-bin) as initiator iqn.
func libiscsi(t *testing.T, tool, iqn string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, tool, append([]string{"-i", iqn}, args...)...).CombinedOutput()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return string(out), exitErr.ExitCode()
	}
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return string(out), 0
}

// TestISCSIDataPathWithLibiscsi: a vdisk mapped over SSH appears to a
// userspace initiator through both node portals with its size and
// vdisk_UID; masking, node-offline and unmapping take effect live.
func TestISCSIDataPathWithLibiscsi(t *testing.T) {
	if _, err := exec.LookPath("iscsi-ls"); err != nil {
		t.Skip("libiscsi utilities not installed (apt-get install libiscsi-bin); skipping")
	}
	e := startEmu(t, t.TempDir(), "--iscsi=true", "--iscsi-port", "-1")
	info, err := e.control().Info(context.Background())
	if err != nil || len(info.ISCSIPortals) != 2 {
		t.Fatalf("info %+v %v", info, err)
	}
	_, port, _ := net.SplitHostPort(info.ISCSIPortals[0])
	portal1, portal2 := "127.0.0.1:"+port, "127.0.0.2:"+port
	const iqn = "iqn.2024-01.com.example:e2e-initiator"
	const tgt1, tgt2 = "iqn.2004-12.com.inspur:mcs.mcs-emu.node1", "iqn.2004-12.com.inspur:mcs.mcs-emu.node2"

	c := e.dial()
	mustOK(t, c, "mcsop mkvdisk -name data-1 -size 1 -unit gb -mdiskgrp Pool0")
	mustOK(t, c, "mcsop mkhost -force -iscsiname "+iqn+" -name e2e-host")
	mustOK(t, c, "mcsop mkvdiskhostmap -force -host e2e-host data-1")
	uid := sections(mustOK(t, c, "mcsinq lsvdisk -bytes -delim ! data-1"))[0]["vdisk_UID"]

	out, st := libiscsi(t, "iscsi-ls", iqn, "-s", "iscsi://"+portal1)
	if st != 0 || strings.Count(out, "Lun:0 ") != 2 || !strings.Contains(out, tgt1) || !strings.Contains(out, tgt2) {
		t.Fatalf("iscsi-ls (mapped): %d\n%s", st, out)
	}
	out, st = libiscsi(t, "iscsi-readcapacity16", iqn, "iscsi://"+portal2+"/"+tgt2+"/0")
	if st != 0 || !strings.Contains(out, "Total size:1073741824") {
		t.Fatalf("readcapacity16 via node2: %d\n%s", st, out)
	}
	out, st = libiscsi(t, "iscsi-inq", iqn, "-e", "1", "-c", "131", "iscsi://"+portal1+"/"+tgt1+"/0")
	if st != 0 || !strings.Contains(out, uid) {
		t.Fatalf("VPD 0x83 lacks vdisk_UID %s: %d\n%s", uid, st, out)
	}
	if out, _ := libiscsi(t, "iscsi-ls", "iqn.2024-01.com.example:stranger", "-s", "iscsi://"+portal1); strings.Contains(out, "Lun:") {
		t.Fatalf("unmapped initiator sees LUNs:\n%s", out)
	}

	if err := e.control().SetNodeOnline(context.Background(), "node2", false); err != nil {
		t.Fatal(err)
	}
	if out, st := libiscsi(t, "iscsi-readcapacity16", iqn, "iscsi://"+portal1+"/"+tgt1+"/0"); st != 0 {
		t.Fatalf("node1 path with node2 offline: %d\n%s", st, out)
	}
	if _, st := libiscsi(t, "iscsi-readcapacity16", iqn, "iscsi://"+portal2+"/"+tgt2+"/0"); st == 0 {
		t.Fatal("login through an offline node succeeded")
	}
	if err := e.control().SetNodeOnline(context.Background(), "node2", true); err != nil {
		t.Fatal(err)
	}
	if out, st := libiscsi(t, "iscsi-readcapacity16", iqn, "iscsi://"+portal2+"/"+tgt2+"/0"); st != 0 {
		t.Fatalf("node2 back online but not serving: %d\n%s", st, out)
	}

	mustOK(t, c, "mcsop rmvdiskhostmap -host e2e-host data-1")
	if out, _ := libiscsi(t, "iscsi-ls", iqn, "-s", "iscsi://"+portal1); strings.Contains(out, "Lun:") {
		t.Fatalf("LUN still visible after rmvdiskhostmap:\n%s", out)
	}
}

// TestPortalOverride: --portal moves a node's iSCSI portal (the pod IP in
// Kubernetes); lsportip and the target both follow it.
func TestPortalOverride(t *testing.T) {
	e := startEmu(t, t.TempDir(), "--iscsi=true", "--iscsi-port", "-1", "--portal", "node1=127.0.0.5")
	found := false
	for _, p := range rows(t, mustOK(t, e.dial(), "mcsinq lsportip -delim !")) {
		if p["node_name"] == "node1" && p["IP_address"] != "" {
			found = true
			if p["IP_address"] != "127.0.0.5" {
				t.Fatalf("node1 lsportip %+v", p)
			}
		}
	}
	if !found {
		t.Fatal("no lsportip row with an address for node1")
	}
	info, err := e.control().Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(info.ISCSIPortals) != 2 || !strings.HasPrefix(info.ISCSIPortals[0], "127.0.0.5:") {
		t.Fatalf("portals %v", info.ISCSIPortals)
	}
	c, err := net.DialTimeout("tcp", info.ISCSIPortals[0], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
