// Package arraytest holds transports for testing code built on package
// array: Scripted (canned answers per command line, for parser and command
// tests) and the in-process emulator transport (emulated.go).
package arraytest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
)

// Response is what the array prints for one command.
type Response struct {
	Stdout, Stderr string
	Exit           int   // non-zero → *array.ExitError
	Err            error // transport error (wrap array.ErrTransport to mimic SSH failures)
}

// OK is a successful response with the given stdout.
func OK(stdout string) Response { return Response{Stdout: stdout} }

// Fail is an array refusal as the CLI prints it (§9): code and text on
// stderr, exit 1.
func Fail(code, text string) Response {
	return Response{Stderr: code + " " + text + "\n", Exit: 1}
}

// Scripted is an array.Transport answering exact command lines with canned
// responses. Unknown commands fail the test. It records every command it
// was asked to run, so tests can assert that nothing was sent.
type Scripted struct {
	t     testing.TB
	mu    sync.Mutex
	resp  map[string]Response
	calls []string
}

var _ array.Transport = (*Scripted)(nil)

func NewScripted(t testing.TB) *Scripted {
	return &Scripted{t: t, resp: map[string]Response{}}
}

// On sets the response for one exact command line.
func (s *Scripted) On(cmdline string, r Response) *Scripted {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resp[cmdline] = r
	return s
}

// Calls returns the command lines run so far, in order.
func (s *Scripted) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func (s *Scripted) Run(ctx context.Context, argv []string) ([]byte, []byte, error) {
	if err := array.ValidateArgv(argv); err != nil {
		s.t.Errorf("transport got an unsafe argv %q: %v", argv, err)
		return nil, nil, err
	}
	line := array.JoinArgv(argv)
	s.mu.Lock()
	s.calls = append(s.calls, line)
	r, ok := s.resp[line]
	s.mu.Unlock()
	if !ok {
		s.t.Errorf("unexpected array command %q", line)
		return nil, nil, fmt.Errorf("%w: no scripted response for %q", array.ErrTransport, line)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", array.ErrTransport, err)
	}
	if r.Err != nil {
		return nil, nil, r.Err
	}
	var err error
	if r.Exit != 0 {
		err = &array.ExitError{Status: r.Exit}
	}
	return []byte(r.Stdout), []byte(r.Stderr), err
}
