package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleLoadsAndValidates(t *testing.T) {
	c, err := Load("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	l, err := c.SSH.Limits.Resolved()
	if err != nil || l.MaxSessions != 32 || l.ConnectionsPerSecond != 3 || l.ConnectionBurst != 3 {
		t.Fatalf("limits %+v %v", l, err)
	}
	if time.Duration(c.SSH.CommandTimeout) != 2*time.Minute || len(c.Faults.Rules) != 4 ||
		c.Faults.OfflineNodes[0] != "node2" || c.Faults.PoolFree["Pool1"] != 0 || !c.ISCSIEnabled() {
		t.Fatalf("%+v", c)
	}
}

func TestEmptyConfigIsDefault(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	topo, _ := c.ResolvedTopology()
	if len(topo.Nodes) != 2 || !c.ISCSIEnabled() {
		t.Fatalf("%+v", topo)
	}
	l, _ := c.SSH.Limits.Resolved()
	if l != (Limits{}) {
		t.Fatalf("limits should be off by default: %+v", l)
	}
}

func TestBadConfigsRejected(t *testing.T) {
	cases := map[string]string{
		"unknown key":       "ssh: {adr: 1.2.3.4:22}\n",
		"bad preset":        "preset: three-site\n",
		"bad limits preset": "ssh: {limits: {preset: fast}}\n",
		"user without auth": "users: [{name: a}]\n",
		"duplicate user":    "users: [{name: a, password: x}, {name: a, password: y}]\n",
		"user with colon":   "users: [{name: 'a:b', password: x}]\n",
		"bad fault":         "faults: {rules: [{command: mkvdisk}]}\n",
		"bad duration":      "ssh: {commandTimeout: soon}\n",
		"bad ssh addr":      "ssh: {addr: nowhere}\n",
		"bad topology":      "topology: {clusterName: x}\n",
		"negative rate":     "ssh: {limits: {connectionsPerSecond: -1}}\n",
		"password and file": "users: [{name: a, password: x, passwordFile: /p}]\n",
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(p, []byte(doc), 0o600)
			c, err := Load(p)
			if err == nil {
				err = c.Validate()
			}
			if err == nil {
				t.Fatalf("accepted %q", doc)
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte("fromfile\n"), 0o600)
	creds, err := Credentials([]User{{Name: "a", Password: "x"}, {Name: "b", PasswordFile: pwFile}})
	if err != nil {
		t.Fatal(err)
	}
	if !creds.CheckPassword("a", "x") || !creds.CheckPassword("b", "fromfile") || creds.CheckPassword("b", "fromfile\n") {
		t.Fatal("password checks")
	}
	if _, err := ParseUserFlag("admin"); err == nil {
		t.Fatal("--user without password accepted")
	}
	u, err := ParseUserFlag("admin:pa:ss")
	if err != nil || u.Name != "admin" || u.Password != "pa:ss" {
		t.Fatalf("%+v %v", u, err)
	}
	// The example's inline authorized key must parse.
	c, _ := Load("example.yaml")
	if _, err := Credentials(c.Users[1:]); err != nil {
		t.Fatalf("example users: %v", err)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:22": true, "127.0.0.2:1": true, "[::1]:22": true,
		"localhost:22": true, "0.0.0.0:22": false, ":22": false, "10.0.0.1:22": false} {
		if IsLoopback(addr) != want {
			t.Errorf("IsLoopback(%q) != %v", addr, want)
		}
	}
}

func TestPortalOverride(t *testing.T) {
	c := &Config{Preset: "two-site", Portals: map[string][]string{"node1": {"10.244.1.5"}, "node3": {"10.244.1.6:3261"}}}
	topo, err := c.ResolvedTopology()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, n := range topo.Nodes {
		got[n.Name] = strings.Join(n.Portals, ",")
	}
	if got["node1"] != "10.244.1.5:3260" || got["node3"] != "10.244.1.6:3261" || got["node2"] != "127.0.0.2:3260" {
		t.Fatalf("portals %v", got)
	}
	if _, err := (&Config{Portals: map[string][]string{"node9": {"1.2.3.4"}}}).ResolvedTopology(); err == nil {
		t.Fatal("unknown node accepted")
	}
	// The preset itself is not modified.
	if d, _ := (&Config{}).ResolvedTopology(); d.Nodes[0].Portals[0] != "127.0.0.1:3260" {
		t.Fatalf("default topology changed: %v", d.Nodes[0].Portals)
	}
}

func TestClusterIdentity(t *testing.T) {
	const preset = "0000020064A0E1D5"
	t.Run("state from before the record keeps the topology's id under auto", func(t *testing.T) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, ArrayDir), 0o700)
		os.WriteFile(filepath.Join(dir, ArrayDir, "journal.log"), []byte("{}\n"), 0o600)
		c := &Config{StateDir: dir, ClusterID: ClusterIDAuto}
		id, err := c.ClusterIdentity(preset)
		if err != nil || id != preset {
			t.Fatalf("id %q err %v, want the topology's %s", id, err, preset)
		}
		b, _ := os.ReadFile(filepath.Join(dir, ClusterIDFile))
		if strings.TrimSpace(string(b)) != preset {
			t.Fatalf("recorded %q", b)
		}
	})
	t.Run("explicit id is recorded and must match later", func(t *testing.T) {
		dir := t.TempDir()
		c := &Config{StateDir: dir}
		if id, err := c.ClusterIdentity(preset); err != nil || id != preset {
			t.Fatalf("id %q err %v", id, err)
		}
		if _, err := c.ClusterIdentity("0000020064A0E2D6"); err == nil {
			t.Fatal("a different explicit id was accepted over the recorded one")
		}
		c.ClusterID = ClusterIDAuto
		if id, err := c.ClusterIdentity("0000020064A0E2D6"); err != nil || id != preset {
			t.Fatalf("auto over a record: id %q err %v", id, err)
		}
	})
	t.Run("auto draws a valid id, different per state dir", func(t *testing.T) {
		seen := map[string]bool{}
		for range 8 {
			id, err := (&Config{StateDir: t.TempDir(), ClusterID: ClusterIDAuto}).ClusterIdentity(preset)
			if err != nil || !validClusterID(id) || !strings.HasPrefix(id, clusterIDPrefix) || id != strings.ToUpper(id) {
				t.Fatalf("id %q err %v", id, err)
			}
			if seen[id] {
				t.Fatalf("id %s drawn twice", id)
			}
			seen[id] = true
		}
	})
	t.Run("a damaged record is an error, not a new id", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, ClusterIDFile), []byte("garbage\n"), 0o600)
		if _, err := (&Config{StateDir: dir, ClusterID: ClusterIDAuto}).ClusterIdentity(preset); err == nil {
			t.Fatal("accepted a damaged cluster-id file")
		}
	})
}
