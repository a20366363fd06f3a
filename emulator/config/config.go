// Package config is the mcs-emulator YAML file: everything beyond the
// command-line basics (topology, accounts, limits, faults, iSCSI identity).
// A missing file or an empty document gives a working demo array.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/instorage-csi/instorage-csi/emulator/fault"
	"github.com/instorage-csi/instorage-csi/emulator/model"
)

// Defaults used when neither the file nor a flag sets a value.
const (
	DefaultSSHAddr     = "127.0.0.1:2222"
	DefaultControlAddr = "127.0.0.1:2280"
	DefaultStateDir    = "./mcs-emulator-state"
	// DemoUser/DemoPassword apply only when no account is configured and
	// SSH listens on loopback; serve logs a warning when they are used.
	DemoUser     = "admin"
	DemoPassword = "admin"
)

// ISCSIAnyPort as iscsi.port picks one free port for all portals (tests
// that run several emulators side by side).
const ISCSIAnyPort = -1

// ArrayDir is the subdirectory of the state dir that holds the model's
// journal and vdisk data files (the host key sits next to it).
const ArrayDir = "array"

// Real-array connection limits (mcs-cli.md §1.1, §11.1 item 8), applied by
// ssh.limits.preset: array.
const (
	ArrayMaxSessions          = 32
	ArrayConnectionsPerSecond = 3
	ArrayConnectionBurst      = 3
)

// Config is the whole file.
type Config struct {
	StateDir string  `json:"stateDir,omitempty"`
	SSH      SSH     `json:"ssh"`
	Control  Control `json:"control"`
	Users    []User  `json:"users,omitempty"`
	// Preset picks a built-in topology: "default" (one I/O group, two
	// nodes) or "two-site" (active-active). Topology, when set, wins.
	Preset   string          `json:"preset,omitempty"`
	Topology *model.Topology `json:"topology,omitempty"`
	// Portals replace the iSCSI portals of named nodes (node → "ip" or
	// "ip:port"), e.g. the pod IP in Kubernetes, where 127.0.0.x is
	// unreachable from the cluster's nodes.
	Portals map[string][]string `json:"portals,omitempty"`
	// ClusterName and ClusterID replace the topology's. Two emulators one
	// initiator sees need distinct ones: target IQNs embed the name and every
	// vdisk_UID (the multipath WWID) the id, so two arrays under the same id
	// hand out the same WWID for vdisks of the same serial and multipathd merges
	// them into one map. ClusterID "auto" draws an id on the first start and keeps
	// it in the state dir (ClusterIDFile), as a real array's is fixed at install.
	ClusterName string `json:"clusterName,omitempty"`
	ClusterID   string `json:"clusterID,omitempty"`
	Faults      Faults `json:"faults"`
	ISCSI       ISCSI  `json:"iscsi"`
}

// SSH is the CLI transport.
type SSH struct {
	Addr           string         `json:"addr,omitempty"`
	Limits         Limits         `json:"limits"`
	CommandTimeout fault.Duration `json:"commandTimeout,omitempty"` // 0 → 2m
	IdleTimeout    fault.Duration `json:"idleTimeout,omitempty"`    // 0 → never
}

// Limits mimic the array; all off by default so tests may open many
// connections. Preset "array" sets the real values (32 sessions, 3/s).
type Limits struct {
	Preset               string  `json:"preset,omitempty"` // "" | "array"
	MaxSessions          int     `json:"maxSessions,omitempty"`
	ConnectionsPerSecond float64 `json:"connectionsPerSecond,omitempty"`
	ConnectionBurst      int     `json:"connectionBurst,omitempty"`
}

// Control is the HTTP control API (faults, health, metrics).
type Control struct {
	Addr string `json:"addr,omitempty"` // "off" disables it
	// TokenFile holds a bearer token required on every request except
	// /healthz; mandatory when Addr is not loopback.
	TokenFile string `json:"tokenFile,omitempty"`
}

// User is one CLI account. Password or PasswordFile (first line) or keys.
type User struct {
	Name               string   `json:"name"`
	Password           string   `json:"password,omitempty"`
	PasswordFile       string   `json:"passwordFile,omitempty"`
	AuthorizedKeysFile string   `json:"authorizedKeysFile,omitempty"`
	AuthorizedKeys     []string `json:"authorizedKeys,omitempty"` // authorized_keys lines
}

// Faults are active from the first command after start.
type Faults struct {
	Rules []fault.Rule `json:"rules,omitempty"`
	fault.State
}

// ISCSI configures the data path target.
type ISCSI struct {
	Enabled   *bool             `json:"enabled,omitempty"` // default on
	Port      int               `json:"port,omitempty"`    // default 3260; -1 picks a free port (tests)
	Vendor    string            `json:"vendor,omitempty"`  // INQUIRY; default INSPUR
	Product   string            `json:"product,omitempty"` // default MCS
	Revision  string            `json:"revision,omitempty"`
	Advertise map[string]string `json:"advertise,omitempty"` // listened ip:port → advertised ip:port
}

// Load reads path strictly: unknown keys are errors so typos do not pass
// silently. An empty path returns the defaults.
func Load(path string) (*Config, error) {
	c := &Config{}
	if path == "" {
		return c, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if err := yaml.UnmarshalStrict(data, c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ResolvedTopology is the topology the array is opened with: the preset or
// the explicit topology, with Portals applied.
func (c *Config) ResolvedTopology() (model.Topology, error) {
	var t model.Topology
	switch {
	case c.Topology != nil:
		t = *c.Topology
		t.Nodes = append([]model.TopoNode(nil), t.Nodes...)
	case c.Preset == "" || c.Preset == "default":
		t = model.DefaultTopology()
	case c.Preset == "two-site":
		t = model.TwoSiteTopology()
	default:
		return model.Topology{}, fmt.Errorf("unknown preset %q (want default or two-site)", c.Preset)
	}
	if c.ClusterName != "" {
		t.ClusterName = c.ClusterName
	}
	if c.ClusterID != "" && c.ClusterID != ClusterIDAuto {
		t.ClusterID = strings.ToUpper(c.ClusterID)
	}
	for node, portals := range c.Portals {
		found := false
		for i := range t.Nodes {
			if t.Nodes[i].Name != node {
				continue
			}
			found = true
			t.Nodes[i].Portals = nil
			for _, p := range portals {
				if _, _, err := net.SplitHostPort(p); err != nil {
					p = net.JoinHostPort(p, "3260")
				}
				t.Nodes[i].Portals = append(t.Nodes[i].Portals, p)
			}
		}
		if !found {
			return model.Topology{}, fmt.Errorf("portals: no node %q in the topology", node)
		}
	}
	return t, nil
}

// Resolved applies the preset; explicit numbers override it.
func (l Limits) Resolved() (Limits, error) {
	out := l
	switch l.Preset {
	case "":
	case "array":
		if out.MaxSessions == 0 {
			out.MaxSessions = ArrayMaxSessions
		}
		if out.ConnectionsPerSecond == 0 {
			out.ConnectionsPerSecond = ArrayConnectionsPerSecond
		}
		if out.ConnectionBurst == 0 {
			out.ConnectionBurst = ArrayConnectionBurst
		}
	default:
		return l, fmt.Errorf("unknown ssh.limits.preset %q (want \"\" or array)", l.Preset)
	}
	if out.MaxSessions < 0 || out.ConnectionsPerSecond < 0 || out.ConnectionBurst < 0 {
		return l, errors.New("ssh.limits must not be negative")
	}
	return out, nil
}

// ISCSIEnabled reports whether the iSCSI target should start.
func (c *Config) ISCSIEnabled() bool { return c.ISCSI.Enabled == nil || *c.ISCSI.Enabled }

// Validate checks what can be checked without opening anything.
func (c *Config) Validate() error {
	t, err := c.ResolvedTopology()
	if err != nil {
		return err
	}
	if err := t.Validate(); err != nil {
		return err
	}
	if _, err := c.SSH.Limits.Resolved(); err != nil {
		return err
	}
	if c.SSH.CommandTimeout < 0 || c.SSH.IdleTimeout < 0 {
		return errors.New("ssh timeouts must not be negative")
	}
	if c.SSH.Addr != "" {
		if _, _, err := net.SplitHostPort(c.SSH.Addr); err != nil {
			return fmt.Errorf("ssh.addr: %w", err)
		}
	}
	if c.Control.Addr != "" && c.Control.Addr != "off" {
		if _, _, err := net.SplitHostPort(c.Control.Addr); err != nil {
			return fmt.Errorf("control.addr: %w", err)
		}
	}
	seen := map[string]bool{}
	for i, u := range c.Users {
		if u.Name == "" || strings.ContainsAny(u.Name, ": \t") {
			return fmt.Errorf("users[%d]: name %q must be non-empty without ':' or spaces", i, u.Name)
		}
		if seen[u.Name] {
			return fmt.Errorf("users[%d]: duplicate user %q", i, u.Name)
		}
		seen[u.Name] = true
		if u.Password != "" && u.PasswordFile != "" {
			return fmt.Errorf("user %s: password and passwordFile are exclusive", u.Name)
		}
		if u.Password == "" && u.PasswordFile == "" && u.AuthorizedKeysFile == "" && len(u.AuthorizedKeys) == 0 {
			return fmt.Errorf("user %s: needs a password or authorized keys", u.Name)
		}
	}
	in := fault.NewInjector()
	for _, r := range c.Faults.Rules {
		if _, err := in.Add(r); err != nil {
			return err
		}
	}
	if c.ISCSI.Port < ISCSIAnyPort || c.ISCSI.Port > 65535 {
		return fmt.Errorf("iscsi.port %d out of range", c.ISCSI.Port)
	}
	return nil
}

// IsLoopback reports whether addr's host is a loopback IP or "localhost".
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Duration converts for callers outside this package.
func Duration(d fault.Duration) time.Duration { return time.Duration(d) }
