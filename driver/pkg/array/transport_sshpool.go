package array

import (
	"context"
	"fmt"
	"net"
	"time"

	"golang.org/x/crypto/ssh"
	"k8s.io/klog/v2"
)

// The connection pool of SSHTransport: pick or dial a connection, watch it,
// drop it when broken.

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
		// After a refused dial, wait for the connections we have — unless
		// they have all gone meanwhile.
		if len(t.conns)+t.dialing < t.o.MaxConns && (!dialFailed || len(t.conns) == 0) {
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
	c.lastUsed = time.Now()
	t.notifyLocked()
	t.mu.Unlock()
}

// closeIfIdle closes c when nothing used it for IdleTimeout and another
// connection stays open; it reports whether c was closed.
func (t *SSHTransport) closeIfIdle(c *sshConn) bool {
	t.mu.Lock()
	if c.broken || c.active > 0 || len(t.conns) < 2 || time.Since(c.lastUsed) < t.o.IdleTimeout {
		t.mu.Unlock()
		return false
	}
	c.broken = true
	for i, x := range t.conns {
		if x == c {
			t.conns = append(t.conns[:i], t.conns[i+1:]...)
			break
		}
	}
	t.notifyLocked()
	t.mu.Unlock()
	_ = c.client.Close()
	t.o.Metrics.addConns(t.o.ArrayName, -1)
	klog.V(2).InfoS("Closed idle SSH connection to array", "array", t.o.ArrayName, "addr", t.o.Addr)
	return true
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
	var tick, idleTick <-chan time.Time
	if t.o.KeepaliveInterval > 0 {
		tk := time.NewTicker(t.o.KeepaliveInterval)
		defer tk.Stop()
		tick = tk.C
	}
	if t.o.IdleTimeout > 0 {
		tk := time.NewTicker(t.o.IdleTimeout / 2)
		defer tk.Stop()
		idleTick = tk.C
	}
	for {
		select {
		case err := <-closed:
			t.drop(c, "connection closed", err)
			return
		case <-idleTick:
			if t.closeIfIdle(c) {
				return
			}
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
