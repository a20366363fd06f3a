package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/emulator/config"
)

// Options are the serve flags; each one, when given, overrides the config
// file key named in its help text.
type Options struct {
	ConfigFile     string
	StateDir       string
	SSHAddr        string
	ControlAddr    string
	Users          []string // NAME:PASSWORD
	AuthorizedKeys []string // NAME:FILE
	PasswordFiles  []string // NAME:FILE
	Portals        []string // NODE=IP[:PORT]
	Preset         string
	ClusterName    string
	ClusterID      string
	ArrayLimits    bool
	ISCSI          bool
	ISCSIPort      int

	set map[string]bool
}

type listFlag struct{ dst *[]string }

func (l listFlag) String() string {
	if l.dst == nil {
		return ""
	}
	return strings.Join(*l.dst, ",")
}
func (l listFlag) Set(v string) error { *l.dst = append(*l.dst, v); return nil }

// AddFlags registers the flags (and klog's) on fs.
func (o *Options) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.ConfigFile, "config", "", "YAML config file (see emulator/config/example.yaml)")
	fs.StringVar(&o.StateDir, "state-dir", config.DefaultStateDir, "directory holding the array state and SSH host key (stateDir)")
	fs.StringVar(&o.SSHAddr, "ssh-addr", config.DefaultSSHAddr, "SSH listen address host:port; port 0 picks one (ssh.addr)")
	fs.StringVar(&o.ControlAddr, "control-addr", config.DefaultControlAddr, `control API listen address, or "off" (control.addr)`)
	fs.Var(listFlag{&o.Users}, "user", "CLI account NAME:PASSWORD; repeatable. Visible in ps: prefer users[].passwordFile in --config outside demos (users)")
	fs.Var(listFlag{&o.PasswordFiles}, "password-file", "NAME:FILE, the password of user NAME in FILE (e.g. a mounted Secret key); repeatable, not visible in ps (users[].passwordFile)")
	fs.Var(listFlag{&o.AuthorizedKeys}, "authorized-keys", "NAME:FILE, an OpenSSH authorized_keys file for user NAME; repeatable (users[].authorizedKeysFile)")
	fs.Var(listFlag{&o.Portals}, "portal", "NODE=IP[:PORT], replace a node's iSCSI portal (e.g. node1=$(POD_IP)); repeatable (portals)")
	fs.StringVar(&o.Preset, "preset", "default", "topology: default (1 I/O group, 2 nodes) or two-site (preset)")
	fs.StringVar(&o.ClusterName, "cluster-name", "", "replace the topology's cluster name (target IQNs embed it) (clusterName)")
	fs.StringVar(&o.ClusterID, "cluster-id", "", `replace the topology's 16-hex cluster id (vdisk_UIDs embed it), or "auto": drawn on first start, kept in the state dir (clusterID)`)
	fs.BoolVar(&o.ArrayLimits, "array-limits", false, "apply the real array's SSH limits: 32 sessions, 3 new connections/s (ssh.limits.preset: array)")
	fs.BoolVar(&o.ISCSI, "iscsi", true, "serve the iSCSI target on every node portal (iscsi.enabled)")
	fs.IntVar(&o.ISCSIPort, "iscsi-port", 3260, "iSCSI portal port; -1 picks a free one (iscsi.port)")
	klog.InitFlags(fs)
}

// parsed records which flags were given so only those override the file.
func (o *Options) parsed(fs *flag.FlagSet) {
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
}

// Resolve loads the config file and applies the given flags on top.
func (o *Options) Resolve() (*config.Config, error) {
	c, err := config.Load(o.ConfigFile)
	if err != nil {
		return nil, err
	}
	if o.set["state-dir"] || c.StateDir == "" {
		c.StateDir = o.StateDir
	}
	if o.set["ssh-addr"] || c.SSH.Addr == "" {
		c.SSH.Addr = o.SSHAddr
	}
	if o.set["control-addr"] || c.Control.Addr == "" {
		c.Control.Addr = o.ControlAddr
	}
	if o.set["preset"] {
		if c.Topology != nil {
			return nil, errors.New("--preset conflicts with topology in the config file")
		}
		c.Preset = o.Preset
	}
	if o.set["cluster-name"] {
		c.ClusterName = o.ClusterName
	}
	if o.set["cluster-id"] {
		c.ClusterID = o.ClusterID
	}
	if o.set["array-limits"] {
		c.SSH.Limits.Preset = ""
		if o.ArrayLimits {
			c.SSH.Limits.Preset = "array"
		}
	}
	if o.set["iscsi"] {
		c.ISCSI.Enabled = &o.ISCSI
	}
	if o.set["iscsi-port"] {
		c.ISCSI.Port = o.ISCSIPort
	}
	if len(o.Portals) > 0 {
		c.Portals = map[string][]string{} // --portal replaces the file's map
	}
	for _, v := range o.Portals {
		node, ip, ok := strings.Cut(v, "=")
		if !ok || node == "" || ip == "" {
			return nil, fmt.Errorf("--portal %q: want NODE=IP[:PORT]", v)
		}
		c.Portals[node] = append(c.Portals[node], ip)
	}
	for _, v := range o.Users {
		u, err := config.ParseUserFlag(v)
		if err != nil {
			return nil, err
		}
		c.Users = mergeUser(c.Users, u)
	}
	for _, v := range o.PasswordFiles {
		name, file, ok := strings.Cut(v, ":")
		if !ok || name == "" || file == "" {
			return nil, fmt.Errorf("--password-file %q: want NAME:FILE", v)
		}
		c.Users = mergeUser(c.Users, config.User{Name: name, PasswordFile: file})
	}
	for _, v := range o.AuthorizedKeys {
		name, file, ok := strings.Cut(v, ":")
		if !ok || name == "" || file == "" {
			return nil, fmt.Errorf("--authorized-keys %q: want NAME:FILE", v)
		}
		c.Users = mergeUser(c.Users, config.User{Name: name, AuthorizedKeysFile: file})
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// mergeUser adds u, or fills in the missing half of an existing entry.
func mergeUser(users []config.User, u config.User) []config.User {
	for i := range users {
		if users[i].Name == u.Name {
			if u.Password != "" {
				users[i].Password, users[i].PasswordFile = u.Password, ""
			}
			if u.PasswordFile != "" {
				users[i].Password, users[i].PasswordFile = "", u.PasswordFile
			}
			if u.AuthorizedKeysFile != "" {
				users[i].AuthorizedKeysFile = u.AuthorizedKeysFile
			}
			return users
		}
	}
	return append(users, u)
}
