// Package fault injects array misbehaviour for tests: latency, CMMVC errors,
// dropped SSH connections (before or after the command takes effect), plus
// node and pool state changes. Rules are set from the config file, over the
// control API, or in-process through an *Injector.
package fault

import (
	"fmt"
	"regexp"
	"strings"
)

// When says whether an error or drop happens before the command reaches the
// model (nothing changed) or after it took effect (the client cannot tell).
type When string

const (
	Before When = "before"
	After  When = "after"
)

// Rule is one fault. A command matches when every set selector matches.
type Rule struct {
	ID string `json:"id,omitempty"` // assigned by the Injector when empty

	// Selectors.
	Command string `json:"command,omitempty"` // CLI sub-command, e.g. "mkvdisk"; empty = any
	Pattern string `json:"pattern,omitempty"` // Go regexp on the raw command line
	User    string `json:"user,omitempty"`

	// Firing. Skip lets the first N matches through; Times caps how often the
	// rule fires (0 = always); Probability in (0,1] fires at random.
	Skip        int     `json:"skip,omitempty"`
	Times       int     `json:"times,omitempty"`
	Probability float64 `json:"probability,omitempty"`

	// Effects. Latency is added first; then Error or Drop (at most one).
	Latency *Latency `json:"latency,omitempty"`
	// Error is "CMMVC5753E" (text taken from the catalogue) or a full
	// "CMMVC…E text" line written to stderr with ExitStatus (default 1).
	Error      string `json:"error,omitempty"`
	ExitStatus int    `json:"exitStatus,omitempty"`
	// Drop closes the SSH connection without an exit status.
	Drop bool `json:"drop,omitempty"`
	When When `json:"when,omitempty"` // for Error and Drop; default Before
}

// Latency is one of: a fixed delay; uniform in [Min, Max]; or a long-tailed
// log-normal with the given median and 99th percentile (capped at 10×P99),
// which is how real array response times look.
type Latency struct {
	Fixed Duration `json:"fixed,omitempty"`
	Min   Duration `json:"min,omitempty"`
	Max   Duration `json:"max,omitempty"`
	P50   Duration `json:"p50,omitempty"`
	P99   Duration `json:"p99,omitempty"`
}

// compiled is a validated Rule with its counters.
type compiled struct {
	Rule
	re      *regexp.Regexp
	stderr  []byte
	matched int // matches seen (including skipped ones)
	fired   int
}

// compile validates r and fills defaults; errors name the rule for the user.
func (r *Rule) compile() (*compiled, error) {
	c := &compiled{Rule: *r}
	if c.Pattern != "" {
		re, err := regexp.Compile(c.Pattern)
		if err != nil {
			return nil, fmt.Errorf("fault %q: bad pattern: %w", r.ID, err)
		}
		c.re = re
	}
	if c.Skip < 0 || c.Times < 0 {
		return nil, fmt.Errorf("fault %q: skip and times must not be negative", r.ID)
	}
	if c.Probability < 0 || c.Probability > 1 {
		return nil, fmt.Errorf("fault %q: probability must be in [0, 1]", r.ID)
	}
	if c.Error != "" && c.Drop {
		return nil, fmt.Errorf("fault %q: error and drop are exclusive", r.ID)
	}
	if c.Error == "" && !c.Drop && c.Latency == nil {
		return nil, fmt.Errorf("fault %q: needs latency, error or drop", r.ID)
	}
	switch c.When {
	case "":
		c.When = Before
	case Before, After:
	default:
		return nil, fmt.Errorf("fault %q: when must be %q or %q", r.ID, Before, After)
	}
	if l := c.Latency; l != nil {
		if l.Max != 0 && l.Max < l.Min {
			return nil, fmt.Errorf("fault %q: latency max < min", r.ID)
		}
		kinds := 0
		for _, set := range []bool{l.Fixed != 0, l.Min != 0 || l.Max != 0, l.P50 != 0 || l.P99 != 0} {
			if set {
				kinds++
			}
		}
		if kinds > 1 {
			return nil, fmt.Errorf("fault %q: latency is one of fixed, min/max or p50/p99", r.ID)
		}
		if (l.P50 != 0 || l.P99 != 0) && (l.P50 <= 0 || l.P99 < l.P50) {
			return nil, fmt.Errorf("fault %q: latency needs 0 < p50 <= p99", r.ID)
		}
	}
	if c.Error != "" {
		msg, err := errorLine(c.Error)
		if err != nil {
			return nil, fmt.Errorf("fault %q: %w", r.ID, err)
		}
		c.stderr = []byte(msg + "\n")
		if c.ExitStatus == 0 {
			c.ExitStatus = 1
		}
	}
	if c.ExitStatus < 0 || c.ExitStatus > 255 {
		return nil, fmt.Errorf("fault %q: exitStatus must be in [0, 255]", r.ID)
	}
	return c, nil
}

var codeRE = regexp.MustCompile(`^CMMVC[0-9]{4}[EW]$`)

// errorLine expands a bare code from the catalogue (mcs-cli.md §9).
func errorLine(s string) (string, error) {
	s = strings.TrimSpace(s)
	code, text, _ := strings.Cut(s, " ")
	if !codeRE.MatchString(code) {
		return "", fmt.Errorf("error %q must start with a CMMVC code like CMMVC5753E", s)
	}
	if text != "" {
		return s, nil
	}
	if t, ok := catalogue[code]; ok {
		return code + " " + t, nil
	}
	return "", fmt.Errorf("no catalogue text for %s; give the full line", code)
}

// catalogue holds the texts of mcs-cli.md §9 most useful to inject.
var catalogue = map[string]string{
	"CMMVC5701E": "No object ID was specified.",
	"CMMVC5707E": "Required parameters are missing.",
	"CMMVC5753E": "The specified object does not exist or is not a suitable candidate.",
	"CMMVC5754E": "The specified object does not exist, or the name supplied does not meet the naming rules.",
	"CMMVC5840E": "The virtual disk (VDisk) was not deleted because it is mapped to a host or because it is part of a LocalCopy or Remote Copy mapping, or is involved in an image mode migrate.",
	"CMMVC5871E": "The action failed because one or more of the configured port names is in a mapping.",
	"CMMVC5879E": "The VDisk-to-host mapping was not created because a VDisk is already mapped to this host with this SCSI LUN.",
	"CMMVC5903E": "The LocalCopy mapping was not changed because the mapping or consistency group is another state.",
	"CMMVC5982E": "The operation was not performed because it is not valid given the current relationship state.",
	"CMMVC6035E": "The action failed as the object already exists.",
	"CMMVC6071E": "The VDisk-to-host mapping was not created because the VDisk is already mapped to a host.",
	"CMMVC6372W": "The virtualized storage capacity that the cluster is using is approaching the virtualized storage capacity that is licensed.",
	"CMMVC6581E": "The command has failed because the maximum number of allowed iSCSI qualified names (IQNs) has been reached, or the IQN is already assigned or is not valid.",
}
