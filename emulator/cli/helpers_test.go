package cli

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/instorage-csi/instorage-csi/emulator/model"
	"github.com/instorage-csi/instorage-csi/emulator/sshd"
)

// fakeClock is a controllable model.Clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }

func (f *fakeClock) Add(d time.Duration) { f.mu.Lock(); f.t = f.t.Add(d); f.mu.Unlock() }

type rig struct {
	t     *testing.T
	a     *model.Array
	c     *CLI
	clock *fakeClock
	dir   string
}

func newRig(t *testing.T, topo model.Topology) *rig {
	t.Helper()
	clk := &fakeClock{t: time.Date(2024, 6, 11, 9, 30, 15, 0, time.UTC)}
	dir := t.TempDir()
	a, err := model.OpenWithOptions(dir, topo, model.Options{Clock: clk, TickInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return &rig{t: t, a: a, c: New(a), clock: clk, dir: dir}
}

// run executes line and returns stdout, stderr, exit status.
func (r *rig) run(line string) (string, string, int) {
	out, errb, code := r.c.Run(context.Background(), "superuser", line)
	return string(out), string(errb), code
}

// ok runs line and fails the test unless it succeeded.
func (r *rig) ok(line string) string {
	r.t.Helper()
	out, errb, code := r.run(line)
	if code != 0 || errb != "" {
		r.t.Fatalf("%s: exit %d stderr %q", line, code, errb)
	}
	return out
}

// fail runs line and asserts the CMMVC code on stderr with empty stdout.
func (r *rig) fail(line, code string) {
	r.t.Helper()
	out, errb, exit := r.run(line)
	if exit != 1 || out != "" || !strings.HasPrefix(errb, code+" ") || !strings.HasSuffix(errb, "\n") {
		r.t.Fatalf("%s: want %s, got exit %d stdout %q stderr %q", line, code, exit, out, errb)
	}
}

// rows parses a list view the way [C] does, checking the field counts.
func rows(t *testing.T, out string) []map[string]string {
	t.Helper()
	if out == "" {
		return nil
	}
	if !strings.HasSuffix(out, "\n") || strings.HasSuffix(out, "\n\n") {
		t.Fatalf("list output must end with exactly one newline: %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	hdr := strings.Split(lines[0], "!")
	var res []map[string]string
	for _, l := range lines[1:] {
		f := strings.Split(l, "!")
		if len(f) != len(hdr) {
			t.Fatalf("row/header mismatch: %q vs %q", l, lines[0])
		}
		m := map[string]string{}
		for i, h := range hdr {
			m[h] = f[i]
		}
		res = append(res, m)
	}
	return res
}

// sections parses a detail view the way [G] does.
func sections(out string) []map[string]string {
	var res []map[string]string
	cur := map[string]string{}
	for _, l := range strings.Split(strings.Trim(out, "\n"), "\n") {
		if l == "" {
			res = append(res, cur)
			cur = map[string]string{}
			continue
		}
		k, v, _ := strings.Cut(l, "!")
		cur[k] = v
	}
	return append(res, cur)
}

// The SSH front end runs the CLI through this interface.
var _ sshd.Runner = (*CLI)(nil)
