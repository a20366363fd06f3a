package filelock_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host/filelock"
)

func TestLock_SecondWaiterBlocksUntilRelease(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "attach.lock")
	unlock, err := filelock.Lock(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := filelock.Lock(ctx, p); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock while held: want deadline exceeded, got %v", err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := filelock.Lock(context.Background(), p)
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(100 * time.Millisecond)
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waiter never got the lock after release")
	}
}

func TestLock_ReadOnlyExistingFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Log("running as root: permission bits do not bind, the open still must not write")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "instorage.yaml")
	if err := os.WriteFile(p, []byte("host: {}\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	unlock, err := filelock.Lock(context.Background(), p)
	if err != nil {
		t.Fatalf("lock on a read-only config file: %v", err)
	}
	unlock()
	if b, _ := os.ReadFile(p); string(b) != "host: {}\n" {
		t.Fatalf("lock changed the file: %q", b)
	}
}
