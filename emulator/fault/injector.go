package fault

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/instorage-csi/instorage-csi/emulator/sshd"
	"k8s.io/klog/v2"
)

// Injector holds the active rules; it is safe for concurrent use.
type Injector struct {
	mu     sync.Mutex
	rules  []*compiled
	nextID int
}

// NewInjector returns an Injector with no rules.
func NewInjector() *Injector { return &Injector{} }

// Add validates r and appends it; it returns the rule's id.
func (in *Injector) Add(r Rule) (string, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if r.ID == "" {
		in.nextID++
		r.ID = "f" + strconv.Itoa(in.nextID)
	}
	for _, c := range in.rules {
		if c.ID == r.ID {
			return "", fmt.Errorf("fault %q already exists", r.ID)
		}
	}
	c, err := r.compile()
	if err != nil {
		return "", err
	}
	in.rules = append(in.rules, c)
	klog.InfoS("Fault added", "id", c.ID, "command", c.Command, "pattern", c.Pattern,
		"error", c.Error, "drop", c.Drop, "when", c.When, "times", c.Times)
	return c.ID, nil
}

// Remove deletes the rule with id; it reports whether it existed.
func (in *Injector) Remove(id string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i, c := range in.rules {
		if c.ID == id {
			in.rules = append(in.rules[:i], in.rules[i+1:]...)
			return true
		}
	}
	return false
}

// Clear removes every rule.
func (in *Injector) Clear() {
	in.mu.Lock()
	in.rules = nil
	in.mu.Unlock()
}

// Status is a rule with how often it matched and fired.
type Status struct {
	Rule
	Matched int `json:"matched"`
	Fired   int `json:"fired"`
}

// List returns the rules in evaluation order.
func (in *Injector) List() []Status {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]Status, 0, len(in.rules))
	for _, c := range in.rules {
		out = append(out, Status{Rule: c.Rule, Matched: c.matched, Fired: c.fired})
	}
	return out
}

// plan is what to do with one command.
type plan struct {
	latency time.Duration
	action  *compiled // error or drop; nil = run normally
}

// decide walks the rules in order: every firing rule adds its latency and
// the first firing rule with an error or drop decides the outcome.
func (in *Injector) decide(user, line string) plan {
	in.mu.Lock()
	defer in.mu.Unlock()
	var p plan
	if len(in.rules) == 0 {
		return p
	}
	name := sshd.CommandName(line)
	for _, c := range in.rules {
		if (c.Command != "" && c.Command != name) || (c.User != "" && c.User != user) ||
			(c.re != nil && !c.re.MatchString(line)) {
			continue
		}
		c.matched++
		if c.matched <= c.Skip || (c.Times > 0 && c.fired >= c.Times) ||
			(c.Probability > 0 && rand.Float64() >= c.Probability) {
			continue
		}
		isAction := c.Error != "" || c.Drop
		if isAction && p.action != nil {
			continue
		}
		c.fired++
		if l := c.Latency; l != nil {
			p.latency += l.sample()
		}
		if isAction {
			p.action = c
		}
	}
	return p
}

// z99 is the standard normal's 99th percentile.
const z99 = 2.3263478740

func (l *Latency) sample() time.Duration {
	if l.P50 != 0 {
		sigma := math.Log(float64(l.P99)/float64(l.P50)) / z99
		d := float64(l.P50) * math.Exp(sigma*rand.NormFloat64())
		return time.Duration(min(d, 10*float64(l.P99)))
	}
	if l.Max == 0 {
		return time.Duration(l.Fixed + l.Min)
	}
	span := int64(l.Max - l.Min)
	return time.Duration(int64(l.Min) + rand.Int64N(span+1))
}

// Wrap returns a Runner that applies the injector's rules around inner.
func (in *Injector) Wrap(inner sshd.Runner) sshd.Runner { return &runner{inner: inner, in: in} }

type runner struct {
	inner sshd.Runner
	in    *Injector
}

func (r *runner) Run(ctx context.Context, user, line string) ([]byte, []byte, int) {
	p := r.in.decide(user, line)
	if p.latency > 0 {
		t := time.NewTimer(p.latency)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, []byte("mcs-emulator: command cancelled during injected latency\n"), 1
		}
	}
	a := p.action
	if a == nil {
		return r.inner.Run(ctx, user, line)
	}
	klog.V(2).InfoS("Fault fired", "id", a.ID, "command", sshd.CommandName(line), "when", a.When, "drop", a.Drop)
	if a.When == After {
		stdout, stderr, status := r.inner.Run(ctx, user, line)
		if a.Drop {
			sshd.DropConnection(ctx)
			return stdout, stderr, status
		}
		return nil, a.stderr, a.ExitStatus
	}
	if a.Drop {
		sshd.DropConnection(ctx)
		return nil, nil, 0
	}
	return nil, a.stderr, a.ExitStatus
}
