package sshd

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// scriptRunner answers by the command's first word so each test can ask
// for the behaviour it needs.
type scriptRunner struct {
	mu      sync.Mutex
	calls   []string
	started chan struct{} // "holdsignal" closes it when it starts
}

func (r *scriptRunner) Run(ctx context.Context, user, line string) ([]byte, []byte, int) {
	r.mu.Lock()
	r.calls = append(r.calls, user+"|"+line)
	r.mu.Unlock()
	words := strings.Fields(line)
	switch words[0] {
	case "echo":
		return []byte(strings.Join(words[1:], " ") + "\n"), nil, 0
	case "fail":
		return nil, []byte("CMMVC5753E The specified object does not exist or is not a suitable candidate.\n"), 1
	case "status5":
		return []byte("out\n"), []byte("err\n"), 5
	case "silent":
		return nil, nil, 0
	case "block":
		<-ctx.Done()
		return nil, nil, 0
	case "hold": // holds the session open for concurrency tests
		time.Sleep(50 * time.Millisecond)
		return []byte("held\n"), nil, 0
	case "holdsignal": // like hold, and tells the test it is running
		close(r.started)
		time.Sleep(200 * time.Millisecond)
		return []byte("held\n"), nil, 0
	case "dropbefore":
		DropConnection(ctx)
		return nil, nil, 0
	}
	return nil, []byte("CMMVC5709E unknown command\n"), 1
}

type testServer struct {
	addr   string
	runner *scriptRunner
	srv    *Server
	hostPK gossh.PublicKey
	userK  gossh.Signer
}

func startServer(t *testing.T, mutate func(*Config)) *testServer {
	t.Helper()
	hostKey, err := LoadOrCreateHostKey(filepath.Join(t.TempDir(), HostKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	_, upriv, _ := ed25519.GenerateKey(rand.Reader)
	userKey, _ := gossh.NewSignerFromKey(upriv)
	creds := NewCredentials()
	if err := creds.AddPassword("admin", "s3cret"); err != nil {
		t.Fatal(err)
	}
	if err := creds.AddAuthorizedKey("keyuser", userKey.PublicKey()); err != nil {
		t.Fatal(err)
	}
	r := &scriptRunner{}
	cfg := Config{Runner: r, Credentials: creds, HostKey: hostKey}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr, done, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v", err)
		}
	})
	return &testServer{addr: addr.String(), runner: r, srv: srv, hostPK: hostKey.PublicKey(), userK: userKey}
}

func (ts *testServer) dial(t *testing.T, user string, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	t.Helper()
	return gossh.Dial("tcp", ts.addr, &gossh.ClientConfig{
		User:            user,
		Auth:            auth,
		HostKeyCallback: gossh.FixedHostKey(ts.hostPK),
		Timeout:         10 * time.Second,
	})
}

func (ts *testServer) admin(t *testing.T) *gossh.Client {
	t.Helper()
	c, err := ts.dial(t, "admin", gossh.Password("s3cret"))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// run executes one command and returns stdout, stderr and the exit status,
// failing the test if no exit status arrived.
func run(t *testing.T, c *gossh.Client, cmd string) (string, string, int) {
	t.Helper()
	out, errOut, status, err := tryRun(c, cmd)
	if err != nil {
		t.Fatalf("%q: %v", cmd, err)
	}
	return out, errOut, status
}

func tryRun(c *gossh.Client, cmd string) (string, string, int, error) {
	sess, err := c.NewSession()
	if err != nil {
		return "", "", 0, err
	}
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	sess.Stdout, sess.Stderr = &stdout, &stderr
	err = sess.Run(cmd)
	var exitErr *gossh.ExitError
	switch {
	case err == nil:
		return stdout.String(), stderr.String(), 0, nil
	case errors.As(err, &exitErr):
		return stdout.String(), stderr.String(), exitErr.ExitStatus(), nil
	}
	return stdout.String(), stderr.String(), 0, err
}

func TestAuth(t *testing.T) {
	ts := startServer(t, nil)
	_, wrongKey, _ := ed25519.GenerateKey(rand.Reader)
	wrongSigner, _ := gossh.NewSignerFromKey(wrongKey)
	tests := []struct {
		name string
		user string
		auth gossh.AuthMethod
		ok   bool
	}{
		{"right password", "admin", gossh.Password("s3cret"), true},
		{"wrong password", "admin", gossh.Password("s3cret2"), false},
		{"empty password", "admin", gossh.Password(""), false},
		{"unknown user", "root", gossh.Password("s3cret"), false},
		{"authorized key", "keyuser", gossh.PublicKeys(ts.userK), true},
		{"key of another user", "admin", gossh.PublicKeys(ts.userK), false},
		{"unknown key", "keyuser", gossh.PublicKeys(wrongSigner), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ts.dial(t, tt.user, tt.auth)
			if tt.ok {
				if err != nil {
					t.Fatalf("want login, got %v", err)
				}
				defer c.Close()
				if out, _, st := run(t, c, "echo hi"); out != "hi\n" || st != 0 {
					t.Fatalf("got %q status %d", out, st)
				}
				return
			}
			if err == nil {
				c.Close()
				t.Fatal("login succeeded, want refusal")
			}
			if !strings.Contains(err.Error(), "unable to authenticate") {
				t.Fatalf("want an authentication failure, got %v", err)
			}
		})
	}
}

func TestRunnerSeesUserAndUntouchedCommandLine(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.admin(t)
	cmd := `echo  "volume-1"  'x y'`
	run(t, c, cmd)
	ts.runner.mu.Lock()
	defer ts.runner.mu.Unlock()
	if got := ts.runner.calls[len(ts.runner.calls)-1]; got != "admin|"+cmd {
		t.Fatalf("runner got %q", got)
	}
}

func TestExitStatusAndStreams(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.admin(t)
	tests := []struct {
		cmd, out, errOut string
		status           int
	}{
		{"echo a b", "a b\n", "", 0},
		{"silent", "", "", 0},
		{"fail", "", "CMMVC5753E The specified object does not exist or is not a suitable candidate.\n", 1},
		{"status5", "out\n", "err\n", 5},
	}
	for _, tt := range tests {
		out, errOut, st := run(t, c, tt.cmd)
		if out != tt.out || errOut != tt.errOut || st != tt.status {
			t.Errorf("%q: got (%q, %q, %d), want (%q, %q, %d)", tt.cmd, out, errOut, st, tt.out, tt.errOut, tt.status)
		}
	}
}

func TestManySequentialChannelsOnOneConnection(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.admin(t)
	for i := range 300 {
		want := fmt.Sprintf("%d\n", i)
		if out, _, st := run(t, c, fmt.Sprintf("echo %d", i)); out != want || st != 0 {
			t.Fatalf("command %d: got %q status %d", i, out, st)
		}
	}
}

func TestConcurrentSessions(t *testing.T) {
	ts := startServer(t, nil)
	// 64 connections each running a session at the same time, plus 10
	// concurrent channels on one shared connection (OpenSSH's default).
	shared := ts.admin(t)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := ts.dial(t, "admin", gossh.Password("s3cret"))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			out, _, st, err := tryRun(c, fmt.Sprintf("echo %d", i))
			if err != nil || out != fmt.Sprintf("%d\n", i) || st != 0 {
				errs <- fmt.Errorf("conn %d: %q %d %v", i, out, st, err)
			}
		}()
	}
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, _, st, err := tryRun(shared, "hold")
			if err != nil || out != "held\n" || st != 0 {
				errs <- fmt.Errorf("shared channel: %q %d %v", out, st, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestKeepaliveGlobalRequestsTolerated(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.admin(t)
	for _, name := range []string{"keepalive@openssh.com", "keepalive@lag.net", "no-such-request@example.com"} {
		ok, _, err := c.SendRequest(name, true, nil)
		if err != nil || ok {
			t.Fatalf("%s with want-reply: ok=%v err=%v, want REQUEST_FAILURE", name, ok, err)
		}
		if _, _, err := c.SendRequest(name, false, nil); err != nil {
			t.Fatalf("%s without reply: %v", name, err)
		}
	}
	if out, _, st := run(t, c, "echo still here"); out != "still here\n" || st != 0 {
		t.Fatalf("connection unusable after keepalives: %q %d", out, st)
	}
}

func TestPTYAndShellRefused(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.admin(t)

	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	sess.Stderr = &stderr
	if err := sess.RequestPty("xterm", 24, 80, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	err = sess.Run("echo x")
	var exitErr *gossh.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitStatus() != 1 || !strings.Contains(stderr.String(), "PTY sessions are not supported") {
		t.Fatalf("PTY exec: err=%v stderr=%q", err, stderr.String())
	}

	sess, err = c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	var stdout bytes.Buffer
	sess.Stderr, sess.Stdout = &stderr, &stdout
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	err = sess.Wait()
	if !errors.As(err, &exitErr) || exitErr.ExitStatus() != 1 || !strings.Contains(stderr.String(), "interactive shell is not supported") || stdout.Len() != 0 {
		t.Fatalf("shell: err=%v stdout=%q stderr=%q", err, stdout.String(), stderr.String())
	}
	ts.runner.mu.Lock()
	defer ts.runner.mu.Unlock()
	if len(ts.runner.calls) != 0 {
		t.Fatalf("runner was called: %q", ts.runner.calls)
	}
}

func TestCommandTimeout(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.CommandTimeout = 200 * time.Millisecond })
	c := ts.admin(t)
	out, errOut, st := run(t, c, "block")
	if st != 1 || out != "" || !strings.Contains(errOut, "timed out") {
		t.Fatalf("got (%q, %q, %d)", out, errOut, st)
	}
	if out, _, st := run(t, c, "echo ok"); out != "ok\n" || st != 0 {
		t.Fatalf("connection unusable after a timeout: %q %d", out, st)
	}
}

func TestDropConnectionGivesNoExitStatus(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.admin(t)
	_, _, _, err := tryRun(c, "dropbefore")
	if err == nil {
		t.Fatal("want a transport error")
	}
	var exitErr *gossh.ExitError
	if errors.As(err, &exitErr) {
		t.Fatalf("got an exit status (%v), want none", err)
	}
	// A fresh connection works.
	c2 := ts.admin(t)
	if out, _, st := run(t, c2, "echo back"); out != "back\n" || st != 0 {
		t.Fatalf("got %q %d", out, st)
	}
}

func TestMaxConnectionsRefusesBeforeHandshake(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Limits.MaxConnections = 2 })
	a, b := ts.admin(t), ts.admin(t)
	if _, err := ts.dial(t, "admin", gossh.Password("s3cret")); err == nil {
		t.Fatal("third connection accepted, want refusal")
	}
	// Closing one frees its slot.
	b.Close()
	if err := pollDial(ts); err != nil {
		t.Fatalf("slot not released: %v", err)
	}
	run(t, a, "echo a")
}

func pollDial(ts *testServer) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := gossh.Dial("tcp", ts.addr, &gossh.ClientConfig{User: "admin", Auth: []gossh.AuthMethod{gossh.Password("s3cret")},
			HostKeyCallback: gossh.FixedHostKey(ts.hostPK), Timeout: time.Second})
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConnectionRateLimit(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Limits.ConnectionsPerSecond = 3; c.Limits.ConnectionBurst = 3 })
	accepted := concurrentDials(10, func() error {
		c, err := ts.dial(t, "admin", gossh.Password("s3cret"))
		if err == nil {
			c.Close()
		}
		return err
	})
	// 10 simultaneous dials: the burst of 3 passes (one more if a token
	// refills meanwhile); without the limiter all 10 would.
	if accepted < 3 || accepted > 5 {
		t.Fatalf("accepted %d of 10 simultaneous connections, want 3-5", accepted)
	}
}

// concurrentDials starts n dials at the same moment and counts successes.
func concurrentDials(n int, dial func() error) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	start := make(chan struct{})
	ok := 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if dial() == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	return ok
}

func TestHostKeyPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", HostKeyFile)
	k1, err := LoadOrCreateHostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateHostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1.PublicKey().Marshal(), k2.PublicKey().Marshal()) {
		t.Fatal("host key changed between loads")
	}
	fp, err := ReadHostKeyFingerprint(path)
	if err != nil || fp != gossh.FingerprintSHA256(k1.PublicKey()) || !strings.HasPrefix(fp, "SHA256:") {
		t.Fatalf("fingerprint %q, %v", fp, err)
	}
	if k1.PublicKey().Type() != gossh.KeyAlgoED25519 {
		t.Fatalf("key type %s", k1.PublicKey().Type())
	}
}

func TestNewRequiresAuthentication(t *testing.T) {
	hostKey, _ := LoadOrCreateHostKey(filepath.Join(t.TempDir(), HostKeyFile))
	if _, err := New(Config{Runner: &scriptRunner{}, HostKey: hostKey, Credentials: NewCredentials()}); err == nil {
		t.Fatal("server without users accepted")
	}
}

func TestCommandNameAndRedact(t *testing.T) {
	for line, want := range map[string]string{
		"mcsinq lsvdisk -delim !":     "lsvdisk",
		`mcsop "mkvdisk" -name x`:     "mkvdisk",
		"lssystem":                    "lssystem",
		"":                            "",
		"   mcsop   rmvdisk -force 3": "rmvdisk",
	} {
		if got := CommandName(line); got != want {
			t.Errorf("CommandName(%q) = %q, want %q", line, got, want)
		}
	}
	got := Redact(`mcsop chhost -chapsecret Sup3r "host-1"`)
	if strings.Contains(got, "Sup3r") || !strings.Contains(got, "<redacted>") {
		t.Errorf("Redact leaked: %q", got)
	}
	if metricName("mcsinq LS$(x)") != "other" {
		t.Error("metricName accepted a non-verb")
	}
}

func TestShutdownWaitsForCommandsThenDropsIdleConnections(t *testing.T) {
	ts := startServer(t, nil)
	ts.runner.started = make(chan struct{})
	busy, idle := ts.admin(t), ts.admin(t)
	run(t, idle, "echo warm")
	type res struct {
		out string
		st  int
		err error
	}
	done := make(chan res, 1)
	go func() {
		out, _, st, err := tryRun(busy, "holdsignal")
		done <- res{out, st, err}
	}()
	select {
	case <-ts.runner.started:
	case <-time.After(5 * time.Second):
		t.Fatal("command never started")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Shutdown took %v; idle connections must not hold it", d)
	}
	r := <-done
	if r.err != nil || r.out != "held\n" || r.st != 0 {
		t.Fatalf("in-flight command: %+v", r)
	}
	if _, _, _, err := tryRun(idle, "echo x"); err == nil {
		t.Fatal("idle connection still usable after Shutdown")
	}
	if _, err := ts.dial(t, "admin", gossh.Password("s3cret")); err == nil {
		t.Fatal("new connection accepted after Shutdown")
	}
}

func TestIdleTimeoutClosesQuietConnectionsOnly(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.IdleTimeout = time.Second })
	quiet, chatty := ts.admin(t), ts.admin(t)
	run(t, quiet, "echo a")
	run(t, chatty, "echo a")
	for range 10 { // 2s of keepalives, each well inside the idle timeout
		chatty.SendRequest("keepalive@openssh.com", true, nil)
		time.Sleep(200 * time.Millisecond)
	}
	if _, _, _, err := tryRun(quiet, "echo b"); err == nil {
		t.Fatal("idle connection survived the idle timeout")
	}
	if out, _, st := run(t, chatty, "echo b"); out != "b\n" || st != 0 {
		t.Fatalf("kept-alive connection: %q %d", out, st)
	}
}

func TestFailedLoginsReleaseTheirSessionSlots(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Limits.MaxConnections = 2 })
	for range 10 {
		if _, err := ts.dial(t, "admin", gossh.Password("wrong")); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	// Both slots must come free once the server has torn the failures down.
	deadline := time.Now().Add(5 * time.Second)
	for {
		a, errA := ts.dial(t, "admin", gossh.Password("s3cret"))
		b, errB := ts.dial(t, "admin", gossh.Password("s3cret"))
		for _, c := range []*gossh.Client{a, b} {
			if c != nil {
				c.Close()
			}
		}
		if errA == nil && errB == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("slots leaked by failed logins: %v / %v", errA, errB)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
