package e2etest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/instorage-csi/instorage-csi/emulator/fault"
)

// openssh runs the plain OpenSSH client against e with a pinned host key
// (StrictHostKeyChecking=yes against the state dir's known_hosts).
func openssh(t *testing.T, e *emu, knownHosts string, extra []string, remote string) (string, string, int) {
	t.Helper()
	host, port, _ := net.SplitHostPort(e.SSHAddr)
	args := append([]string{"-F", "/dev/null", "-p", port, "-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + knownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"}, extra...)
	args = append(args, testUser+"@"+host, remote)
	return runCmd(t, "ssh", args, nil)
}

func runCmd(t *testing.T, name string, args, env []string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), stderr.String(), 0
	case errors.As(err, &exitErr):
		return stdout.String(), stderr.String(), exitErr.ExitCode()
	}
	t.Fatalf("%s: %v", name, err)
	return "", "", 0
}

// TestOpenSSHClient drives the emulator with /usr/bin/ssh, by key and (when
// sshpass is installed) by password. Packages: openssh-client, sshpass.
func TestOpenSSHClient(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("OpenSSH client not installed (apt-get install openssh-client); skipping")
	}
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := gossh.MarshalPrivateKey(priv, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "id_ed25519")
	os.WriteFile(keyPath, pem.EncodeToMemory(block), 0o600)
	signer, _ := gossh.NewSignerFromKey(priv)
	authPath := filepath.Join(dir, "authorized_keys")
	os.WriteFile(authPath, gossh.MarshalAuthorizedKey(signer.PublicKey()), 0o600)

	stateDir := filepath.Join(dir, "state")
	e := startEmu(t, stateDir, "--authorized-keys", testUser+":"+authPath)
	kh := filepath.Join(stateDir, "known_hosts")
	keyOpts := []string{"-i", keyPath, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "PasswordAuthentication=no"}

	out, errOut, st := openssh(t, e, kh, keyOpts, "mcsinq lsvdisk -delim !")
	if st != 0 || out != "" || errOut != "" {
		t.Fatalf("empty lsvdisk: (%q, %q, %d)", out, errOut, st)
	}
	out, _, st = openssh(t, e, kh, keyOpts, `mcsop mkvdisk -name "volume-ossh" -mdiskgrp "Pool0" -size 1 -unit gb`)
	if st != 0 || !vdiskCreated.MatchString(out) {
		t.Fatalf("mkvdisk: (%q, %d)", out, st)
	}
	out, _, st = openssh(t, e, kh, keyOpts, "mcsinq lsvdisk -delim ! -filtervalue name=volume-ossh")
	if st != 0 || !strings.HasPrefix(out, "id!name!") || !strings.Contains(out, "!volume-ossh!") {
		t.Fatalf("lsvdisk: (%q, %d)", out, st)
	}
	// The remote exit status and stderr come through unchanged.
	out, errOut, st = openssh(t, e, kh, keyOpts, "mcsinq lsvdisk -delim ! no-such-vdisk")
	if st != 1 || out != "" || errOut != notFound5754 {
		t.Fatalf("missing vdisk: (%q, %q, %d)", out, errOut, st)
	}

	// OpenSSH keepalives (keepalive@openssh.com, want-reply) sent while a
	// slow command runs are answered and do not disturb it.
	if _, err := e.control().AddFault(context.Background(), fault.Rule{Command: "lssystem", Times: 1,
		Latency: &fault.Latency{Fixed: fault.Duration(3500 * time.Millisecond)}}); err != nil {
		t.Fatal(err)
	}
	kaOpts := append([]string{"-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2"}, keyOpts...)
	if out, errOut, st := openssh(t, e, kh, kaOpts, "mcsinq lssystem -delim !"); st != 0 || !strings.Contains(out, "name!") {
		t.Fatalf("slow command with keepalives: (%q, %q, %d)", out, errOut, st)
	}

	// A different pinned key is refused by the client: pinning works.
	other := filepath.Join(dir, "other_known_hosts")
	_, opriv, _ := ed25519.GenerateKey(rand.Reader)
	osigner, _ := gossh.NewSignerFromKey(opriv)
	os.WriteFile(other, []byte("["+strings.Replace(e.SSHAddr, ":", "]:", 1)+" "+string(gossh.MarshalAuthorizedKey(osigner.PublicKey()))), 0o600)
	if _, errOut, st := openssh(t, e, other, keyOpts, "mcsinq lssystem -delim !"); st != 255 || !strings.Contains(errOut, "verification failed") {
		t.Fatalf("wrong pinned key accepted: (%q, %d)", errOut, st)
	}

	if _, err := exec.LookPath("sshpass"); err != nil {
		t.Log("sshpass not installed (apt-get install sshpass); password login via OpenSSH not tested")
		return
	}
	pwOpts := []string{"-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive"}
	host, port, _ := net.SplitHostPort(e.SSHAddr)
	base := []string{"-e", "ssh", "-F", "/dev/null", "-p", port, "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + kh,
		"-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"}
	args := append(append(base, pwOpts...), testUser+"@"+host, "mcsinq lsvdisk -delim ! -filtervalue name=volume-ossh")
	out, errOut, st = runCmd(t, "sshpass", args, []string{"SSHPASS=" + testPassword})
	if st != 0 || !strings.Contains(out, "!volume-ossh!") {
		t.Fatalf("sshpass login: (%q, %q, %d)", out, errOut, st)
	}
	args = append(append(base, pwOpts...), testUser+"@"+host, "mcsinq lssystem -delim !")
	if _, _, st := runCmd(t, "sshpass", args, []string{"SSHPASS=wrong"}); st == 0 {
		t.Fatal("wrong password accepted by the emulator")
	}
	// A PTY request (ssh -tt) is refused with a clear message and exit 1.
	args = append(append(append(base, "-tt"), pwOpts...), testUser+"@"+host, "mcsinq lssystem -delim !")
	out, errOut, st = runCmd(t, "sshpass", args, []string{"SSHPASS=" + testPassword})
	if st != 1 || !strings.Contains(out+errOut, "PTY sessions are not supported") {
		t.Fatalf("ssh -tt: (%q, %q, %d)", out, errOut, st)
	}
}
