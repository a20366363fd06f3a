package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

// vendorYAML is the V2.2.0 manual's example (table 3-1), unchanged except
// for the host-key line this project requires.
const vendorYAML = `
log:
  enabled: false
  logdir: log
  level: ""
  logrotatemaxsize: 0
host:
  link: iscsi
  forceUseMultipath: false
  scsiScanRetryTimes: 3
  scsiScanWaitInterval: 3
  iscsiPathCheckRetryTimes: 3
  iscsiPathCheckWaitInterval: 3
  multipathSearchRetryTimes: 3
  multipathSearchWaitInterval: 3
  multipathResizeDelay: 1
  fcScanLevel: lun
  hostnamePrefix: ""
  hostCommandTimeout: 0
storage:
- name: storage-01
  type: AS18000
  host: 10.0.0.1:22
  username: username
  password: password
  shadow: ""
  deviceUsername: superuser
  devicePassword: "00000000"
  deviceShadow: ""
  barrierPath: ""
  portalTable:
    table: {}
    default: []
  hostKeyFingerprint: SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU
task:
  maxCreateVolumeNumber: 4
  maxDeleteVolumeNumber: 4
  maxPublishVolumeNumber: 4
  maxUnpublishVolumeNumber: 4
  maxStageVolumeNumber: 4
  maxUnstageVolumeNumber: 4
  maxCreateSnapshotNumber: 4
  maxDeleteSnapshotNumber: 4
  maxExpandVolumeNumber: 4
`

const fp = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad_VendorFile(t *testing.T) {
	p := writeFile(t, t.TempDir(), "instorage.yaml", vendorYAML)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Storage[0]
	if s.Name != "storage-01" || s.Username != "username" || s.Password != "password" || s.Host != "10.0.0.1:22" {
		t.Errorf("storage = %+v", s)
	}
	if c.Host.HostCommandTimeout != 300 || c.Host.SCSIScanWaitInterval != 3 || c.Host.Link != "iscsi" {
		t.Errorf("host defaults: %+v", c.Host)
	}
	if c.Host.AttachExtendFileLockPath != p {
		t.Errorf("lock path default = %q, want the config file", c.Host.AttachExtendFileLockPath)
	}
	if s.BarrierPath != DefaultBarrierPath || s.Task == nil || *s.Task != c.Task {
		t.Errorf("storage defaults: barrier %q task %+v", s.BarrierPath, s.Task)
	}
}

// The 2020 README example: no task, no fcScanLevel; defaults fill in.
func TestLoad_2020ReadmeFileDefaults(t *testing.T) {
	doc := `
log:
  enabled: false
  logdir: log
  level: ""
  logrotatemaxsize: 0
host:
  link: iscsi
  forceUseMultipath: false
  scsiScanRetryTimes: 3
  scsiScanWaitInterval: 1
  iscsiPathCheckRetryTimes: 3
  iscsiPathCheckWaitInterval: 1
  multipathSearchRetryTimes: 3
  multipathSearchWaitInterval: 1
  multipathResizeDelay: 1
storage:
- name: storage-01
  type: AS18000
  host: 192.168.10.100:22
  username: username
  password: password
  insecureSkipHostKeyVerify: true
`
	c, err := Load(writeFile(t, t.TempDir(), "c.yaml", doc))
	if err != nil {
		t.Fatal(err)
	}
	want := Task{4, 4, 4, 4, 4, 4, 4, 4, 4}
	if c.Task != want || *c.Storage[0].Task != want {
		t.Errorf("task = %+v / %+v", c.Task, c.Storage[0].Task)
	}
	if c.Host.FCScanLevel != "lun" {
		t.Errorf("fcScanLevel = %q", c.Host.FCScanLevel)
	}
}

func TestTask_PerStorageOverrideInheritsTopLevel(t *testing.T) {
	c := &Config{
		Task: Task{MaxCreateVolumeNumber: 8},
		Storage: []Storage{
			{Name: "a", Task: &Task{MaxDeleteVolumeNumber: 2}},
			{Name: "b"},
		},
	}
	c.ApplyDefaults()
	a, b := c.Storage[0].Task, c.Storage[1].Task
	if a.MaxCreateVolumeNumber != 8 || a.MaxDeleteVolumeNumber != 2 || a.MaxExpandVolumeNumber != 4 {
		t.Errorf("a = %+v", a)
	}
	if b.MaxCreateVolumeNumber != 8 || b.MaxDeleteVolumeNumber != 4 {
		t.Errorf("b = %+v", b)
	}
}

func TestParse_UnknownFieldRejected(t *testing.T) {
	_, err := Parse([]byte("storage:\n- name: a\n  pasword: x\n"))
	if err == nil || !strings.Contains(err.Error(), "pasword") {
		t.Fatalf("err = %v", err)
	}
}

func validStorage() Storage {
	return Storage{Name: "s1", Type: "AS18000", Host: "127.0.0.1:2222", Username: "superuser", Password: "pw", HostKeyFingerprint: fp}
}

// Every validation error names the field it is about.
func TestValidate_ErrorsNameTheirField(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		field  string
		mutate func(c *Config)
	}{
		{"log.level", func(c *Config) { c.Log.Level = "verbose" }},
		{"host.link", func(c *Config) { c.Host.Link = "nvme" }},
		{"host.fcScanLevel", func(c *Config) { c.Host.FCScanLevel = "every" }},
		{"host.scsiScanRetryTimes", func(c *Config) { c.Host.SCSIScanRetryTimes = -1 }},
		{"host.hostCommandTimeout", func(c *Config) { c.Host.HostCommandTimeout = -5 }},
		{"host.hostnamePrefix", func(c *Config) { c.Host.HostnamePrefix = "k8s;rm" }},
		{"task.maxCreateVolumeNumber", func(c *Config) { c.Task.MaxCreateVolumeNumber = -1 }},
		{"storage", func(c *Config) { c.Storage = nil }},
		{"storage[1].name", func(c *Config) { c.Storage[1].Name = "s1" }},
		{"storage[0].name", func(c *Config) { c.Storage[0].Name = "bad:name" }},
		{"storage[0].type", func(c *Config) { c.Storage[0].Type = "AS5500" }},
		{"storage[1].host", func(c *Config) { c.Storage[1].Host = "10.0.0.1" }},
		{"storage[1].host", func(c *Config) { c.Storage[1].Host = "10.0.0.1:99999" }},
		{"storage[0].username", func(c *Config) { c.Storage[0].Username = "" }},
		{"storage[0].username", func(c *Config) { c.Storage[0].Username = "a b" }},
		{"storage[0].password", func(c *Config) { c.Storage[0].Password = "" }},
		{"storage[0].knownHostsFile", func(c *Config) { c.Storage[0].HostKeyFingerprint = "" }},
		{"storage[0].knownHostsFile", func(c *Config) {
			c.Storage[0].HostKeyFingerprint = ""
			c.Storage[0].KnownHostsFile = filepath.Join(dir, "missing")
		}},
		{"storage[0].hostKeyFingerprint", func(c *Config) { c.Storage[0].HostKeyFingerprint = "MD5:ab:cd" }},
		{"storage[0].hostKeyFingerprint", func(c *Config) { c.Storage[0].InsecureSkipHostKeyVerify = true }},
		{"storage[0].barrierPath", func(c *Config) { c.Storage[0].BarrierPath = "relative/dir" }},
		{"storage[0].portalTable.table[node-1][1]", func(c *Config) {
			c.Storage[0].PortalTable.Table = map[string][]string{"node-1": {"127.0.0.1:3260", "portal.example:3260"}}
		}},
		{"storage[0].portalTable.default[0]", func(c *Config) { c.Storage[0].PortalTable.Default = []string{"127.0.0.1:0"} }},
		{"storage[1].task.maxExpandVolumeNumber", func(c *Config) { c.Storage[1].Task = &Task{MaxExpandVolumeNumber: -2} }},
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			s2 := validStorage()
			s2.Name = "s2"
			c := &Config{Storage: []Storage{validStorage(), s2}}
			tc.mutate(c)
			c.ApplyDefaults()
			err := c.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			var fe *FieldError
			found := false
			for _, e := range unwrapAll(err) {
				if errors.As(e, &fe) && fe.Field == tc.field {
					found = true
				}
			}
			if !found || !strings.Contains(err.Error(), tc.field+": ") {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
		})
	}
	// And a valid config has no error at all.
	c := &Config{Storage: []Storage{validStorage()}}
	c.Storage[0].PortalTable = PortalTable{Table: map[string][]string{"n1": {"127.0.0.1", "[::1]:3260"}}, Default: []string{"127.0.0.2:3260"}}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestSecretDir_WinsOverFile(t *testing.T) {
	dir := t.TempDir()
	sec := filepath.Join(dir, "secret")
	_ = os.Mkdir(sec, 0o700)
	writeFile(t, sec, "username", "fromsecret\n")
	writeFile(t, sec, "password", "s3cret\n")
	doc := strings.Replace(vendorYAML, "  barrierPath: \"\"\n", "  barrierPath: \"\"\n  secretDir: "+sec+"\n", 1)
	c, err := Load(writeFile(t, dir, "c.yaml", doc))
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage[0].Username != "fromsecret" || c.Storage[0].Password != "s3cret" {
		t.Errorf("got %q/%q", c.Storage[0].Username, c.Storage[0].Password)
	}
	empty := filepath.Join(dir, "empty")
	_ = os.Mkdir(empty, 0o700)
	doc = strings.Replace(vendorYAML, "  barrierPath: \"\"\n", "  barrierPath: \"\"\n  secretDir: "+empty+"\n", 1)
	if _, err := Load(writeFile(t, dir, "c2.yaml", doc)); err == nil || !strings.Contains(err.Error(), "storage[0].secretDir: ") {
		t.Errorf("empty secretDir: %v", err)
	}
}

func TestShadow_RoundTripThroughLoad(t *testing.T) {
	dir := t.TempDir()
	keyHex, err := NewShadowKey()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := writeFile(t, dir, "key", keyHex+"\n")
	key, err := ReadShadowKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := EncryptShadow(key, "Passw0rd!")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sh, "Passw0rd") || !strings.HasPrefix(sh, "isv1:") {
		t.Fatalf("shadow %q", sh)
	}
	doc := strings.Replace(vendorYAML, "  password: password\n  shadow: \"\"\n", "  shadow: \""+sh+"\"\n", 1)
	p := writeFile(t, dir, "c.yaml", doc)
	t.Setenv(ShadowKeyEnv, keyFile)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage[0].Password != "Passw0rd!" {
		t.Errorf("password = %q", c.Storage[0].Password)
	}
	// Wrong key: clear error on the shadow field, no plaintext.
	other, _ := NewShadowKey()
	t.Setenv(ShadowKeyEnv, writeFile(t, dir, "other", other))
	_, err = Load(p)
	if err == nil || !strings.Contains(err.Error(), "storage[0].shadow: ") || strings.Contains(err.Error(), "Passw0rd") {
		t.Errorf("wrong key: %v", err)
	}
	// Tampered shadow fails authentication.
	tampered := sh[:len(sh)-2] + "AA"
	if _, err := DecryptShadow(key, tampered); err == nil {
		t.Error("tampered shadow accepted")
	}
	if _, err := DecryptShadow(key, "vendorcipherblob"); err == nil {
		t.Error("foreign format accepted")
	}
}

func TestShadowCommand(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	var out, errb bytes.Buffer
	if rc := ShadowCommand([]string{"-key-file", keyFile, "-generate-key"}, strings.NewReader("top secret\n"), &out, &errb); rc != 0 {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
	st, err := os.Stat(keyFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	key, _ := ReadShadowKey(keyFile)
	pw, err := DecryptShadow(key, strings.TrimSpace(out.String()))
	if err != nil || pw != "top secret" {
		t.Fatalf("decrypt: %q %v", pw, err)
	}
	if strings.Contains(errb.String(), "top secret") {
		t.Error("password echoed on stderr")
	}
	// Refuses to overwrite the key, a password argument, and empty input.
	for _, tc := range []struct {
		args  []string
		stdin string
	}{
		{[]string{"-key-file", keyFile, "-generate-key"}, "x\n"},
		{[]string{"-key-file", keyFile, "hunter2"}, ""},
		{[]string{"-key-file", keyFile}, "\n"},
		{[]string{"-key-file", filepath.Join(dir, "nokey")}, "x\n"},
	} {
		out.Reset()
		if rc := ShadowCommand(tc.args, strings.NewReader(tc.stdin), &out, &errb); rc == 0 || out.Len() != 0 {
			t.Errorf("%v: rc %d out %q", tc.args, rc, out.String())
		}
	}
}

func TestRedaction(t *testing.T) {
	s := validStorage()
	s.Password = "pa55word"
	s.Shadow = "isv1:c2hhZG93"
	s.DevicePassword = "00000000"
	c := Config{Storage: []Storage{s}}
	for _, v := range []string{
		fmt.Sprint(s), fmt.Sprintf("%v", s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s), s.String(),
		fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", &c), fmt.Sprintf("%+v", c.MarshalLog()),
		fmt.Sprintf("%+v", s.MarshalLog()), fmt.Sprintf("%v", []Storage{s}),
	} {
		for _, secret := range []string{"pa55word", "c2hhZG93", "00000000"} {
			if strings.Contains(v, secret) {
				t.Errorf("secret %q in %q", secret, v)
			}
		}
		if !strings.Contains(v, "<redacted>") || !strings.Contains(v, "superuser") {
			t.Errorf("redacted output lost fields: %q", v)
		}
	}
	if s.Password != "pa55word" {
		t.Error("redaction modified the original")
	}
}

// The node plugin gets the same file without the controller-only Secret
// and known_hosts mounts; it must still load (and still validate the rest).
func TestLoadHostOnly_NoCredentialsNeeded(t *testing.T) {
	dir := t.TempDir()
	doc := `
host:
  link: fc
storage:
- name: storage-01
  type: AS18000
  host: 10.0.0.1:22
  secretDir: /nonexistent/secret
  knownHostsFile: /nonexistent/known_hosts
`
	p := writeFile(t, dir, "c.yaml", doc)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "storage[0].secretDir: ") {
		t.Fatalf("controller load: %v", err)
	}
	c, err := LoadHostOnly(p)
	if err != nil {
		t.Fatalf("node load: %v", err)
	}
	if c.Host.Link != "fc" || c.Host.SCSIScanRetryTimes != 3 || c.Storage[0].Password != "" {
		t.Errorf("node config = %+v", c)
	}
	bad := writeFile(t, dir, "bad.yaml", strings.Replace(doc, "link: fc", "link: nvme", 1))
	if _, err := LoadHostOnly(bad); err == nil || !strings.Contains(err.Error(), "host.link: ") {
		t.Errorf("node load must still validate: %v", err)
	}
}

// klog structured logging (what main does with the loaded config) redacts too.
func TestRedaction_KlogOutput(t *testing.T) {
	var buf bytes.Buffer
	klog.LogToStderr(false)
	klog.SetOutput(&buf)
	defer func() { klog.SetOutput(os.Stderr); klog.LogToStderr(true) }()
	s := validStorage()
	s.Password = "pa55word"
	c := &Config{Storage: []Storage{s}}
	klog.InfoS("Starting", "config", c, "storage", s)
	klog.Flush()
	if out := buf.String(); strings.Contains(out, "pa55word") || !strings.Contains(out, "<redacted>") {
		t.Fatalf("klog output: %s", out)
	}
}
