package array

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/time/rate"
	"k8s.io/klog/v2"
)

// SSH pool defaults (mcs-cli.md §1.1, §11.1 item 8): the array allows 32
// concurrent CLI sessions and about 3 new SSH connections per second.
const (
	DefaultMaxConns          = 4
	DefaultMaxSessions       = 32
	DefaultDialRate          = 3
	DefaultDialBurst         = 3
	DefaultDialTimeout       = 20 * time.Second
	DefaultKeepaliveInterval = 30 * time.Second
)

// SSHOptions configures an SSHTransport. Zero values take the defaults.
type SSHOptions struct {
	Addr     string // host:port of the array's SSH service
	User     string
	Password string
	// HostKeyCallback verifies the array's key; required (see
	// HostKeyCallbackFor). There is deliberately no default.
	HostKeyCallback ssh.HostKeyCallback
	// HostKeyAlgorithms restricts the key types accepted in the handshake
	// (see KnownHostsAlgorithms); empty means the library default.
	HostKeyAlgorithms []string
	ArrayName         string // logs and metrics

	MaxConns          int           // persistent connections; default 4
	MaxSessions       int           // concurrent commands over all connections; default and cap 32
	DialRate          rate.Limit    // new connections per second; default 3
	DialBurst         int           // default 3
	DialTimeout       time.Duration // TCP connect + SSH handshake; default 20s
	KeepaliveInterval time.Duration // default 30s; negative disables
	Metrics           *Metrics
}

// SSHTransport is a small pool of persistent SSH connections to one array.
// Each command runs in its own session (channel), sessions are multiplexed
// over the connections, and broken connections are dropped and redialled.
type SSHTransport struct {
	o        SSHOptions
	cfg      *ssh.ClientConfig
	limiter  *rate.Limiter
	slots    chan struct{} // one per concurrent session
	perConn  int
	mu       sync.Mutex
	conns    []*sshConn
	dialing  int
	changed  chan struct{} // closed and replaced whenever the pool changes
	closed   bool
	dialHook func() // tests
}

type sshConn struct {
	client *ssh.Client
	active int
	broken bool
}

var _ Transport = (*SSHTransport)(nil)

// NewSSHTransport validates o; connections are dialled lazily on first use.
func NewSSHTransport(o SSHOptions) (*SSHTransport, error) {
	if o.Addr == "" {
		return nil, errors.New("ssh transport: address is required")
	}
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		return nil, fmt.Errorf("ssh transport: address %q: %w", o.Addr, err)
	}
	if o.HostKeyCallback == nil {
		return nil, errors.New("ssh transport: a host key callback is required")
	}
	if o.User == "" {
		return nil, errors.New("ssh transport: user is required")
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.MaxSessions <= 0 || o.MaxSessions > DefaultMaxSessions {
		o.MaxSessions = DefaultMaxSessions
	}
	if o.DialRate <= 0 {
		o.DialRate = DefaultDialRate
	}
	if o.DialBurst <= 0 {
		o.DialBurst = DefaultDialBurst
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.KeepaliveInterval == 0 {
		o.KeepaliveInterval = DefaultKeepaliveInterval
	}
	if o.ArrayName == "" {
		o.ArrayName = o.Addr
	}
	t := &SSHTransport{
		o: o,
		cfg: &ssh.ClientConfig{
			User:              o.User,
			Auth:              []ssh.AuthMethod{ssh.Password(o.Password), passwordPrompt(o.Password)},
			HostKeyCallback:   o.HostKeyCallback,
			HostKeyAlgorithms: o.HostKeyAlgorithms,
			Timeout:           o.DialTimeout,
		},
		limiter: rate.NewLimiter(o.DialRate, o.DialBurst),
		slots:   make(chan struct{}, o.MaxSessions),
		perConn: (o.MaxSessions + o.MaxConns - 1) / o.MaxConns,
		changed: make(chan struct{}),
	}
	return t, nil
}

// notifyLocked wakes every goroutine waiting for a pool change.
func (t *SSHTransport) notifyLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// Run executes argv as one exec request on a pooled connection.
func (t *SSHTransport) Run(ctx context.Context, argv []string) ([]byte, []byte, error) {
	if err := checkArgv(argv); err != nil {
		return nil, nil, err
	}
	cmd := JoinArgv(argv)

	select {
	case t.slots <- struct{}{}:
	default:
		t.o.Metrics.incWaits(t.o.ArrayName)
		select {
		case t.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("%w: waiting for a free ssh session: %w", ErrTransport, ctx.Err())
		}
	}
	defer func() { <-t.slots }()
	t.o.Metrics.addSessions(t.o.ArrayName, 1)
	defer t.o.Metrics.addSessions(t.o.ArrayName, -1)

	// A failed NewSession means the exec request was never sent, so it is
	// safe to retry on another (possibly fresh) connection.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		c, err := t.acquire(ctx)
		if err != nil {
			return nil, nil, err
		}
		r := t.runSession(ctx, c, cmd)
		t.release(c)
		if r.notSent {
			lastErr = r.err
			continue
		}
		return r.stdout, r.stderr, r.err
	}
	return nil, nil, fmt.Errorf("%w: %s: opening an ssh session: %w", ErrTransport, t.o.Addr, lastErr)
}

type sessionResult struct {
	stdout, stderr []byte
	err            error
	notSent        bool // the session never opened: nothing reached the array
}

// Session phases, to judge the connection when the deadline hits.
const (
	phaseOpening int32 = iota // NewSession / exec request in flight
	phaseRunning              // the array accepted the command
)

// runSession runs cmd in a new session on c. Every step honours ctx: the
// SSH library's NewSession and exec request have no deadline of their own,
// so they run in a goroutine and a stuck connection is dropped.
func (t *SSHTransport) runSession(ctx context.Context, c *sshConn, cmd string) sessionResult {
	var (
		phase     atomic.Int32
		abandoned atomic.Bool // the caller gave up; we killed the session
		mu        sync.Mutex
		sess      *ssh.Session
	)
	res := make(chan sessionResult, 1)
	go func() {
		s, err := c.client.NewSession()
		if err != nil {
			t.drop(c, "new session failed", err)
			res <- sessionResult{err: err, notSent: true}
			return
		}
		mu.Lock()
		sess = s
		mu.Unlock()
		defer s.Close()
		var stdout, stderr bytes.Buffer
		s.Stdout = &stdout
		s.Stderr = &stderr
		if err := s.Start(cmd); err != nil {
			t.drop(c, "exec request failed", err)
			res <- sessionResult{err: fmt.Errorf("%w: %s: starting command: %w", ErrTransport, t.o.Addr, err)}
			return
		}
		phase.Store(phaseRunning)
		err = s.Wait()
		var exitErr *ssh.ExitError
		switch {
		case err == nil:
			res <- sessionResult{stdout: stdout.Bytes(), stderr: stderr.Bytes()}
		case errors.As(err, &exitErr):
			res <- sessionResult{stdout: stdout.Bytes(), stderr: stderr.Bytes(), err: &ExitError{Status: exitErr.ExitStatus()}}
		case abandoned.Load():
			// Our own kill closed the channel without an exit status.
			res <- sessionResult{err: err}
		default:
			// No exit status (ExitMissingError) or the connection died
			// mid-command: the command may or may not have run.
			t.drop(c, "command ended without exit status", err)
			res <- sessionResult{err: fmt.Errorf("%w: %s: command outcome unknown: %w", ErrTransport, t.o.Addr, err)}
		}
	}()
	select {
	case r := <-res:
		return r
	case <-ctx.Done():
		mu.Lock()
		s := sess
		mu.Unlock()
		abandoned.Store(true)
		if phase.Load() == phaseRunning {
			// Kill the remote command and free the channel; the
			// connection itself stays usable.
			_ = s.Signal(ssh.SIGKILL)
			_ = s.Close()
		} else {
			// The array did not even answer a session or exec request in
			// time: treat the connection as dead.
			t.drop(c, "session setup timed out", ctx.Err())
		}
		return sessionResult{err: fmt.Errorf("%w: %s: command timed out, outcome unknown: %w", ErrTransport, t.o.Addr, ctx.Err())}
	}
}

// acquire returns a healthy connection with a free session slot, dialling
// a new one when all are busy and the pool is not full.
func (t *SSHTransport) acquire(ctx context.Context) (*sshConn, error) {
	waited, dialFailed := false, false
	for {
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			return nil, fmt.Errorf("%w: ssh transport closed", ErrTransport)
		}
		var best *sshConn
		for _, c := range t.conns {
			if !c.broken && c.active < t.perConn && (best == nil || c.active < best.active) {
				best = c
			}
		}
		if best != nil {
			best.active++
			t.mu.Unlock()
			return best, nil
		}
		if len(t.conns)+t.dialing < t.o.MaxConns && !dialFailed {
			t.dialing++
			t.mu.Unlock()
			c, err := t.dial(ctx)
			t.mu.Lock()
			t.dialing--
			if err == nil {
				if t.closed {
					t.mu.Unlock()
					_ = c.client.Close()
					return nil, fmt.Errorf("%w: ssh transport closed", ErrTransport)
				}
				c.active = 1
				t.conns = append(t.conns, c)
				t.o.Metrics.addConns(t.o.ArrayName, 1)
			}
			t.notifyLocked()
			others := len(t.conns)
			t.mu.Unlock()
			if err != nil {
				if others == 0 {
					return nil, err
				}
				// The array refuses connections beyond its own limits
				// (§11.1 item 8); queue on the connections we have.
				dialFailed = true
				continue
			}
			go t.watch(c)
			return c, nil
		}
		ch := t.changed
		t.mu.Unlock()
		if !waited {
			waited = true
			t.o.Metrics.incWaits(t.o.ArrayName)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: waiting for an ssh connection: %w", ErrTransport, ctx.Err())
		}
	}
}

func (t *SSHTransport) release(c *sshConn) {
	t.mu.Lock()
	c.active--
	t.notifyLocked()
	t.mu.Unlock()
}

// drop removes a broken connection from the pool; the next command dials.
func (t *SSHTransport) drop(c *sshConn, why string, err error) {
	t.mu.Lock()
	if c.broken {
		t.mu.Unlock()
		return
	}
	c.broken = true
	for i, x := range t.conns {
		if x == c {
			t.conns = append(t.conns[:i], t.conns[i+1:]...)
			break
		}
	}
	t.notifyLocked()
	closed := t.closed
	t.mu.Unlock()
	_ = c.client.Close()
	if !closed {
		t.o.Metrics.addConns(t.o.ArrayName, -1)
		t.o.Metrics.incDrops(t.o.ArrayName)
		klog.InfoS("Dropped SSH connection to array", "array", t.o.ArrayName, "addr", t.o.Addr, "reason", why, "err", err)
	}
}

// watch drops c when the server closes it and sends keepalives so a dead
// peer (no FIN, e.g. a failed-over controller) is noticed.
func (t *SSHTransport) watch(c *sshConn) {
	closed := make(chan error, 1)
	go func() { closed <- c.client.Wait() }()
	var tick <-chan time.Time
	if t.o.KeepaliveInterval > 0 {
		tk := time.NewTicker(t.o.KeepaliveInterval)
		defer tk.Stop()
		tick = tk.C
	}
	for {
		select {
		case err := <-closed:
			t.drop(c, "connection closed", err)
			return
		case <-tick:
			reply := make(chan error, 1)
			go func() {
				// The array must tolerate unknown global requests (§1.1).
				_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
				reply <- err
			}()
			select {
			case err := <-reply:
				if err != nil {
					t.drop(c, "keepalive failed", err)
					return
				}
			case <-time.After(t.o.KeepaliveInterval):
				t.drop(c, "keepalive timed out", nil)
				return
			case err := <-closed:
				t.drop(c, "connection closed", err)
				return
			}
		}
	}
}

func (t *SSHTransport) dial(ctx context.Context) (*sshConn, error) {
	if err := t.limiter.Wait(ctx); err != nil {
		return nil, fmt.Errorf("%w: %s: waiting for the connection rate limit: %w", ErrTransport, t.o.Addr, err)
	}
	if t.dialHook != nil {
		t.dialHook()
	}
	c, err := t.dialNow(ctx)
	t.o.Metrics.incDials(t.o.ArrayName, err)
	if err != nil {
		klog.ErrorS(err, "SSH connection to array failed", "array", t.o.ArrayName, "addr", t.o.Addr)
		return nil, fmt.Errorf("%w: %s: %w", ErrTransport, t.o.Addr, err)
	}
	klog.V(2).InfoS("Connected to array", "array", t.o.ArrayName, "addr", t.o.Addr)
	return c, nil
}

func (t *SSHTransport) dialNow(ctx context.Context) (*sshConn, error) {
	deadline := time.Now().Add(t.o.DialTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	nc, err := (&net.Dialer{}).DialContext(dctx, "tcp", t.o.Addr)
	if err != nil {
		return nil, err
	}
	// The handshake has no context of its own; a deadline on the socket
	// bounds it, and is cleared once the connection is up.
	_ = nc.SetDeadline(deadline)
	cc, chans, reqs, err := ssh.NewClientConn(nc, t.o.Addr, t.cfg)
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return &sshConn{client: ssh.NewClient(cc, chans, reqs)}, nil
}

// Conns reports the open connections (tests, debugging).
func (t *SSHTransport) Conns() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

// Close closes every connection; later Runs fail with ErrTransport.
func (t *SSHTransport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	conns := t.conns
	t.conns = nil
	t.notifyLocked()
	t.mu.Unlock()
	for _, c := range conns {
		_ = c.client.Close()
		t.o.Metrics.addConns(t.o.ArrayName, -1)
	}
	return nil
}

// passwordPrompt answers a keyboard-interactive login that asks for the
// password (sshd with PasswordAuthentication off but KbdInteractive on).
// It answers only a single non-echoed prompt, never anything else.
func passwordPrompt(password string) ssh.AuthMethod {
	return ssh.KeyboardInteractive(func(_, _ string, questions []string, echos []bool) ([]string, error) {
		switch {
		case len(questions) == 0:
			return nil, nil
		case len(questions) == 1 && !echos[0]:
			return []string{password}, nil
		}
		return nil, fmt.Errorf("unexpected keyboard-interactive prompts %q", questions)
	})
}
