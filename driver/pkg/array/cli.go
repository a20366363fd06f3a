package array

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"k8s.io/klog/v2"
)

// DefaultCommandTimeout bounds a command whose ctx carries no deadline.
const DefaultCommandTimeout = 2 * time.Minute

// CLI implements Client over a Transport by building argv from validated
// values and parsing the array's text output.
type CLI struct {
	t       Transport
	name    string // array name for logs and metrics
	metrics *Metrics
	timeout time.Duration
}

var _ Client = (*CLI)(nil)

// CLIOption configures a CLI.
type CLIOption func(*CLI)

// WithArrayName labels logs and metrics (the storage[].name of the config).
func WithArrayName(name string) CLIOption { return func(c *CLI) { c.name = name } }

// WithMetrics records per-command latency and errors on m.
func WithMetrics(m *Metrics) CLIOption { return func(c *CLI) { c.metrics = m } }

// WithCommandTimeout sets the timeout used when ctx has no deadline.
func WithCommandTimeout(d time.Duration) CLIOption { return func(c *CLI) { c.timeout = d } }

// NewCLI returns a Client that sends commands through t.
func NewCLI(t Transport, opts ...CLIOption) *CLI {
	c := &CLI{t: t, name: "array", timeout: DefaultCommandTimeout}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Close releases the transport (SSH connections) if it holds any.
func (c *CLI) Close() error {
	if cl, ok := c.t.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// exec runs one command and returns stdout. Any stderr or non-zero exit is
// an array-side *CLIError (the emulator and the array print CMMVC codes on
// stderr, §1.3); transport failures keep ErrTransport in their chain.
func (c *CLI) exec(ctx context.Context, argv []string) ([]byte, error) {
	display := redact(argv)
	if err := checkArgv(argv); err != nil {
		return nil, err
	}
	sub := argv[1]
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	start := time.Now()
	stdout, stderr, err := c.t.Run(ctx, argv)
	d := time.Since(start)

	var exitErr *ExitError
	switch {
	case err != nil && !errors.As(err, &exitErr):
		if !errors.Is(err, ErrTransport) {
			err = fmt.Errorf("%w: %w", ErrTransport, err)
		}
		err = fmt.Errorf("array %s: %s: %w", c.name, display, err)
	case len(stderr) > 0 || exitErr != nil:
		msg := stderr
		if len(msg) == 0 {
			msg = []byte(exitErr.Error() + " with no error text")
		}
		err = parseCLIError(display, msg)
	}
	c.metrics.observeCommand(c.name, sub, d, err)
	if err != nil {
		klog.V(2).InfoS("Array command failed", "array", c.name, "command", display, "duration", d, "err", err)
		return nil, err
	}
	klog.V(4).InfoS("Array command", "array", c.name, "command", display, "duration", d, "stdoutBytes", len(stdout))
	return stdout, nil
}

// query runs an mcsinq command. Queries change nothing, so one that lost
// its connection mid-flight is retried once; operations never are.
func (c *CLI) query(ctx context.Context, argv ...string) ([]byte, error) {
	full := append([]string{"mcsinq"}, argv...)
	out, err := c.exec(ctx, full)
	if err != nil && errors.Is(err, ErrTransport) && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
		klog.V(2).InfoS("Retrying array query after a transport error", "array", c.name, "command", redact(full), "err", err)
		out, err = c.exec(ctx, full)
	}
	return out, err
}

// op runs an mcsop command that prints nothing on success; any output is
// an error (§1.3: stdout and stderr must both be empty).
func (c *CLI) op(ctx context.Context, argv ...string) error {
	full := append([]string{"mcsop"}, argv...)
	out, err := c.exec(ctx, full)
	if err != nil {
		return err
	}
	if len(out) != 0 {
		return fmt.Errorf("%w: expected no output from %q, got %q", ErrUnexpectedOutput, redact(full), truncate(out))
	}
	return nil
}

// create runs an mcsop mk* command and returns the new object id (§2.6).
func (c *CLI) create(ctx context.Context, argv ...string) (string, error) {
	full := append([]string{"mcsop"}, argv...)
	out, err := c.exec(ctx, full)
	if err != nil {
		return "", err
	}
	return parseCreatedID(redact(full), out)
}
