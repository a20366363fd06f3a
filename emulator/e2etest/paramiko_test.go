package e2etest

import (
	"context"
	"encoding/json"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/instorage-csi/instorage-csi/emulator/fault"
)

// paramikoPython finds an interpreter that has paramiko (Debian:
// apt-get install python3-paramiko, which installs for /usr/bin/python3).
func paramikoPython() string {
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := exec.CommandContext(ctx, py, "-c", "import paramiko").Run()
		cancel()
		if err == nil {
			return py
		}
	}
	return ""
}

// TestParamikoCinderTransport drives the emulator with paramiko as Cinder
// does: strict known_hosts, quoted names, exit status authoritative, and
// keepalive@lag.net (want-reply false) sent during a slow command.
func TestParamikoCinderTransport(t *testing.T) {
	py := paramikoPython()
	if py == "" {
		t.Skip("python3 with paramiko not installed (apt-get install python3-paramiko); skipping")
	}
	dir := t.TempDir()
	e := startEmu(t, dir)
	if _, err := e.control().AddFault(context.Background(), fault.Rule{Command: "lsiogrp", Times: 1,
		Latency: &fault.Latency{Fixed: fault.Duration(2500 * time.Millisecond)}}); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(e.SSHAddr)
	cmds := []string{
		"mcsinq lssystem -delim !",
		"mcsinq lsiogrp -delim !", // slow: keepalives flow meanwhile
		`mcsop mkvdisk -name "volume-pm1" -mdiskgrp "Pool0" -iogrp 0 -size 1 -unit gb -rsize 2% -autoexpand -warning 0% -grainsize 256 -intier on`,
		`mcsinq lsvdisk -bytes -delim ! "volume-pm1"`,
		`mcsop rmvdisk "volume-pm1"`,
		`mcsinq lsvdisk -bytes -delim ! "volume-pm1"`,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{filepath.Join("testdata", "paramiko_client.py"), host, port, testUser, testPassword,
		filepath.Join(dir, "known_hosts")}, cmds...)
	raw, err := exec.CommandContext(ctx, py, args...).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("paramiko client: %v\n%s", err, stderr)
	}
	var res []result // JSON keys match the field names case-insensitively
	if err := json.Unmarshal(raw, &res); err != nil || len(res) != len(cmds) {
		t.Fatalf("paramiko output %q: %v", raw, err)
	}
	for i, r := range res[:5] {
		if r.Status != 0 || r.Stderr != "" {
			t.Fatalf("%s: %+v", cmds[i], r)
		}
	}
	if !strings.Contains(res[1].Stdout, "io_grp0") || !vdiskCreated.MatchString(res[2].Stdout) ||
		sections(res[3].Stdout)[0]["name"] != "volume-pm1" || res[4].Stdout != "" {
		t.Fatalf("paramiko results %+v", res)
	}
	if r := res[5]; r.Status != 1 || r.Stdout != "" || r.Stderr != notFound5754 {
		t.Fatalf("lsvdisk of a deleted vdisk: %+v", r)
	}
}
