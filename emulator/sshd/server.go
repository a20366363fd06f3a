// Package sshd is the emulator's SSH front end: it authenticates, accepts one
// exec per session channel and hands the command line to a Runner. It knows
// nothing about the CLI itself (see mcs-cli.md §1 for the session model).
package sshd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/time/rate"
	"k8s.io/klog/v2"
)

// DefaultCommandTimeout bounds one command when Config.CommandTimeout is 0.
const DefaultCommandTimeout = 2 * time.Minute

// Limits mimic the array's connection limits; zero values mean unlimited.
// The real array allows 32 concurrent CLI sessions and about 3 new SSH
// connections per second (mcs-cli.md §1.1, §11.1 item 8). A connection over
// either limit is closed before the SSH handshake, so the client sees a
// transport error (EOF) and nothing has run.
type Limits struct {
	MaxConnections       int     // concurrent SSH connections
	ConnectionsPerSecond float64 // sustained rate of new connections
	ConnectionBurst      int     // bucket size; 0 → max(1, ceil(rate))
}

// Config is everything a Server needs.
type Config struct {
	Runner         Runner
	Credentials    *Credentials
	HostKey        gossh.Signer
	Limits         Limits
	CommandTimeout time.Duration // per command; 0 → DefaultCommandTimeout
	IdleTimeout    time.Duration // close a connection idle this long; 0 → never
	Metrics        *Metrics      // nil → unregistered collectors
}

// Server is one SSH listener in front of a Runner.
type Server struct {
	cfg     Config
	ssh     *ssh.Server
	slots   chan struct{}
	limiter *rate.Limiter
	metrics *Metrics

	mu       sync.Mutex
	ln       net.Listener
	closed   bool
	inflight int           // commands running or replying
	idle     chan struct{} // closed when inflight drops to 0 during Shutdown
	conns    map[*trackedConn]struct{}
	drained  chan struct{} // closed when conns empties during Shutdown
}

// New validates cfg and builds a server; call Serve to start it.
func New(cfg Config) (*Server, error) {
	if cfg.Runner == nil {
		return nil, errors.New("sshd: Runner is required")
	}
	if cfg.HostKey == nil {
		return nil, errors.New("sshd: HostKey is required")
	}
	if cfg.Credentials == nil || cfg.Credentials.Empty() {
		return nil, errors.New("sshd: at least one user is required; the emulator never runs without authentication")
	}
	if cfg.Limits.MaxConnections < 0 || cfg.Limits.ConnectionsPerSecond < 0 || cfg.Limits.ConnectionBurst < 0 {
		return nil, errors.New("sshd: limits must not be negative")
	}
	if cfg.CommandTimeout < 0 || cfg.IdleTimeout < 0 {
		return nil, errors.New("sshd: timeouts must not be negative")
	}
	if cfg.CommandTimeout == 0 {
		cfg.CommandTimeout = DefaultCommandTimeout
	}
	s := &Server{cfg: cfg, metrics: cfg.Metrics, conns: map[*trackedConn]struct{}{}}
	if s.metrics == nil {
		s.metrics = NewMetrics(nil)
	}
	if n := cfg.Limits.MaxConnections; n > 0 {
		s.slots = make(chan struct{}, n)
	}
	if r := cfg.Limits.ConnectionsPerSecond; r > 0 {
		burst := cfg.Limits.ConnectionBurst
		if burst == 0 {
			burst = max(1, int(r+0.999))
		}
		s.limiter = rate.NewLimiter(rate.Limit(r), burst)
	}
	s.ssh = &ssh.Server{
		Version:     "mcs-emulator",
		Handler:     s.handleSession,
		HostSigners: []ssh.Signer{cfg.HostKey},
		IdleTimeout: cfg.IdleTimeout,
		PasswordHandler: func(ctx ssh.Context, password string) bool {
			return s.checkAuth(ctx, cfg.Credentials.CheckPassword(ctx.User(), password), "password")
		},
		PublicKeyHandler: func(ctx ssh.Context, key ssh.PublicKey) bool {
			return s.checkAuth(ctx, cfg.Credentials.CheckKey(ctx.User(), key), "publickey")
		},
		// A PTY is accepted at the protocol level so the session can be
		// refused with a readable message; see handleSession.
		PtyCallback:  func(ssh.Context, ssh.Pty) bool { return true },
		ConnCallback: s.admit,
		ConnectionFailedCallback: func(conn net.Conn, err error) {
			s.metrics.connections.WithLabelValues("handshake_failed").Inc()
			klog.V(2).InfoS("SSH handshake failed", "remote", conn.RemoteAddr().String(), "err", err)
		},
		// Only "session" channels: no port forwarding, no agent, no X11.
		ChannelHandlers: map[string]ssh.ChannelHandler{"session": ssh.DefaultSessionHandler},
		// Unknown global requests (keepalive@openssh.com, keepalive@lag.net)
		// get REQUEST_FAILURE when a reply is wanted and never disconnect.
		RequestHandlers: map[string]ssh.RequestHandler{},
	}
	return s, nil
}

// checkAuth logs failed logins without the credential.
func (s *Server) checkAuth(ctx ssh.Context, ok bool, method string) bool {
	if !ok {
		klog.InfoS("SSH authentication failed", "user", ctx.User(), "method", method, "remote", ctx.RemoteAddr().String())
	}
	return ok
}

// admit applies Limits before the handshake; returning nil closes conn.
func (s *Server) admit(ctx ssh.Context, conn net.Conn) net.Conn {
	if s.limiter != nil && !s.limiter.Allow() {
		s.metrics.connections.WithLabelValues("refused_rate").Inc()
		klog.InfoS("SSH connection refused: new-connection rate limit", "remote", conn.RemoteAddr().String(),
			"perSecond", s.cfg.Limits.ConnectionsPerSecond)
		return nil
	}
	if s.slots != nil {
		select {
		case s.slots <- struct{}{}:
		default:
			s.metrics.connections.WithLabelValues("refused_limit").Inc()
			klog.InfoS("SSH connection refused: too many sessions", "remote", conn.RemoteAddr().String(),
				"max", s.cfg.Limits.MaxConnections)
			return nil
		}
	}
	s.metrics.connections.WithLabelValues("accepted").Inc()
	s.metrics.active.Inc()
	tc := &trackedConn{Conn: conn}
	tc.release = func() {
		s.metrics.active.Dec()
		if s.slots != nil {
			<-s.slots
		}
		s.mu.Lock()
		delete(s.conns, tc)
		if len(s.conns) == 0 && s.drained != nil {
			close(s.drained)
			s.drained = nil
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.conns[tc] = struct{}{}
	s.mu.Unlock()
	return tc
}

// trackedConn gives back its connection slot exactly once.
type trackedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

// closeWrite half-closes TCP: the peer reads everything already sent, then
// EOF. A full close with unread input would reset the connection and the
// peer could lose replies still in its receive buffer.
func (c *trackedConn) closeWrite() {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// Serve accepts connections on ln until Close or Shutdown; it then returns nil.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.ln = ln
	s.mu.Unlock()
	klog.InfoS("SSH server listening", "addr", ln.Addr().String(),
		"hostKey", gossh.FingerprintSHA256(s.cfg.HostKey.PublicKey()), "users", s.cfg.Credentials.Users())
	err := s.ssh.Serve(ln)
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed || errors.Is(err, ssh.ErrServerClosed) {
		return nil
	}
	return err
}

// Listen opens addr and serves it in the background, returning the bound
// address (useful with port 0) and a channel that yields Serve's result.
func (s *Server) Listen(addr string) (net.Addr, <-chan error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	return ln.Addr(), done, nil
}

// Close stops listening and drops every connection at once.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.ssh.Close()
}

// Shutdown stops accepting connections and commands, waits until the
// commands in flight have replied (or ctx ends), then ends every
// connection, idle ones included: clients keep connections open, so waiting
// for them to close would always use up the whole grace period.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	ln := s.ln
	var wait chan struct{}
	if s.inflight > 0 {
		s.idle = make(chan struct{})
		wait = s.idle
	}
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	var err error
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err == nil {
		s.drain(ctx)
	}
	s.ssh.Close()
	return err
}

// drainTimeout bounds how long Shutdown waits for clients to notice the
// half-close and hang up.
const drainTimeout = 2 * time.Second

// drain half-closes every connection so the replies already written reach
// the clients, and waits (briefly) for the clients to close their side.
func (s *Server) drain(ctx context.Context) {
	s.mu.Lock()
	if len(s.conns) == 0 {
		s.mu.Unlock()
		return
	}
	s.drained = make(chan struct{})
	done := s.drained
	for c := range s.conns {
		c.closeWrite()
	}
	s.mu.Unlock()
	t := time.NewTimer(drainTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	case <-ctx.Done():
	}
}

// beginCommand admits a command unless the server is shutting down.
func (s *Server) beginCommand() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.inflight++
	return true
}

func (s *Server) endCommand() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	if s.inflight == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
}
