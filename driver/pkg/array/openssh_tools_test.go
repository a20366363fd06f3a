package array_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
	"github.com/instorage-csi/instorage-csi/emulator/sshd"
)

// What operators will do: ssh-keyscan the array into known_hosts, or pin
// the fingerprint ssh-keygen -l prints. Both must work as-is.
func TestOpenSSHTools_KeyscanAndFingerprint(t *testing.T) {
	for _, tool := range []string{"ssh-keyscan", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	// No connection limit here: ssh-keyscan opens one connection per key
	// type at once, and a refused one would leave its key out.
	addr, hostKey, _ := startEmulatorSSHDWith(t, sshd.Limits{})
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ssh-keyscan", "-T", "10", "-p", port, host).Output()
	if err != nil || len(out) == 0 {
		t.Fatalf("ssh-keyscan: %v (%q)", err, out)
	}
	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, out, 0o600); err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(dir, "host.pub")
	if err := os.WriteFile(pub, gossh.MarshalAuthorizedKey(hostKey), 0o600); err != nil {
		t.Fatal(err)
	}
	fpOut, err := exec.CommandContext(ctx, "ssh-keygen", "-l", "-E", "sha256", "-f", pub).Output()
	if err != nil {
		t.Fatalf("ssh-keygen -l: %v", err)
	}
	fields := strings.Fields(string(fpOut)) // "256 SHA256:… comment (ED25519)"
	if len(fields) < 2 || fields[1] != gossh.FingerprintSHA256(hostKey) {
		t.Fatalf("ssh-keygen printed %q, library computes %s", fpOut, gossh.FingerprintSHA256(hostKey))
	}
	for name, s := range map[string]config.Storage{
		"known_hosts from ssh-keyscan":    {Name: "emu", Host: addr, Username: "superuser", Password: "passw0rd", KnownHostsFile: kh},
		"fingerprint from ssh-keygen -lf": {Name: "emu", Host: addr, Username: "superuser", Password: "passw0rd", HostKeyFingerprint: fields[1]},
	} {
		c, err := array.Connect(&s, nil)
		if err != nil {
			t.Fatal(err)
		}
		var sys array.System
		deadline := time.Now().Add(10 * time.Second)
		for {
			sys, err = c.LsSystem(ctx)
			// The array may refuse a connection under its 3/s limit right
			// after keyscan; that is a transport error without a key problem.
			if err == nil || !array.IsTransport(err) || strings.Contains(err.Error(), "host key") || time.Now().After(deadline) {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		_ = c.Close()
		if err != nil || sys.Name != "mcs-emu" {
			t.Errorf("%s: %+v %v", name, sys, err)
		}
	}
}
