package fault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/instorage-csi/instorage-csi/emulator/sshd"
	gossh "golang.org/x/crypto/ssh"
	"sigs.k8s.io/yaml"
)

// countingRunner records which commands reached the "array".
type countingRunner struct {
	mu    sync.Mutex
	lines []string
}

func (c *countingRunner) Run(_ context.Context, _, line string) ([]byte, []byte, int) {
	c.mu.Lock()
	c.lines = append(c.lines, line)
	c.mu.Unlock()
	return []byte("Virtual Disk, id [0], successfully created\n"), nil, 0
}

func (c *countingRunner) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lines)
}

func TestErrorInjection_TimesAndSkip(t *testing.T) {
	in := NewInjector()
	inner := &countingRunner{}
	r := in.Wrap(inner)
	if _, err := in.Add(Rule{Command: "mkvdisk", Error: "CMMVC6035E", Skip: 1, Times: 2}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var statuses []int
	for range 5 {
		_, stderr, st := r.Run(ctx, "admin", "mcsop mkvdisk -name v1 -size 1 -unit gb -mdiskgrp Pool0")
		statuses = append(statuses, st)
		if st == 1 && string(stderr) != "CMMVC6035E The action failed as the object already exists.\n" {
			t.Fatalf("stderr %q", stderr)
		}
	}
	if got, want := statuses, []int{0, 1, 1, 0, 0}; !equalInts(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	if inner.count() != 3 {
		t.Fatalf("inner ran %d times, want 3 (failed-before commands must not take effect)", inner.count())
	}
	// Other commands are untouched.
	if _, _, st := r.Run(ctx, "admin", "mcsinq lsvdisk -delim !"); st != 0 {
		t.Fatal("lsvdisk affected")
	}
	l := in.List()
	if len(l) != 1 || l[0].Fired != 2 || l[0].Matched != 5 {
		t.Fatalf("status %+v", l)
	}
}

func TestErrorAfter_CommandTakesEffect(t *testing.T) {
	in := NewInjector()
	inner := &countingRunner{}
	if _, err := in.Add(Rule{Pattern: `-name v9\b`, Error: "CMMVC6372W", When: After, Times: 1}); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, st := in.Wrap(inner).Run(context.Background(), "admin", "mcsop mkvdisk -name v9 -size 1")
	if st != 1 || len(stdout) != 0 || !strings.HasPrefix(string(stderr), "CMMVC6372W ") || inner.count() != 1 {
		t.Fatalf("got (%q, %q, %d), inner ran %d", stdout, stderr, st, inner.count())
	}
}

func TestLatency(t *testing.T) {
	in := NewInjector()
	if _, err := in.Add(Rule{Command: "lsvdisk", Latency: &Latency{Fixed: Duration(80 * time.Millisecond)}}); err != nil {
		t.Fatal(err)
	}
	r := in.Wrap(&countingRunner{})
	start := time.Now()
	r.Run(context.Background(), "admin", "mcsinq lsvdisk -delim !")
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Fatalf("latency %v < 80ms", d)
	}
	// A cancelled context ends the wait instead of sleeping it out.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, _, st := r.Run(ctx, "admin", "mcsinq lsvdisk"); st != 1 {
		t.Fatal("cancelled latency did not fail the command")
	}
	u := Latency{Min: Duration(time.Millisecond), Max: Duration(3 * time.Millisecond)}
	for range 100 {
		if d := u.sample(); d < time.Millisecond || d > 3*time.Millisecond {
			t.Fatalf("uniform sample %v out of range", d)
		}
	}
}

func TestLatencyLogNormalPercentiles(t *testing.T) {
	l := Latency{P50: Duration(10 * time.Millisecond), P99: Duration(100 * time.Millisecond)}
	s := make([]time.Duration, 20000)
	for i := range s {
		s[i] = l.sample()
	}
	slices.Sort(s)
	p50, p99 := s[len(s)/2], s[len(s)*99/100]
	if p50 < 9*time.Millisecond || p50 > 11*time.Millisecond || p99 < 80*time.Millisecond || p99 > 120*time.Millisecond {
		t.Fatalf("empirical p50 %v p99 %v, want ≈10ms/100ms", p50, p99)
	}
	if s[len(s)-1] > time.Second {
		t.Fatalf("sample %v above the 10×p99 cap", s[len(s)-1])
	}
}

func TestRuleValidation(t *testing.T) {
	bad := []Rule{
		{Command: "mkvdisk"},                                    // no effect
		{Error: "oops"},                                         // not a CMMVC code
		{Error: "CMMVC9999E"},                                   // unknown code, no text
		{Error: "CMMVC5753E", Drop: true},                       // exclusive
		{Drop: true, When: "later"},                             // bad when
		{Pattern: "(", Drop: true},                              // bad regexp
		{Drop: true, Probability: 2},                            // bad probability
		{Latency: &Latency{Min: Duration(2), Max: Duration(1)}}, // max < min
		{Latency: &Latency{P50: Duration(2), P99: Duration(1)}}, // p99 < p50
		{Latency: &Latency{Fixed: Duration(1), P50: Duration(1), P99: Duration(2)}}, // two kinds
	}
	in := NewInjector()
	for _, r := range bad {
		if _, err := in.Add(r); err == nil {
			t.Errorf("accepted %+v", r)
		}
	}
	if _, err := in.Add(Rule{ID: "x", Drop: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Add(Rule{ID: "x", Drop: true}); err == nil {
		t.Error("duplicate id accepted")
	}
	if !in.Remove("x") || in.Remove("x") {
		t.Error("Remove")
	}
}

func TestRuleFromYAML(t *testing.T) {
	doc := []byte("command: lsvdisk\nlatency: {min: 5ms, max: 10ms}\nerror: CMMVC5754E\ntimes: 3\n")
	var r Rule
	if err := yaml.UnmarshalStrict(doc, &r); err != nil {
		t.Fatal(err)
	}
	if r.Latency == nil || time.Duration(r.Latency.Max) != 10*time.Millisecond || r.Times != 3 {
		t.Fatalf("%+v", r)
	}
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"max":"10ms"`) {
		t.Fatalf("round trip %s", b)
	}
}

// TestDropOverSSH checks both drop points against a real SSH server: the
// client gets a transport error either way, and only "after" changed state.
func TestDropOverSSH(t *testing.T) {
	for _, when := range []When{Before, After} {
		t.Run(string(when), func(t *testing.T) {
			in := NewInjector()
			inner := &countingRunner{}
			hostKey, _ := sshd.LoadOrCreateHostKey(filepath.Join(t.TempDir(), sshd.HostKeyFile))
			creds := sshd.NewCredentials()
			creds.AddPassword("admin", "pw")
			srv, err := sshd.New(sshd.Config{Runner: in.Wrap(inner), Credentials: creds, HostKey: hostKey})
			if err != nil {
				t.Fatal(err)
			}
			addr, _, err := srv.Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			if _, err := in.Add(Rule{Command: "mkvdisk", Drop: true, When: when, Times: 1}); err != nil {
				t.Fatal(err)
			}
			c, err := gossh.Dial("tcp", addr.String(), &gossh.ClientConfig{User: "admin",
				Auth: []gossh.AuthMethod{gossh.Password("pw")}, HostKeyCallback: gossh.FixedHostKey(hostKey.PublicKey())})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			sess, _ := c.NewSession()
			var out bytes.Buffer
			sess.Stdout = &out
			err = sess.Run("mcsop mkvdisk -name v1")
			var exitErr *gossh.ExitError
			if err == nil || errors.As(err, &exitErr) || out.Len() != 0 {
				t.Fatalf("want a transport error and no output, got %v, %q", err, out.String())
			}
			want := 0
			if when == After {
				want = 1
			}
			if inner.count() != want {
				t.Fatalf("command ran %d times, want %d", inner.count(), want)
			}
		})
	}
}

type fakeArray struct {
	offline []string
	free    map[string]int64
}

func (f *fakeArray) SetNodeStatus(n string, online bool) error {
	if !online {
		f.offline = append(f.offline, n)
	}
	return nil
}

func (f *fakeArray) SetPoolFree(p string, b int64) error {
	if f.free == nil {
		f.free = map[string]int64{}
	}
	f.free[p] = b
	return nil
}

func TestStateApply(t *testing.T) {
	a := &fakeArray{}
	if err := (State{OfflineNodes: []string{"node2"}, PoolFree: map[string]int64{"Pool0": 0}}).Apply(a); err != nil {
		t.Fatal(err)
	}
	if len(a.offline) != 1 || a.offline[0] != "node2" || a.free["Pool0"] != 0 || len(a.free) != 1 {
		t.Fatalf("%+v", a)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
