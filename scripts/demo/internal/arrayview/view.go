// Package arrayview prints what changed on emulated (or real) arrays between
// two looks, as the arrays' own CLI lists it. Both demo walkthroughs (CSI API
// and Kubernetes) use it so their "array:" lines read the same.
package arrayview

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
)

// Array is one array to look at; Name prefixes its rows when there are several.
type Array struct {
	Name      string
	Transport array.Transport
}

// DefaultQueries are the listings a volume's life changes (mcs-cli.md §4, §5, §7).
var DefaultQueries = []string{
	"mcsinq lsvdisk -delim !",
	"mcsinq lslcmap -delim !",
	"mcsinq lshost -delim !",
	"mcsinq lsmdiskgrp -delim !",
}

// View remembers the last output of every query on every array.
type View struct {
	Arrays  []Array
	Queries []string
	Out     io.Writer
	// Timeout bounds each query; default 30s.
	Timeout time.Duration
	before  map[string][]string // array/query -> lines at the last look
	// Failed is set when a query could not run (the demo then fails).
	Failed bool
}

// New returns a view over arrays with DefaultQueries.
func New(out io.Writer, arrays ...Array) *View {
	return &View{Arrays: arrays, Queries: DefaultQueries, Out: out, before: map[string][]string{}}
}

// Observe runs the queries and, if show, prints the rows that appeared (+) or
// disappeared (-) since the last call under the listing's header; extra
// queries are printed whole.
func (v *View) Observe(ctx context.Context, show bool, extra ...string) {
	for _, a := range v.Arrays {
		for _, q := range v.Queries {
			lines := v.Query(ctx, a, q)
			key := a.Name + "\x00" + q
			if show {
				added, removed := Diff(v.before[key], lines)
				if len(added)+len(removed) > 0 {
					fmt.Fprintf(v.Out, "   array%s: %s\n", v.label(a), q)
					if len(lines) > 0 {
						fmt.Fprintf(v.Out, "      %s\n", lines[0])
					} else if len(v.before[key]) > 0 {
						fmt.Fprintf(v.Out, "      %s\n", v.before[key][0])
					}
					for _, l := range removed {
						fmt.Fprintf(v.Out, "    - %s\n", l)
					}
					for _, l := range added {
						fmt.Fprintf(v.Out, "    + %s\n", l)
					}
				}
			}
			v.before[key] = lines
		}
	}
	for _, q := range extra {
		for _, a := range v.Arrays {
			lines := v.Query(ctx, a, q)
			if len(lines) == 0 && len(v.Arrays) > 1 {
				continue // the object lives on another array
			}
			fmt.Fprintf(v.Out, "   array%s: %s\n", v.label(a), q)
			for _, l := range lines {
				fmt.Fprintf(v.Out, "      %s\n", l)
			}
		}
	}
}

func (v *View) label(a Array) string {
	if len(v.Arrays) < 2 || a.Name == "" {
		return ""
	}
	return " " + a.Name
}

// Query runs one CLI line (split on blanks: the demo queries quote nothing)
// and returns its output lines; a failure is printed and marks the view failed.
func (v *View) Query(ctx context.Context, a Array, q string) []string {
	t := v.Timeout
	if t <= 0 {
		t = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	out, errOut, err := a.Transport.Run(ctx, strings.Fields(q))
	if err != nil {
		fmt.Fprintf(v.Out, "   (array%s query %q failed: %v %s)\n", v.label(a), q, err, strings.TrimSpace(string(errOut)))
		v.Failed = true
		return nil
	}
	return Lines(out)
}

// Lines splits CLI output into lines; empty output (an empty list, §11.1) is none.
func Lines(out []byte) []string {
	s := strings.TrimRight(string(out), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// Diff compares data rows of two listings (line 0, the header, is skipped)
// and returns the rows only in after and only in before, in listing order.
func Diff(before, after []string) (added, removed []string) {
	rows := func(l []string) map[string]bool {
		m := map[string]bool{}
		for i, s := range l {
			if i > 0 {
				m[s] = true
			}
		}
		return m
	}
	b, a := rows(before), rows(after)
	for i, s := range after {
		if i > 0 && !b[s] {
			added = append(added, s)
		}
	}
	for i, s := range before {
		if i > 0 && !a[s] {
			removed = append(removed, s)
		}
	}
	return added, removed
}

// Print runs q on one array and prints its whole output.
func (v *View) Print(ctx context.Context, a Array, q string) {
	fmt.Fprintf(v.Out, "   array%s: %s\n", v.label(a), q)
	lines := v.Query(ctx, a, q)
	if len(lines) == 0 {
		fmt.Fprintln(v.Out, "      (no rows)")
	}
	for _, l := range lines {
		fmt.Fprintf(v.Out, "      %s\n", l)
	}
}
