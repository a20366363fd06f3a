// Package hostexec is the node plugin's only way to run host commands
// (iscsiadm, multipath, blockdev, mkfs, …). It decorates a k8s.io/utils/exec
// Interface, so k8s.io/mount-utils, the host flows and the tests' fake exec
// all share one seam: a timeout on every command, and optionally nsenter
// into the host's initial namespaces for the daemons' clients.
package hostexec

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	utilsexec "k8s.io/utils/exec"
)

// DefaultTimeout is used when the config's hostCommandTimeout is 0 (manual table 3-1: 5 minutes).
const DefaultTimeout = 5 * time.Minute

// WithTimeout returns an exec.Interface whose every command is bounded by
// timeout, even when the caller (e.g. mount-utils) uses Command without a context.
func WithTimeout(base utilsexec.Interface, timeout time.Duration) utilsexec.Interface {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &timed{base: base, timeout: timeout}
}

type timed struct {
	base    utilsexec.Interface
	timeout time.Duration
}

func (t *timed) Command(cmd string, args ...string) utilsexec.Cmd {
	return t.CommandContext(context.Background(), cmd, args...)
}

func (t *timed) CommandContext(ctx context.Context, cmd string, args ...string) utilsexec.Cmd {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	return &cancelCmd{Cmd: t.base.CommandContext(ctx, cmd, args...), ctx: ctx, cancel: cancel, name: cmd}
}

// KillGrace is how long a command may take to exit after the timeout killed
// it. A process in uninterruptible sleep (D state: umount on a map queueing
// I/O, iscsiadm in a kernel call) cannot die until the kernel lets it; the
// caller gets an error after this grace instead of hanging with it, and a
// goroutine reaps the process whenever it exits.
var KillGrace = 10 * time.Second

// ErrAbandoned: a killed command did not exit within KillGrace.
var ErrAbandoned = errors.New("command did not exit after being killed (uninterruptible sleep?); abandoned")

func (t *timed) LookPath(file string) (string, error) { return t.base.LookPath(file) }

// cancelCmd releases the timeout's timer as soon as the command has
// finished, and stops waiting for one that outlives its kill by KillGrace.
type cancelCmd struct {
	utilsexec.Cmd
	ctx    context.Context
	cancel context.CancelFunc
	name   string
}

// bounded runs fn (which waits for the process) but returns at most
// KillGrace after the context ended.
func (c *cancelCmd) bounded(fn func() ([]byte, error)) ([]byte, error) {
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := fn()
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		c.cancel()
		return r.out, r.err
	case <-c.ctx.Done():
	}
	t := time.NewTimer(KillGrace)
	defer t.Stop()
	select {
	case r := <-done:
		c.cancel()
		return r.out, r.err
	case <-t.C:
		c.cancel()
		return nil, fmt.Errorf("%s: %w: %w", c.name, ErrAbandoned, c.ctx.Err())
	}
}

func (c *cancelCmd) Run() error {
	_, err := c.bounded(func() ([]byte, error) { return nil, c.Cmd.Run() })
	return err
}

func (c *cancelCmd) CombinedOutput() ([]byte, error) { return c.bounded(c.Cmd.CombinedOutput) }

func (c *cancelCmd) Output() ([]byte, error) { return c.bounded(c.Cmd.Output) }

func (c *cancelCmd) Wait() error {
	defer c.cancel()
	return c.Cmd.Wait()
}

// Error is a failed host command. Args are already redacted.
type Error struct {
	Cmd      string
	Args     []string
	ExitCode int // -1 when the command did not run to an exit status
	Output   string
	Err      error
}

func (e *Error) Error() string {
	if e.ExitCode >= 0 {
		return fmt.Sprintf("%s %s: exit status %d: %s", e.Cmd, strings.Join(e.Args, " "), e.ExitCode, e.Output)
	}
	return fmt.Sprintf("%s %s: %v: %s", e.Cmd, strings.Join(e.Args, " "), e.Err, e.Output)
}

func (e *Error) Unwrap() error { return e.Err }

// ExitCode returns the exit status carried by err, or -1.
func ExitCode(err error) int {
	var he *Error
	if errors.As(err, &he) {
		return he.ExitCode
	}
	var ee utilsexec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitStatus()
	}
	return -1
}

// Run runs name with args under ctx and returns the combined output.
func Run(ctx context.Context, e utilsexec.Interface, name string, args ...string) ([]byte, error) {
	return run(ctx, e, nil, name, args)
}

// RunRedacted is Run for commands carrying a secret: args at the given
// indexes are replaced by "***" in the returned error.
func RunRedacted(ctx context.Context, e utilsexec.Interface, secret []int, name string, args ...string) ([]byte, error) {
	return run(ctx, e, secret, name, args)
}

func run(ctx context.Context, e utilsexec.Interface, secret []int, name string, args []string) ([]byte, error) {
	out, err := e.CommandContext(ctx, name, args...).CombinedOutput()
	if err == nil {
		return out, nil
	}
	shown := append([]string(nil), args...)
	for _, i := range secret {
		if i >= 0 && i < len(shown) {
			shown[i] = "***"
		}
	}
	code := -1
	var ee utilsexec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitStatus()
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", err, ctx.Err())
	}
	return out, &Error{Cmd: name, Args: shown, ExitCode: code, Output: strings.TrimSpace(string(out)), Err: err}
}
