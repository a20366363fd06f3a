package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/instorage-csi/instorage-csi/emulator/config"
	"github.com/instorage-csi/instorage-csi/emulator/model"
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
		"bad cluster id":         {"--cluster-id", "00000200XYZ"},
		"bad cluster name":       {"--cluster-name", "no!"},
	} {
		t.Run(name, func(t *testing.T) {
			o := resolve(t, args...)
			if _, err := o.Resolve(); err == nil {
				t.Fatalf("%v accepted", args)
			}
		})
	}
}

// Two emulators started the way the demo overlay starts its StatefulSet replicas
// (same preset, --cluster-id auto, own state dirs) must hand out different
// vdisk_UIDs for the same first vdisk, and each keeps its id across restarts.
func TestClusterIDAuto_DistinctArraysStableAcrossRestart(t *testing.T) {
	open := func(stateDir, name string) (*model.Array, string) {
		t.Helper()
		c, err := resolve(t, "--preset", "two-site", "--state-dir", stateDir, "--cluster-name", name, "--cluster-id", "auto").Resolve()
		if err != nil {
			t.Fatal(err)
		}
		topo, err := c.ResolvedTopology()
		if err != nil {
			t.Fatal(err)
		}
		if topo.ClusterName != name {
			t.Fatalf("cluster name %q, want %q", topo.ClusterName, name)
		}
		if topo.ClusterID, err = c.ClusterIdentity(topo.ClusterID); err != nil {
			t.Fatal(err)
		}
		arr, err := model.OpenWithOptions(filepath.Join(stateDir, config.ArrayDir), topo, model.Options{TickInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		return arr, topo.ClusterID
	}
	firstUID := func(arr *model.Array) string {
		t.Helper()
		if _, err := arr.MkVDisk(model.MkVDiskReq{Name: "v", Pools: []string{"Pool0"}, SizeBytes: 1 << 30}); err != nil {
			t.Fatal(err)
		}
		vs := arr.VDisks(model.VDiskSelector{})
		if len(vs) != 1 {
			t.Fatalf("%d vdisks", len(vs))
		}
		return vs[0].UID
	}
	d1, d2 := t.TempDir(), t.TempDir()
	a1, id1 := open(d1, "mcs-emulator-0")
	a2, id2 := open(d2, "mcs-emulator-1")
	if id1 == id2 || id1 == model.TwoSiteTopology().ClusterID {
		t.Fatalf("auto ids %s and %s (preset %s)", id1, id2, model.TwoSiteTopology().ClusterID)
	}
	u1, u2 := firstUID(a1), firstUID(a2)
	if u1 == u2 {
		t.Fatalf("both arrays gave vdisk_UID %s", u1)
	}
	a1.Close()
	a2.Close()
	a1, again := open(d1, "mcs-emulator-0")
	defer a1.Close()
	if again != id1 {
		t.Fatalf("cluster id changed across restart: %s → %s", id1, again)
	}
	if vs := a1.VDisks(model.VDiskSelector{}); len(vs) != 1 || vs[0].UID != u1 {
		t.Fatalf("vdisk_UID after restart: %+v, want %s", vs, u1)
	}
	// An explicit, different id on the same state is refused: the WWIDs would change under hosts.
	c, err := resolve(t, "--preset", "two-site", "--state-dir", d1, "--cluster-id", "0000020064A0FFFF").Resolve()
	if err != nil {
		t.Fatal(err)
	}
	topo, _ := c.ResolvedTopology()
	if _, err := c.ClusterIdentity(topo.ClusterID); err == nil || !strings.Contains(err.Error(), id1) {
		t.Fatalf("explicit id over a state created as %s: err %v", id1, err)
	}
}
