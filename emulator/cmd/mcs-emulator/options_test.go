package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/instorage-csi/instorage-csi/emulator/config"
)

func resolve(t *testing.T, args ...string) *Options {
	t.Helper()
	var o Options
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	o.parsed(fs)
	return &o
}

func TestResolve_FlagsOverrideFileOnlyWhenGiven(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfg, []byte("stateDir: /from/file\nssh: {addr: 127.0.0.1:2022}\nusers: [{name: admin, password: filepw}]\n"), 0o600)

	o := resolve(t, "--config", cfg)
	c, err := o.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != "/from/file" || c.SSH.Addr != "127.0.0.1:2022" || c.Control.Addr != "127.0.0.1:2280" {
		t.Fatalf("file values lost: %+v", c)
	}

	o = resolve(t, "--config", cfg, "--state-dir", "/from/flag", "--user", "admin:flagpw", "--user", "ops:x", "--array-limits")
	c, err = o.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != "/from/flag" || len(c.Users) != 2 || c.Users[0].Password != "flagpw" || c.SSH.Limits.Preset != "array" {
		t.Fatalf("flags not applied: %+v", c)
	}
}

func TestResolve_PasswordFile(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "password")
	os.WriteFile(pw, []byte("from-secret\n"), 0o600)
	c, err := resolve(t, "--password-file", "csi:"+pw).Resolve()
	if err != nil {
		t.Fatal(err)
	}
	creds, err := config.Credentials(c.Users)
	if err != nil || !creds.CheckPassword("csi", "from-secret") {
		t.Fatalf("password file not used: %+v %v", c.Users, err)
	}
}

func TestResolve_PortalFlag(t *testing.T) {
	c, err := resolve(t, "--preset", "two-site", "--portal", "node1=10.244.1.5", "--portal", "node1=10.244.1.7").Resolve()
	if err != nil {
		t.Fatal(err)
	}
	topo, _ := c.ResolvedTopology()
	if p := topo.Nodes[0].Portals; len(p) != 2 || p[0] != "10.244.1.5:3260" || p[1] != "10.244.1.7:3260" {
		t.Fatalf("node1 portals %v", p)
	}
}

func TestResolve_Rejects(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfg, []byte("topology: {clusterName: x}\n"), 0o600)
	for name, args := range map[string][]string{
		"user without password":  {"--user", "admin"},
		"bad authorized-keys":    {"--authorized-keys", "nofile"},
		"bad password-file":      {"--password-file", "nofile"},
		"bad portal":             {"--portal", "node1"},
		"portal of unknown node": {"--portal", "node7=10.0.0.1"},
		"bad preset":             {"--preset", "moon"},
		"preset and topology":    {"--config", cfg, "--preset", "two-site"},
		"bad ssh addr":           {"--ssh-addr", "nowhere"},
	} {
		t.Run(name, func(t *testing.T) {
			o := resolve(t, args...)
			if _, err := o.Resolve(); err == nil {
				t.Fatalf("%v accepted", args)
			}
		})
	}
}
