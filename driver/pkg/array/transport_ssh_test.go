package array

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// testSSHD is a real SSH server on loopback that understands a few fake
// commands: `mcsinq lssystem …` prints a detail view, `mcsinq sleep <ms>`
// sleeps, `mcsop fail` prints a CMMVC error, `mcsinq hangup` drops the
// connection without an exit status.
type testSSHD struct {
	addr       string
	signer     ssh.Signer
	conns      atomic.Int32
	dialTimes  chan time.Time
	active     atomic.Int32
	maxActive  atomic.Int32
	keepalives atomic.Int32
	killed     chan struct{} // a sleeping command saw its session closed
	refuse     atomic.Bool   // close new connections before the handshake
	mu         sync.Mutex
	netConns   []net.Conn
}

func newTestSSHD(t testing.TB) *testSSHD {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	d := &testSSHD{signer: signer, dialTimes: make(chan time.Time, 100), killed: make(chan struct{}, 10)}
	srv := &gliderssh.Server{
		PasswordHandler: func(ctx gliderssh.Context, pw string) bool { return ctx.User() == "superuser" && pw == "passw0rd" },
		ConnCallback: func(ctx gliderssh.Context, c net.Conn) net.Conn {
			if d.refuse.Load() {
				return nil // like the array over its connection limit
			}
			d.conns.Add(1)
			d.dialTimes <- time.Now()
			d.mu.Lock()
			d.netConns = append(d.netConns, c)
			d.mu.Unlock()
			return c
		},
		RequestHandlers: map[string]gliderssh.RequestHandler{
			"keepalive@openssh.com": func(gliderssh.Context, *gliderssh.Server, *ssh.Request) (bool, []byte) {
				d.keepalives.Add(1)
				return false, nil // like OpenSSH: unknown request, but answered
			},
		},
		Handler: d.handle,
	}
	srv.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	d.addr = ln.Addr().String()
	return d
}

func (d *testSSHD) handle(s gliderssh.Session) {
	n := d.active.Add(1)
	// Count the session as finished before the exit status goes out: the
	// client may start its next session as soon as it has the status.
	var once sync.Once
	done := func() { once.Do(func() { d.active.Add(-1) }) }
	defer done()
	for {
		m := d.maxActive.Load()
		if n <= m || d.maxActive.CompareAndSwap(m, n) {
			break
		}
	}
	args := s.Command()
	switch {
	case len(args) >= 2 && args[1] == "lssystem":
		_, _ = io.WriteString(s, "id!0123456789ABCDEF\nname!mcs1\n")
		done()
		_ = s.Exit(0)
	case len(args) == 3 && args[1] == "sleep":
		ms, _ := strconv.Atoi(args[2])
		sigs := make(chan gliderssh.Signal, 1)
		s.Signals(sigs)
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
			done()
			_ = s.Exit(0)
		case sig := <-sigs:
			if sig == gliderssh.SIGKILL {
				d.killed <- struct{}{}
			}
		case <-s.Context().Done():
		}
	case len(args) == 2 && args[1] == "fail":
		_, _ = io.WriteString(s.Stderr(), "CMMVC5754E The specified object does not exist.\n")
		_ = s.Exit(1)
	case len(args) == 2 && args[1] == "hangup":
		d.closeAll()
	default:
		_, _ = io.WriteString(s.Stderr(), "CMMVC5709E unknown\n")
		_ = s.Exit(1)
	}
}

// closeAll drops every TCP connection, as a restarting array would.
func (d *testSSHD) closeAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.netConns {
		_ = c.Close()
	}
	d.netConns = nil
}

func (d *testSSHD) transport(t *testing.T, mutate func(*SSHOptions)) *SSHTransport {
	t.Helper()
	cb, err := FingerprintHostKeyCallback(ssh.FingerprintSHA256(d.signer.PublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	o := SSHOptions{Addr: d.addr, User: "superuser", Password: "passw0rd", HostKeyCallback: cb, DialRate: 1000, DialBurst: 100}
	if mutate != nil {
		mutate(&o)
	}
	tr, err := NewSSHTransport(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func TestSSH_RunOutputAndExitStatus(t *testing.T) {
	d := newTestSSHD(t)
	c := NewCLI(d.transport(t, nil))
	sys, err := c.LsSystem(context.Background())
	if err != nil || sys.Name != "mcs1" {
		t.Fatalf("LsSystem = %+v, %v", sys, err)
	}
	err = c.op(context.Background(), "fail")
	if !IsNotFound(err) || IsTransport(err) {
		t.Fatalf("fail: %v", err)
	}
}

func TestSSH_HostKeyVerification(t *testing.T) {
	d := newTestSSHD(t)
	ctx := context.Background()
	other, _ := newTestSigner(t)
	dir := t.TempDir()
	line := func(k ssh.PublicKey) string {
		return knownhosts.Line([]string{knownhosts.Normalize(d.addr)}, k) + "\n"
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", line(d.signer.PublicKey()))
	changed := write("changed", line(other.PublicKey()))
	unknown := write("unknown", knownhosts.Line([]string{"10.9.9.9"}, d.signer.PublicKey())+"\n")
	cases := []struct {
		name    string
		cb      func() (ssh.HostKeyCallback, error)
		wantErr string
	}{
		{"pinned fingerprint", func() (ssh.HostKeyCallback, error) {
			return FingerprintHostKeyCallback(ssh.FingerprintSHA256(d.signer.PublicKey()))
		}, ""},
		{"wrong fingerprint", func() (ssh.HostKeyCallback, error) {
			return FingerprintHostKeyCallback(ssh.FingerprintSHA256(other.PublicKey()))
		}, "host key verification failed"},
		{"known_hosts match", func() (ssh.HostKeyCallback, error) { return KnownHostsHostKeyCallback(good) }, ""},
		{"known_hosts changed key", func() (ssh.HostKeyCallback, error) { return KnownHostsHostKeyCallback(changed) }, "CHANGED"},
		{"known_hosts unknown host", func() (ssh.HostKeyCallback, error) { return KnownHostsHostKeyCallback(unknown) }, "is not in"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cb, err := tc.cb()
			if err != nil {
				t.Fatal(err)
			}
			before := d.conns.Load()
			tr := d.transport(t, func(o *SSHOptions) { o.HostKeyCallback = cb })
			_, _, err = tr.Run(ctx, []string{"mcsinq", "lssystem", "-delim", "!"})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !IsTransport(err) {
				t.Fatalf("err = %v, want transport error containing %q", err, tc.wantErr)
			}
			if d.conns.Load() != before+1 {
				t.Errorf("expected exactly one refused connection")
			}
		})
	}
	if _, err := FingerprintHostKeyCallback("MD5:aa:bb"); err == nil {
		t.Error("malformed fingerprint accepted")
	}
	if _, err := KnownHostsHostKeyCallback(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing known_hosts accepted")
	}
}

func newTestSigner(t testing.TB) (ssh.Signer, ed25519.PrivateKey) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, priv
}

func TestSSH_WrongPasswordIsTransportError(t *testing.T) {
	d := newTestSSHD(t)
	tr := d.transport(t, func(o *SSHOptions) { o.Password = "nope" })
	_, _, err := tr.Run(context.Background(), []string{"mcsinq", "lssystem", "-delim", "!"})
	if !IsTransport(err) || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "nope") {
		t.Fatalf("password leaked into error: %v", err)
	}
}

func TestSSH_ReusesOneConnectionForSequentialCommands(t *testing.T) {
	d := newTestSSHD(t)
	tr := d.transport(t, nil)
	for i := 0; i < 50; i++ {
		if _, _, err := tr.Run(context.Background(), []string{"mcsinq", "lssystem", "-delim", "!"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := d.conns.Load(); n != 1 {
		t.Fatalf("dialled %d connections for 50 sequential commands, want 1", n)
	}
}

func TestSSH_ConcurrencyCappedBySessionsAndConnections(t *testing.T) {
	d := newTestSSHD(t)
	tr := d.transport(t, func(o *SSHOptions) { o.MaxConns = 2; o.MaxSessions = 6 })
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := tr.Run(context.Background(), []string{"mcsinq", "sleep", "30"})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if m := d.maxActive.Load(); m > 6 || m < 2 {
		t.Errorf("max concurrent sessions on the server = %d, want 2..6", m)
	}
	if n := d.conns.Load(); n > 2 {
		t.Errorf("dialled %d connections, cap is 2", n)
	}
	if got := tr.Conns(); got != int(d.conns.Load()) {
		t.Errorf("pool holds %d connections, server saw %d", got, d.conns.Load())
	}
}

func TestSSH_NewConnectionsAreRateLimited(t *testing.T) {
	d := newTestSSHD(t)
	// One session per connection forces one dial per concurrent command.
	tr := d.transport(t, func(o *SSHOptions) { o.MaxConns = 6; o.MaxSessions = 6; o.DialRate = 3; o.DialBurst = 3 })
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := tr.Run(context.Background(), []string{"mcsinq", "sleep", "1500"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := d.conns.Load(); n != 6 {
		t.Fatalf("want 6 connections, got %d", n)
	}
	var times []time.Time
	for i := 0; i < 6; i++ {
		times = append(times, <-d.dialTimes)
	}
	// 3 tokens at once, then one every 1/3 s: the 6th dial is ≥ ~1 s later.
	if span := times[5].Sub(times[0]); span < 900*time.Millisecond {
		t.Errorf("6 dials within %v; a 3/s burst-3 limiter needs ≥ 1s", span)
	}
}

// When the array refuses a new connection, commands queue on the
// connections the pool already has instead of failing.
func TestSSH_RefusedDialFallsBackToExistingConnections(t *testing.T) {
	d := newTestSSHD(t)
	tr := d.transport(t, func(o *SSHOptions) { o.MaxConns = 3; o.MaxSessions = 3 })
	if _, _, err := tr.Run(context.Background(), []string{"mcsinq", "lssystem", "-delim", "!"}); err != nil {
		t.Fatal(err)
	}
	d.refuse.Store(true)
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := tr.Run(context.Background(), []string{"mcsinq", "sleep", "100"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := d.conns.Load(); n != 1 {
		t.Errorf("accepted connections = %d, want 1", n)
	}
	// With no connection at all, a refused dial is a transport error.
	tr2 := d.transport(t, nil)
	if _, _, err := tr2.Run(context.Background(), []string{"mcsinq", "lssystem", "-delim", "!"}); !IsTransport(err) {
		t.Errorf("err = %v", err)
	}
}

func TestSSH_TimeoutKillsSessionAndKeepsConnection(t *testing.T) {
	d := newTestSSHD(t)
	tr := d.transport(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := tr.Run(ctx, []string{"mcsinq", "sleep", "10000"})
	if !IsTransport(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want transport error wrapping DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("Run returned after %v", el)
	}
	select {
	case <-d.killed:
	case <-time.After(5 * time.Second):
		t.Fatal("server never saw the session closed")
	}
	if _, _, err := tr.Run(context.Background(), []string{"mcsinq", "lssystem", "-delim", "!"}); err != nil {
		t.Fatal(err)
	}
	if n := d.conns.Load(); n != 1 {
		t.Errorf("a timeout should not cost the connection; dialled %d", n)
	}
}

func TestSSH_ReconnectsAfterServerDropsConnections(t *testing.T) {
	d := newTestSSHD(t)
	tr := d.transport(t, nil)
	run := func() error {
		_, _, err := tr.Run(context.Background(), []string{"mcsinq", "lssystem", "-delim", "!"})
		return err
	}
	if err := run(); err != nil {
		t.Fatal(err)
	}
	d.closeAll()
	if err := run(); err != nil {
		t.Fatalf("after the array dropped the connection: %v", err)
	}
	if n := d.conns.Load(); n != 2 {
		t.Errorf("dialled %d connections, want 2 (one reconnect)", n)
	}
	// A connection lost mid-command: outcome unknown → ErrTransport.
	_, _, err := tr.Run(context.Background(), []string{"mcsinq", "hangup"})
	if !IsTransport(err) {
		t.Fatalf("hangup: err = %v", err)
	}
	if err := run(); err != nil {
		t.Fatalf("after hangup: %v", err)
	}
}

func TestSSH_KeepalivesSent(t *testing.T) {
	d := newTestSSHD(t)
	tr := d.transport(t, func(o *SSHOptions) { o.KeepaliveInterval = 50 * time.Millisecond })
	if _, _, err := tr.Run(context.Background(), []string{"mcsinq", "lssystem", "-delim", "!"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for d.keepalives.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if d.keepalives.Load() < 2 {
		t.Fatal("no keepalives reached the server")
	}
	if tr.Conns() != 1 {
		t.Fatal("a refused-but-answered keepalive must not drop the connection")
	}
}

func TestSSH_RejectsUnsafeArgvAndClosed(t *testing.T) {
	d := newTestSSHD(t)
	tr := d.transport(t, nil)
	for _, argv := range [][]string{{"sh", "-c", "id"}, {"mcsinq", "lsvdisk", "a;b"}, {"mcsinq", "lsvdisk", "a b"}, {"mcsinq"}} {
		if _, _, err := tr.Run(context.Background(), argv); !IsInvalidArgument(err) {
			t.Errorf("%q: err = %v", argv, err)
		}
	}
	if d.conns.Load() != 0 {
		t.Error("unsafe argv caused a connection")
	}
	_ = tr.Close()
	if _, _, err := tr.Run(context.Background(), []string{"mcsinq", "lssystem", "-delim", "!"}); !IsTransport(err) {
		t.Errorf("closed transport: %v", err)
	}
}

func TestNewSSHTransport_RequiresHostKeyCallback(t *testing.T) {
	if _, err := NewSSHTransport(SSHOptions{Addr: "127.0.0.1:22", User: "u"}); err == nil {
		t.Fatal("transport without host key verification accepted")
	}
	if _, err := NewSSHTransport(SSHOptions{Addr: "nohostport", User: "u", HostKeyCallback: ssh.InsecureIgnoreHostKey()}); err == nil {
		t.Fatal("bad address accepted")
	}
}

func BenchmarkSSH_RunSequential(b *testing.B) {
	d := newTestSSHD(b)
	cb, _ := FingerprintHostKeyCallback(ssh.FingerprintSHA256(d.signer.PublicKey()))
	tr, _ := NewSSHTransport(SSHOptions{Addr: d.addr, User: "superuser", Password: "passw0rd", HostKeyCallback: cb})
	defer tr.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := tr.Run(context.Background(), []string{"mcsinq", "lssystem", "-delim", "!"}); err != nil {
			b.Fatal(err)
		}
	}
}

// freezeProxy forwards TCP to target until frozen, then silently stops
// forwarding (a peer that vanished without FIN: power loss, failover).
type freezeProxy struct {
	addr   string
	frozen atomic.Bool
}

func newFreezeProxy(t *testing.T, target string) *freezeProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	p := &freezeProxy{addr: ln.Addr().String()}
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if err != nil {
				return
			}
			for p.frozen.Load() {
				time.Sleep(10 * time.Millisecond) // hold the data: nothing arrives
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			t.Cleanup(func() { _ = c.Close(); _ = s.Close() })
			go pipe(s, c)
			go pipe(c, s)
		}
	}()
	return p
}

func TestSSH_KeepaliveDropsSilentPeer(t *testing.T) {
	d := newTestSSHD(t)
	p := newFreezeProxy(t, d.addr)
	tr := d.transport(t, func(o *SSHOptions) { o.Addr = p.addr; o.KeepaliveInterval = 100 * time.Millisecond })
	if _, _, err := tr.Run(context.Background(), []string{"mcsinq", "lssystem", "-delim", "!"}); err != nil {
		t.Fatal(err)
	}
	p.frozen.Store(true)
	deadline := time.Now().Add(5 * time.Second)
	for tr.Conns() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if tr.Conns() != 0 {
		t.Fatal("connection to a silent peer was never dropped")
	}
	p.frozen.Store(false)
	if _, _, err := tr.Run(context.Background(), []string{"mcsinq", "lssystem", "-delim", "!"}); err != nil {
		t.Fatalf("after the peer came back: %v", err)
	}
}

// A peer that stops answering mid-connection cannot hold a command past
// its deadline, even before the keepalive notices.
func TestSSH_DeadlineHonouredOnSilentPeer(t *testing.T) {
	d := newTestSSHD(t)
	p := newFreezeProxy(t, d.addr)
	tr := d.transport(t, func(o *SSHOptions) { o.Addr = p.addr; o.KeepaliveInterval = -1 })
	if _, _, err := tr.Run(context.Background(), []string{"mcsinq", "lssystem", "-delim", "!"}); err != nil {
		t.Fatal(err)
	}
	p.frozen.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := tr.Run(ctx, []string{"mcsinq", "lssystem", "-delim", "!"})
	if !IsTransport(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("returned after %v, deadline was 300ms", el)
	}
	if tr.Conns() != 0 {
		t.Error("a connection that could not open a session in time should be dropped")
	}
	p.frozen.Store(false)
	if _, _, err := tr.Run(context.Background(), []string{"mcsinq", "lssystem", "-delim", "!"}); err != nil {
		t.Fatalf("after the peer came back: %v", err)
	}
}

// BenchmarkSSH_RunParallel measures command throughput with sessions
// multiplexed over the pooled connections (compare with RunSequential).
func BenchmarkSSH_RunParallel(b *testing.B) {
	d := newTestSSHD(b)
	cb, _ := FingerprintHostKeyCallback(ssh.FingerprintSHA256(d.signer.PublicKey()))
	tr, _ := NewSSHTransport(SSHOptions{Addr: d.addr, User: "superuser", Password: "passw0rd", HostKeyCallback: cb, DialRate: 100, DialBurst: 10})
	defer tr.Close()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := tr.Run(context.Background(), []string{"mcsinq", "lssystem", "-delim", "!"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(tr.Conns()), "conns")
}

func TestSSH_KeyboardInteractivePassword(t *testing.T) {
	signer, _ := newTestSigner(t)
	srv := &gliderssh.Server{
		KeyboardInteractiveHandler: func(ctx gliderssh.Context, ch ssh.KeyboardInteractiveChallenge) bool {
			ans, err := ch(ctx.User(), "", []string{"Password: "}, []bool{false})
			return err == nil && len(ans) == 1 && ans[0] == "passw0rd"
		},
		Handler: func(s gliderssh.Session) { _, _ = io.WriteString(s, "id!1\n"); _ = s.Exit(0) },
	}
	srv.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	cb, _ := FingerprintHostKeyCallback(ssh.FingerprintSHA256(signer.PublicKey()))
	for pw, wantOK := range map[string]bool{"passw0rd": true, "wrong": false} {
		tr, err := NewSSHTransport(SSHOptions{Addr: ln.Addr().String(), User: "u", Password: pw, HostKeyCallback: cb})
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := tr.Run(context.Background(), []string{"mcsinq", "lssystem", "-delim", "!"})
		if (err == nil) != wantOK || (wantOK && string(out) != "id!1\n") {
			t.Errorf("password %q: out %q err %v", pw, out, err)
		}
		_ = tr.Close()
	}
}

func TestSSH_IdleConnectionsClosedKeepingOne(t *testing.T) {
	d := newTestSSHD(t)
	tr := d.transport(t, func(o *SSHOptions) {
		o.MaxConns, o.MaxSessions, o.IdleTimeout, o.KeepaliveInterval = 4, 4, 200*time.Millisecond, -1
	})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := tr.Run(context.Background(), []string{"mcsinq", "sleep", "150"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := tr.Conns(); n != 4 {
		t.Fatalf("burst opened %d connections, want 4", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for tr.Conns() > 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := tr.Conns(); n != 1 {
		t.Fatalf("%d connections left after idling, want 1 kept warm", n)
	}
	time.Sleep(400 * time.Millisecond)
	if n := tr.Conns(); n != 1 {
		t.Fatalf("the last connection was closed too (%d left)", n)
	}
	if _, _, err := tr.Run(context.Background(), []string{"mcsinq", "lssystem", "-delim", "!"}); err != nil || d.conns.Load() != 4 {
		t.Fatalf("err %v, dials %d (the warm connection should serve it)", err, d.conns.Load())
	}
}
