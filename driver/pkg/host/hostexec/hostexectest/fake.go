// Package hostexectest is a scripted host for unit tests: a k8s.io/utils/exec
// Interface (built from its testing FakeCmd) that dispatches each command to
// a handler by name and records every call, so tests assert what ran.
package hostexectest

import (
	"context"
	"fmt"
	"strings"
	"sync"

	utilsexec "k8s.io/utils/exec"
	testingexec "k8s.io/utils/exec/testing"
)

// Handler answers one command: its combined output and exit status.
type Handler func(args []string) (output string, exit int)

// Fake is safe for concurrent use.
type Fake struct {
	mu       sync.Mutex
	handlers map[string]Handler
	calls    [][]string
	// Unhandled, when set, answers commands without a handler; otherwise
	// they fail with exit 127 ("not found") so tests notice them.
	Unhandled Handler
}

// New returns an empty Fake.
func New() *Fake { return &Fake{handlers: map[string]Handler{}} }

// Handle sets the handler for a command name.
func (f *Fake) Handle(name string, h Handler) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[name] = h
}

// OK returns a handler that always succeeds with out.
func OK(out string) Handler { return func([]string) (string, int) { return out, 0 } }

// Fail returns a handler that always exits with code and prints out.
func Fail(out string, code int) Handler { return func([]string) (string, int) { return out, code } }

// Calls returns every command run so far, as "name arg arg".
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.calls))
	for i, c := range f.calls {
		out[i] = strings.Join(c, " ")
	}
	return out
}

// CallsOf returns the calls whose command line starts with prefix.
func (f *Fake) CallsOf(prefix string) []string {
	var out []string
	for _, c := range f.Calls() {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func (f *Fake) Command(cmd string, args ...string) utilsexec.Cmd {
	return f.CommandContext(context.Background(), cmd, args...)
}

func (f *Fake) CommandContext(ctx context.Context, cmd string, args ...string) utilsexec.Cmd {
	argv := append([]string{cmd}, args...)
	f.mu.Lock()
	f.calls = append(f.calls, argv)
	h := f.handlers[cmd]
	if h == nil {
		h = f.Unhandled
	}
	f.mu.Unlock()
	action := func() ([]byte, []byte, error) {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if h == nil {
			return []byte(fmt.Sprintf("%s: command not scripted", cmd)), nil, testingexec.FakeExitError{Status: 127}
		}
		out, code := h(args)
		if code != 0 {
			return []byte(out), nil, testingexec.FakeExitError{Status: code}
		}
		return []byte(out), nil, nil
	}
	fc := &testingexec.FakeCmd{
		CombinedOutputScript: []testingexec.FakeAction{action},
		OutputScript:         []testingexec.FakeAction{action},
		RunScript:            []testingexec.FakeAction{action},
	}
	return testingexec.InitFakeCmd(fc, cmd, args...)
}

func (f *Fake) LookPath(file string) (string, error) { return "/usr/sbin/" + file, nil }
