// Package filelock serialises attach, detach and expand on one node with an
// flock(2) on the config's attachExtendFileLockPath, so two plugin processes
// (or a restarted one racing its predecessor) never scan, log out or flush
// at the same time. flock locks belong to the open file description, so two
// Lock calls in one process exclude each other too.
package filelock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// pollInterval bounds how late a waiter notices a released lock.
const pollInterval = 50 * time.Millisecond

// Lock takes an exclusive lock on path (created if missing), waiting until
// ctx is done. The returned func releases it.
func Lock(ctx context.Context, path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		// flock needs only an open descriptor: the vendor's default lock is
		// the config file itself, a read-only ConfigMap mount in a pod.
		var rerr error
		if f, rerr = os.Open(path); rerr != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
	}
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() {
				_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-t.C:
		}
	}
}
