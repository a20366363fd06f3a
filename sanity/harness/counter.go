package harness

import (
	"context"
	"strings"
	"sync"

	"github.com/instorage-csi/instorage-csi/emulator/sshd"
)

// Counter counts commands by sub-command name (mkvdisk, lsvdisk, …).
type Counter struct {
	mu    sync.Mutex
	total int
	by    map[string]int
}

// Wrap counts every command that passes through to inner.
func (c *Counter) Wrap(inner sshd.Runner) sshd.Runner { return counting{c: c, inner: inner} }

type counting struct {
	c     *Counter
	inner sshd.Runner
}

func (r counting) Run(ctx context.Context, user, line string) ([]byte, []byte, int) {
	f := strings.Fields(line)
	name := ""
	if len(f) > 1 {
		name = f[1]
	}
	r.c.mu.Lock()
	r.c.total++
	if r.c.by == nil {
		r.c.by = map[string]int{}
	}
	r.c.by[name]++
	r.c.mu.Unlock()
	return r.inner.Run(ctx, user, line)
}

// Total is the number of commands so far.
func (c *Counter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// By returns a copy of the per-command counts.
func (c *Counter) By() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.by))
	for k, v := range c.by {
		out[k] = v
	}
	return out
}
