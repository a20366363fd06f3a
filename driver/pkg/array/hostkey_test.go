package array

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// An array with several host keys, of which known_hosts lists only one,
// must still be reached: the client offers only the listed key types.
func TestKnownHosts_ServerWithSeveralKeys(t *testing.T) {
	edSigner, _ := newTestSigner(t)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaSigner, err := ssh.NewSignerFromKey(rk)
	if err != nil {
		t.Fatal(err)
	}
	srv := &gliderssh.Server{
		PasswordHandler: func(gliderssh.Context, string) bool { return true },
		Handler: func(s gliderssh.Session) {
			_, _ = io.WriteString(s, "id!1\n")
			_ = s.Exit(0)
		},
	}
	srv.AddHostKey(edSigner)
	srv.AddHostKey(rsaSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	addr := ln.Addr().String()

	dir := t.TempDir()
	failuresWithoutAlgs := 0
	for name, tc := range map[string]struct {
		key      ssh.PublicKey
		wantAlgs []string
	}{
		"rsa only":     {rsaSigner.PublicKey(), []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}},
		"ed25519 only": {edSigner.PublicKey(), []string{ssh.KeyAlgoED25519}},
	} {
		kh := filepath.Join(dir, name)
		if err := os.WriteFile(kh, []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, tc.key)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		algs := KnownHostsAlgorithms(kh, addr)
		if !reflect.DeepEqual(algs, tc.wantAlgs) {
			t.Errorf("%s: algorithms %v, want %v", name, algs, tc.wantAlgs)
		}
		cb, err := KnownHostsHostKeyCallback(kh)
		if err != nil {
			t.Fatal(err)
		}
		run := func(algs []string) error {
			tr, err := NewSSHTransport(SSHOptions{Addr: addr, User: "u", Password: "p", HostKeyCallback: cb, HostKeyAlgorithms: algs})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			_, _, err = tr.Run(context.Background(), []string{"mcsinq", "lssystem", "-delim", "!"})
			return err
		}
		if err := run(algs); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if run(nil) != nil {
			failuresWithoutAlgs++
		}
	}
	if failuresWithoutAlgs == 0 {
		t.Log("note: the library default happened to pick a listed key in both cases")
	}
	if got := KnownHostsAlgorithms(filepath.Join(dir, "missing"), addr); got != nil {
		t.Errorf("missing file: %v", got)
	}
}
