package e2e

// Plain Go tests of the suite's own plumbing: they need no cluster and run with
// every `go test ./e2e` (also -ginkgo.dry-run).

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/instorage-csi/instorage-csi/emulator/cli"
	"github.com/instorage-csi/instorage-csi/emulator/model"
	"github.com/instorage-csi/instorage-csi/emulator/sshd"
)

func TestParseArrays(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []arrayEndpoint
		wantErr string
	}{
		{in: "storage-01=127.0.0.1:12222,storage-02=127.0.0.1:12223", want: []arrayEndpoint{
			{name: "storage-01", addr: "127.0.0.1:12222"}, {name: "storage-02", addr: "127.0.0.1:12223"}}},
		{in: "storage-01=mcs-emulator-0, storage-02=mcs-emulator-1", want: []arrayEndpoint{
			{name: "storage-01", pod: "mcs-emulator-0"}, {name: "storage-02", pod: "mcs-emulator-1"}}},
		{in: "a=[::1]:22,b=emu-1", want: []arrayEndpoint{{name: "a", addr: "[::1]:22"}, {name: "b", pod: "emu-1"}}},
		{in: "", wantErr: "empty"},
		{in: "storage-01", wantErr: "want name=HOST:PORT"},
		{in: "=127.0.0.1:22", wantErr: "want name=HOST:PORT"},
		{in: "a=127.0.0.1:22,a=127.0.0.1:23", wantErr: "listed twice"},
		{in: "a=127.0.0.1:0", wantErr: "1-65535"},
		{in: "a=127.0.0.1:ssh", wantErr: "1-65535"},
		{in: "a=:22", wantErr: "not HOST:PORT"},
		{in: "a=1:2:3", wantErr: "not HOST:PORT"},
	} {
		got, err := parseArrays(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseArrays(%q) = %v, %v; want error with %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseArrays(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

const testPassword = "e2e-unit-passw0rd"

// startArray serves an emulated array's CLI over SSH on a free loopback port
// and returns its address and a known_hosts line with its host key.
func startArray(t *testing.T) (addr, knownHostsLine string) {
	t.Helper()
	m, err := model.Open(t.TempDir(), model.DefaultTopology())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	key, err := sshd.LoadOrCreateHostKey(filepath.Join(t.TempDir(), "ssh_host_ed25519_key"))
	if err != nil {
		t.Fatal(err)
	}
	creds := sshd.NewCredentials()
	if err := creds.AddPassword("superuser", testPassword); err != nil {
		t.Fatal(err)
	}
	srv, err := sshd.New(sshd.Config{Runner: cli.New(m), Credentials: creds, HostKey: key})
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return a.String(), knownhosts.Line([]string{knownhosts.Normalize(a.String())}, key.PublicKey())
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDirectArray_ConnectsWithPinnedHostKey(t *testing.T) {
	addr, line := startArray(t)
	a, err := loadDirectAccess("superuser", writeFile(t, "password", testPassword+"\n"), writeFile(t, "known_hosts", line+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli, err := dialDirect(ctx, "storage-01", addr, a)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	sys, err := cli.LsSystem(ctx)
	if err != nil || sys.Name == "" {
		t.Fatalf("lssystem: %+v, %v", sys, err)
	}
	// The leak check's own queries work over this connection.
	v := &arrayView{name: "storage-01", client: cli}
	if _, err := v.state(ctx); err != nil {
		t.Fatalf("array state: %v", err)
	}
}

func TestDirectArray_RefusesUnknownOrChangedHostKey(t *testing.T) {
	addr, _ := startArray(t)
	_, otherLine := startArray(t) // another array's key
	other := strings.Fields(otherLine)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for name, kh := range map[string]string{
		"changed": knownhosts.Normalize(addr) + " " + other[1] + " " + other[2] + "\n",
		"unknown": otherLine + "\n",
	} {
		a, err := loadDirectAccess("superuser", writeFile(t, "password", testPassword), writeFile(t, "known_hosts", kh))
		if err != nil {
			t.Fatal(err)
		}
		if cli, err := dialDirect(ctx, "storage-01", addr, a); err == nil || !strings.Contains(err.Error(), "host key") {
			if cli != nil {
				_ = cli.Close()
			}
			t.Errorf("%s host key: connected or wrong error: %v", name, err)
		}
	}
}

func TestDirectArray_WrongPasswordFailsWithoutShowingIt(t *testing.T) {
	addr, line := startArray(t)
	const wrong = "not-the-passw0rd-4711"
	a, err := loadDirectAccess("superuser", writeFile(t, "password", wrong), writeFile(t, "known_hosts", line))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli, err := dialDirect(ctx, "storage-01", addr, a)
	if err == nil {
		_ = cli.Close()
		t.Fatal("connected with a wrong password")
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestLoadDirectAccess_Validates(t *testing.T) {
	pw, kh := writeFile(t, "password", "x\n"), writeFile(t, "known_hosts", "")
	for name, tc := range map[string]struct{ user, pw, kh, wantErr string }{
		"no user":          {"", pw, kh, "-array-user"},
		"no password file": {"superuser", "", kh, "-array-password-file"},
		"no known_hosts":   {"superuser", pw, "", "-array-known-hosts"},
		"missing file":     {"superuser", pw, filepath.Join(t.TempDir(), "nope"), "-array-known-hosts"},
		"empty password":   {"superuser", writeFile(t, "empty", "\n"), kh, "empty"},
	} {
		if _, err := loadDirectAccess(tc.user, tc.pw, tc.kh); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: %v, want error with %q", name, err, tc.wantErr)
		}
	}
	a, err := loadDirectAccess("superuser", writeFile(t, "crlf", "s3cret\r\n"), kh)
	if err != nil || a.password != "s3cret" {
		t.Errorf("password with CRLF: %q, %v", a.password, err)
	}
}

// TestArraysReachable is a preflight for arrays outside the cluster: with
// -arrays name=HOST:PORT,... it logs in to each with -array-user,
// -array-password-file and -array-known-hosts and lists the system and its
// vdisks, so a bad password, host key or forward shows up in seconds rather
// than in the suite's BeforeSuite:
//
//	go test ./e2e -run TestArraysReachable -v -args -arrays storage-01=127.0.0.1:12222 \
//	  -array-password-file pw -array-known-hosts known_hosts
func TestArraysReachable(t *testing.T) {
	eps, err := parseArrays(opts.arrays)
	if err != nil {
		t.Fatal(err)
	}
	var direct []arrayEndpoint
	for _, ep := range eps {
		if ep.addr != "" {
			direct = append(direct, ep)
		}
	}
	if len(direct) == 0 {
		t.Skip("no -arrays entry is HOST:PORT (in-cluster emulator pods are checked by the suite itself)")
	}
	a, err := loadDirectAccess(opts.arrayUser, opts.arrayPasswordFile, opts.arrayKnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, ep := range direct {
		cli, err := dialDirect(ctx, ep.name, ep.addr, a)
		if err != nil {
			t.Errorf("%s: %v", ep.name, err)
			continue
		}
		sys, err := cli.LsSystem(ctx)
		st, serr := (&arrayView{name: ep.name, client: cli}).state(ctx)
		_ = cli.Close()
		if err != nil || serr != nil {
			t.Errorf("%s: lssystem %v, state %v", ep.name, err, serr)
			continue
		}
		t.Logf("%s at %s: system %s (id %s), %d vdisks, %d host mappings, %d LocalCopy maps",
			ep.name, ep.addr, sys.Name, sys.ID, len(st.VDisks), len(st.HostMaps), len(st.LCMaps))
	}
}
