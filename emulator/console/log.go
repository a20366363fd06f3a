package console

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/instorage-csi/instorage-csi/emulator/sshd"
)

// Runner is the CLI seam (same method set as sshd.Runner).
type Runner interface {
	Run(ctx context.Context, user, commandLine string) (stdout, stderr []byte, exitStatus int)
}

// Entry is one CLI command as the console shows it.
type Entry struct {
	Time      time.Time `json:"time"`
	User      string    `json:"user"`
	Command   string    `json:"command"`
	LatencyMS float64   `json:"latencyMs"`
	Exit      int       `json:"exit"`
	Error     string    `json:"error,omitempty"` // the CMMVC line on failure
}

// CommandLog keeps the most recent commands in a fixed ring, so a demo left
// running for days uses constant memory.
type CommandLog struct {
	mu   sync.Mutex
	ring []Entry
	next int
	full bool
}

// NewCommandLog keeps the last n commands.
func NewCommandLog(n int) *CommandLog {
	if n <= 0 {
		n = 200
	}
	return &CommandLog{ring: make([]Entry, n)}
}

// Add records e.
func (l *CommandLog) Add(e Entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring[l.next] = e
	l.next = (l.next + 1) % len(l.ring)
	if l.next == 0 {
		l.full = true
	}
}

// Recent returns up to n entries, newest first.
func (l *CommandLog) Recent(n int) []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	size := l.next
	if l.full {
		size = len(l.ring)
	}
	if n <= 0 || n > size {
		n = size
	}
	out := make([]Entry, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, l.ring[(l.next-i+len(l.ring))%len(l.ring)])
	}
	return out
}

// Wrap returns a Runner that records every command run through r, with
// secrets (chhost -chapsecret) redacted since the log is shown on a web
// page. Users in skip (the console's own queries) are not recorded.
func (l *CommandLog) Wrap(r Runner, skip ...string) Runner {
	return &recording{r: r, log: l, skip: skip}
}

type recording struct {
	r    Runner
	log  *CommandLog
	skip []string
}

func (w *recording) Run(ctx context.Context, user, line string) ([]byte, []byte, int) {
	start := time.Now()
	out, errOut, code := w.r.Run(ctx, user, line)
	for _, s := range w.skip {
		if s == user {
			return out, errOut, code
		}
	}
	w.log.Add(Entry{
		Time:      start.UTC(),
		User:      user,
		Command:   sshd.Redact(line),
		LatencyMS: float64(time.Since(start).Microseconds()) / 1000,
		Exit:      code,
		Error:     strings.TrimSpace(string(errOut)),
	})
	return out, errOut, code
}
