package host

import (
	"context"
	"time"
)

// pollTick is how often a wait re-reads sysfs within one configured
// interval: the vendor knobs give the budget (retries × interval), but a
// device or map that shows up after 50 ms should not cost a whole second.
const pollTick = 100 * time.Millisecond

// poll calls fn until it reports done, an error, or the budget of
// retries × interval is spent (then it returns false). fn runs at least
// retries times; with interval 0 (tests) it never sleeps.
func (c *Connector) poll(ctx context.Context, retries int, interval time.Duration, fn func() (bool, error)) (bool, error) {
	tick, perInterval := interval, 1
	if interval > pollTick {
		tick, perInterval = pollTick, int(interval/pollTick)
	}
	for i := 0; i < retries*perInterval; i++ {
		done, err := fn()
		if err != nil || done {
			return done, err
		}
		if err := c.Sleep(ctx, tick); err != nil {
			return false, err
		}
	}
	return false, nil
}
