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
	DefaultIdleTimeout       = 5 * time.Minute
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
	// IdleTimeout closes connections unused this long, keeping one warm,
	// so a burst does not hold array sessions forever. Default 5m;
	// negative disables.
	IdleTimeout time.Duration
	Metrics     *Metrics
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
	client   *ssh.Client
	active   int
	broken   bool
	lastUsed time.Time
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
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
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
