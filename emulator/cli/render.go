package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// outOpts are the output-shaping flags of §2.1.
type outOpts struct {
	delim   string // "" → space-aligned columns
	bytes   bool
	nohdr   bool
	filters []filter
}

type filter struct {
	attr, value string
	prefix      bool // value ended in '*'
}

func outOptions(a *args) (*outOpts, error) {
	o := &outOpts{}
	if d, ok := a.flags["-delim"]; ok {
		if len(d) != 1 {
			return nil, errInvalidParam("-delim")
		}
		o.delim = d
	}
	o.bytes = a.has("-bytes")
	o.nohdr = a.has("-nohdr")
	if fv, ok := a.flags["-filtervalue"]; ok {
		// attr=value[:attr=value…]; a trailing * matches a prefix (§11.1.4).
		for _, part := range splitFilters(fv) {
			k, v, ok := strings.Cut(part, "=")
			if !ok || k == "" {
				return nil, errInvalidParam("-filtervalue")
			}
			f := filter{attr: k, value: v}
			if strings.HasSuffix(v, "*") {
				f.value, f.prefix = strings.TrimSuffix(v, "*"), true
			}
			o.filters = append(o.filters, f)
		}
	}
	return o, nil
}

// splitFilters splits on ':' only where the next piece is another attr=value,
// so values containing ':' (IPv6, IQNs) survive.
func splitFilters(s string) []string {
	parts := strings.Split(s, ":")
	var out []string
	for _, p := range parts {
		if len(out) > 0 && !strings.Contains(p, "=") {
			out[len(out)-1] += ":" + p
			continue
		}
		out = append(out, p)
	}
	return out
}

// table is a list view: a header and rows of equal length.
type table struct {
	header []string
	rows   [][]string
}

func (t *table) add(fields ...string) { t.rows = append(t.rows, fields) }

// applyFilters keeps rows whose printed columns match (exact, case-sensitive,
// §2.4). An unknown attribute is an error.
func (t *table) applyFilters(fs []filter) error {
	for _, f := range fs {
		idx := -1
		for i, h := range t.header {
			if h == f.attr {
				idx = i
			}
		}
		if idx < 0 {
			return errUnsupported(f.attr)
		}
		kept := t.rows[:0]
		for _, r := range t.rows {
			if r[idx] == f.value || (f.prefix && strings.HasPrefix(r[idx], f.value)) {
				kept = append(kept, r)
			}
		}
		t.rows = kept
	}
	return nil
}

// render prints the list: nothing at all for no rows (§2.2, §11.1.1).
func (t *table) render(o *outOpts) []byte {
	if len(t.rows) == 0 {
		return nil
	}
	if o.delim != "" {
		n := 0
		for _, f := range t.header {
			n += len(f) + 1
		}
		buf := make([]byte, 0, n*(len(t.rows)+1)*2)
		writeRow := func(r []string) {
			for i, f := range r {
				if i > 0 {
					buf = append(buf, o.delim...)
				}
				buf = append(buf, f...)
			}
			buf = append(buf, '\n')
		}
		if !o.nohdr {
			writeRow(t.header)
		}
		for _, r := range t.rows {
			writeRow(r)
		}
		return buf
	}
	var b strings.Builder
	width := make([]int, len(t.header))
	all := t.rows
	if !o.nohdr {
		all = append([][]string{t.header}, t.rows...)
	}
	for _, r := range all {
		for i, f := range r {
			width[i] = max(width[i], len(f))
		}
	}
	for _, r := range all {
		var line strings.Builder
		for i, f := range r {
			if i > 0 {
				line.WriteByte(' ')
			}
			line.WriteString(f)
			if i < len(r)-1 {
				line.WriteString(strings.Repeat(" ", width[i]-len(f)))
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// detail is a detail view: sections of key/value lines separated by exactly
// one blank line (§2.3).
type detail struct {
	sections [][][2]string
}

func (d *detail) section() { d.sections = append(d.sections, nil) }

func (d *detail) kv(k, v string) {
	if len(d.sections) == 0 {
		d.section()
	}
	s := &d.sections[len(d.sections)-1]
	*s = append(*s, [2]string{k, v})
}

func (d *detail) render(o *outOpts) []byte {
	sep := o.delim
	if sep == "" {
		sep = " "
	}
	var b strings.Builder
	for i, s := range d.sections {
		if i > 0 {
			b.WriteByte('\n')
		}
		for _, kv := range s {
			if !o.nohdr {
				b.WriteString(kv[0])
				b.WriteString(sep)
			}
			b.WriteString(kv[1])
			b.WriteByte('\n')
		}
	}
	return []byte(b.String())
}

// size prints bytes, or a unit string like 10.00GB without -bytes ([R]).
func (o *outOpts) size(n int64) string {
	if o.bytes {
		return strconv.FormatInt(n, 10)
	}
	return humanSize(n)
}

func humanSize(n int64) string {
	units := []string{"B", "KB", "MB", "GB", "TB", "PB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d.00B", n)
	}
	return fmt.Sprintf("%.2f%s", f, units[i])
}

func itoa(n int) string { return strconv.Itoa(n) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func onOffStr(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// lcTime is start_time: YYMMDDhhmmss in UTC, empty when unset (§5.1).
func lcTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("060102150405")
}
