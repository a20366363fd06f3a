package sshd

import (
	"context"
	"sync/atomic"
)

type dropKey struct{}

// dropper closes the SSH connection carrying one command; it is how fault
// injection simulates a link that dies mid-command.
type dropper struct {
	close   func() error
	dropped atomic.Bool
}

func withDropper(ctx context.Context, d *dropper) context.Context {
	return context.WithValue(ctx, dropKey{}, d)
}

// DropConnection closes the SSH connection that carries the command running
// under ctx, so the client sees the transport fail with no exit status. It
// reports false when ctx did not come from this SSH server (e.g. an
// in-process call), in which case nothing happens.
func DropConnection(ctx context.Context) bool {
	d, ok := ctx.Value(dropKey{}).(*dropper)
	if !ok {
		return false
	}
	if d.dropped.CompareAndSwap(false, true) {
		_ = d.close()
	}
	return true
}

func (d *dropper) wasDropped() bool { return d.dropped.Load() }
