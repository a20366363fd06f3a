package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// FieldError is one validation failure; Field is the YAML path
// ("storage[1].host").
type FieldError struct {
	Field, Msg string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

type errs []error

func (e *errs) add(field, format string, args ...any) {
	*e = append(*e, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

var (
	// storage[].name ends up in CSI volume ids (see package volumeid, same rule).
	storageNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	// hostnamePrefix is prepended to array host names (mcs-cli.md §3.5 rules).
	hostnamePrefixRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9._-]{0,31})?$`)
	fingerprintRE    = regexp.MustCompile(`^SHA256:[A-Za-z0-9+/]{43}$`)
	usernameRE       = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)
)

// Validate checks a Config after ApplyDefaults; the error joins one
// *FieldError per problem, each naming its field.
func (c *Config) Validate() error { return c.validate(true) }

// validate checks everything; with arrays false it skips what only the
// controller needs (credentials and host-key sources).
func (c *Config) validate(arrays bool) error {
	var e errs
	switch c.Log.Level {
	case "", "debug", "info", "warning", "error", "fatal":
	default:
		e.add("log.level", "%q must be one of debug, info, warning, error, fatal", c.Log.Level)
	}
	if c.Log.LogRotateMaxSize < 0 {
		e.add("log.logrotatemaxsize", "must not be negative")
	}
	c.Host.validate(&e)
	c.Task.validate(&e, "task")
	if len(c.Storage) == 0 {
		e.add("storage", "at least one array must be configured")
	}
	seen := map[string]int{}
	for i := range c.Storage {
		s := &c.Storage[i]
		f := fmt.Sprintf("storage[%d]", i)
		s.validate(&e, f, arrays)
		if j, dup := seen[s.Name]; dup && s.Name != "" {
			e.add(f+".name", "%q is already used by storage[%d]; names must be unique", s.Name, j)
		}
		seen[s.Name] = i
	}
	return errors.Join(e...)
}

func (h *Host) validate(e *errs) {
	if h.Link != "iscsi" && h.Link != "fc" {
		e.add("host.link", "%q must be iscsi or fc", h.Link)
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"scsiScanRetryTimes", h.SCSIScanRetryTimes}, {"scsiScanWaitInterval", h.SCSIScanWaitInterval},
		{"iscsiPathCheckRetryTimes", h.ISCSIPathCheckRetryTimes}, {"iscsiPathCheckWaitInterval", h.ISCSIPathCheckWaitInterval},
		{"multipathSearchRetryTimes", h.MultipathSearchRetryTimes}, {"multipathSearchWaitInterval", h.MultipathSearchWaitInterval},
		{"multipathResizeDelay", h.MultipathResizeDelay}, {"hostCommandTimeout", h.HostCommandTimeout},
	} {
		if f.v < 0 {
			e.add("host."+f.name, "%d must not be negative (0 means the default)", f.v)
		}
	}
	switch h.FCScanLevel {
	case "lun", "ctl", "all":
	default:
		e.add("host.fcScanLevel", "%q must be lun, ctl or all", h.FCScanLevel)
	}
	if !hostnamePrefixRE.MatchString(h.HostnamePrefix) {
		e.add("host.hostnamePrefix", "%q must start with a letter or _ and contain only letters, digits, . _ - (at most 32)", h.HostnamePrefix)
	}
}

func (t *Task) validate(e *errs, field string) {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"maxCreateVolumeNumber", t.MaxCreateVolumeNumber}, {"maxDeleteVolumeNumber", t.MaxDeleteVolumeNumber},
		{"maxPublishVolumeNumber", t.MaxPublishVolumeNumber}, {"maxUnpublishVolumeNumber", t.MaxUnpublishVolumeNumber},
		{"maxStageVolumeNumber", t.MaxStageVolumeNumber}, {"maxUnstageVolumeNumber", t.MaxUnstageVolumeNumber},
		{"maxCreateSnapshotNumber", t.MaxCreateSnapshotNumber}, {"maxDeleteSnapshotNumber", t.MaxDeleteSnapshotNumber},
		{"maxExpandVolumeNumber", t.MaxExpandVolumeNumber},
	} {
		if f.v < 0 {
			e.add(field+"."+f.name, "%d must not be negative (0 means the default, %d)", f.v, DefaultTaskNumber)
		}
	}
}

func (s *Storage) validate(e *errs, f string, arrays bool) {
	if !storageNameRE.MatchString(s.Name) {
		e.add(f+".name", "%q must match [A-Za-z0-9][A-Za-z0-9._-]* (at most 63 characters)", s.Name)
	}
	if s.Type != DefaultStorageType {
		e.add(f+".type", "%q is not supported; must be %s", s.Type, DefaultStorageType)
	}
	if err := checkHostPort(s.Host); err != nil {
		e.add(f+".host", "%q: %v", s.Host, err)
	}
	if arrays {
		s.validateAccess(e, f)
	}
	if s.BarrierPath != "" && !filepath.IsAbs(s.BarrierPath) {
		e.add(f+".barrierPath", "%q must be an absolute directory", s.BarrierPath)
	}
	for node, portals := range s.PortalTable.Table {
		if strings.TrimSpace(node) == "" {
			e.add(f+".portalTable.table", "empty node ID")
		}
		for j, p := range portals {
			if err := checkPortal(p); err != nil {
				e.add(fmt.Sprintf("%s.portalTable.table[%s][%d]", f, node, j), "%q: %v", p, err)
			}
		}
	}
	for j, p := range s.PortalTable.Default {
		if err := checkPortal(p); err != nil {
			e.add(fmt.Sprintf("%s.portalTable.default[%d]", f, j), "%q: %v", p, err)
		}
	}
	if s.Task != nil {
		s.Task.validate(e, f+".task")
	}
}

func checkHostPort(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return errors.New("must be ip:port, e.g. 10.0.0.1:22")
	}
	if host == "" || strings.ContainsAny(host, " \t\n") {
		return errors.New("missing host")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q must be 1-65535", port)
	}
	return nil
}

// checkPortal accepts an iSCSI portal: ip, ip:port or [ipv6]:port.
func checkPortal(p string) error {
	if net.ParseIP(p) != nil {
		return nil
	}
	host, port, err := net.SplitHostPort(p)
	if err != nil || net.ParseIP(host) == nil {
		return errors.New("must be an IP address with an optional :port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q must be 1-65535", port)
	}
	return nil
}

// validateAccess checks what the controller needs to reach the array.
func (s *Storage) validateAccess(e *errs, f string) {
	if s.Username == "" {
		e.add(f+".username", "is required (or a username file in secretDir)")
	} else if !usernameRE.MatchString(s.Username) {
		e.add(f+".username", "%q contains characters an array user name cannot have", s.Username)
	}
	if s.Password == "" {
		e.add(f+".password", "is required: set password, shadow, or a password file in secretDir")
	}
	keySources := 0
	if s.KnownHostsFile != "" {
		keySources++
		if st, err := os.Stat(s.KnownHostsFile); err != nil {
			e.add(f+".knownHostsFile", "%v", err)
		} else if st.IsDir() {
			e.add(f+".knownHostsFile", "%s is a directory", s.KnownHostsFile)
		}
	}
	if s.HostKeyFingerprint != "" {
		keySources++
		if !fingerprintRE.MatchString(s.HostKeyFingerprint) {
			e.add(f+".hostKeyFingerprint", "%q must be SHA256:<43 base64 characters> as printed by ssh-keygen -lf", s.HostKeyFingerprint)
		}
	}
	if s.InsecureSkipHostKeyVerify {
		keySources++
	}
	switch {
	case keySources == 0:
		e.add(f+".knownHostsFile", "the array's SSH host key must be verified: set knownHostsFile or hostKeyFingerprint (insecureSkipHostKeyVerify: true only for demos)")
	case keySources > 1:
		e.add(f+".hostKeyFingerprint", "set exactly one of knownHostsFile, hostKeyFingerprint, insecureSkipHostKeyVerify")
	}
}
