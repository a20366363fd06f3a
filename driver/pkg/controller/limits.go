package controller

import (
	"context"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
)

// op names one kind of array work bounded by config task.max*Number.
type op int

const (
	opCreateVolume op = iota
	opDeleteVolume
	opPublish
	opUnpublish
	opCreateSnapshot
	opDeleteSnapshot
	opExpand
	numOps
)

var opNames = [numOps]string{"create-volume", "delete-volume", "publish", "unpublish", "create-snapshot", "delete-snapshot", "expand"}

// defaultTaskLimit is the vendor default when a task.max*Number is 0
// (manual table 3-1).
const defaultTaskLimit = 4

// limiter bounds concurrent operations of each kind on one array. Excess
// requests wait (until their deadline) rather than fail, as the vendor
// plugin does: the CO would only retry them anyway.
type limiter struct{ slots [numOps]chan struct{} }

func newLimiter(t config.Task) *limiter {
	n := [numOps]int{
		t.MaxCreateVolumeNumber, t.MaxDeleteVolumeNumber, t.MaxPublishVolumeNumber, t.MaxUnpublishVolumeNumber,
		t.MaxCreateSnapshotNumber, t.MaxDeleteSnapshotNumber, t.MaxExpandVolumeNumber,
	}
	l := &limiter{}
	for i, v := range n {
		if v <= 0 {
			v = defaultTaskLimit
		}
		l.slots[i] = make(chan struct{}, v)
	}
	return l
}

// acquire takes a slot for o or returns the context's error as a status.
func (l *limiter) acquire(ctx context.Context, o op) (release func(), err error) {
	select {
	case l.slots[o] <- struct{}{}:
		return func() { <-l.slots[o] }, nil
	case <-ctx.Done():
		return nil, status.Errorf(codes.DeadlineExceeded, "waiting for a free %s slot: %v", opNames[o], ctx.Err())
	}
}

// inflight rejects a second operation on the same object while one runs,
// with Aborted as the CSI spec asks ("operation pending for volume").
type inflight struct {
	mu   sync.Mutex
	keys map[string]string // key → running operation
}

func newInflight() *inflight { return &inflight{keys: map[string]string{}} }

func (f *inflight) begin(key, what string) (end func(), err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if running, busy := f.keys[key]; busy {
		return nil, status.Errorf(codes.Aborted, "an operation (%s) is already in progress for %s", running, key)
	}
	f.keys[key] = what
	return func() {
		f.mu.Lock()
		delete(f.keys, key)
		f.mu.Unlock()
	}, nil
}

// admit starts an operation on key: Aborted if one is already in flight on
// it, then a slot of the array's task limit for o. done releases both.
func (s *Server) admit(ctx context.Context, a *Array, key, what string, o op) (done func(), err error) {
	end, err := s.inflight.begin(key, what)
	if err != nil {
		return nil, err
	}
	release, err := a.limits.acquire(ctx, o)
	if err != nil {
		end()
		return nil, err
	}
	return func() { release(); end() }, nil
}

// keyedMutex serialises work on one array host object (publish and
// unpublish of different volumes to the same node), blocking rather than
// aborting because both callers are legitimate.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*refMutex
}

type refMutex struct {
	sync.Mutex
	refs int
}

func newKeyedMutex() *keyedMutex { return &keyedMutex{locks: map[string]*refMutex{}} }

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	m := k.locks[key]
	if m == nil {
		m = &refMutex{}
		k.locks[key] = m
	}
	m.refs++
	k.mu.Unlock()
	m.Lock()
	return func() {
		m.Unlock()
		k.mu.Lock()
		if m.refs--; m.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
