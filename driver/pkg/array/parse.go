package array

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// delim is the only field separator the driver asks for (-delim !, §2.1).
const delim = "!"

// record is one list row or one detail section, addressed by column name.
// Keys may repeat in detail views (§2.3): all() returns every value, get()
// the first. Missing keys read as "" so short rows never panic. List rows
// share one header index, so a row costs one slice, not one map.
type record struct {
	index  map[string][]int // key → positions in fields
	keys   []string         // keys in first-seen order
	fields []string
	errs   []string // parse errors collected while converting fields
}

func newRecord() *record { return &record{index: map[string][]int{}} }

// add appends one key/value (detail views).
func (r *record) add(k, v string) {
	if _, ok := r.index[k]; !ok {
		r.keys = append(r.keys, k)
	}
	r.index[k] = append(r.index[k], len(r.fields))
	r.fields = append(r.fields, v)
}

func (r *record) has(k string) bool { _, ok := r.index[k]; return ok }

func (r *record) get(k string) string {
	if pos := r.index[k]; len(pos) > 0 && pos[0] < len(r.fields) {
		return r.fields[pos[0]]
	}
	return ""
}

func (r *record) all(k string) []string {
	var res []string
	for _, p := range r.index[k] {
		if p < len(r.fields) {
			res = append(res, r.fields[p])
		}
	}
	return res
}

// int reads an integer column; "" is 0, anything else unparsable is
// remembered and reported by err().
func (r *record) int(k string) int {
	return int(r.int64(k))
}

func (r *record) int64(k string) int64 {
	s := r.get(k)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		r.errs = append(r.errs, fmt.Sprintf("%s=%q is not an integer", k, s))
	}
	return n
}

// bool reads yes/no and on/off columns.
func (r *record) bool(k string) bool {
	switch r.get(k) {
	case "yes", "on", "true":
		return true
	}
	return false
}

// time reads start_time (YYMMDDhhmmss, UTC, §11.2 item 12); "" is zero.
func (r *record) time(k string) time.Time {
	s := r.get(k)
	if s == "" {
		return time.Time{}
	}
	t, err := time.ParseInLocation("060102150405", s, time.UTC)
	if err != nil {
		r.errs = append(r.errs, fmt.Sprintf("%s=%q is not YYMMDDhhmmss", k, s))
	}
	return t
}

func (r *record) err(what string) error {
	if len(r.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s: %s", ErrUnexpectedOutput, what, strings.Join(r.errs, "; "))
}

// lines splits output on \n, dropping a trailing \r from each line (§2.2
// says \n only; a stray \r must not end up inside a value).
func lines(out []byte) []string {
	s := string(bytes.TrimRight(out, "\n"))
	if s == "" {
		return nil
	}
	ls := strings.Split(s, "\n")
	for i, l := range ls {
		ls[i] = strings.TrimSuffix(l, "\r")
	}
	return ls
}

// parseList reads a list view (§2.2): header line, then one row per line.
// Empty output and header-only output are zero rows. Blank lines are
// skipped; short rows leave the missing columns empty, extra fields are
// ignored — never an index panic.
func parseList(out []byte) []*record {
	ls := lines(out)
	if len(ls) == 0 {
		return nil
	}
	header := strings.Split(ls[0], delim)
	index := make(map[string][]int, len(header))
	for i, h := range header {
		index[h] = append(index[h], i)
	}
	var rows []*record
	for _, l := range ls[1:] {
		if strings.TrimSpace(l) == "" {
			continue
		}
		// Fields beyond the header are never indexed; missing ones read "".
		rows = append(rows, &record{index: index, keys: header, fields: strings.Split(l, delim)})
	}
	return rows
}

// parseDetail reads a detail view (§2.3): key!value lines, sections split
// by blank lines (runs of blank lines count as one), keys may repeat.
func parseDetail(out []byte) []*record {
	var secs []*record
	var cur *record
	for _, l := range lines(out) {
		if strings.TrimSpace(l) == "" {
			cur = nil
			continue
		}
		if cur == nil {
			cur = newRecord()
			secs = append(secs, cur)
		}
		k, v, _ := strings.Cut(l, delim)
		cur.add(k, v)
	}
	return secs
}

var createdRE = regexp.MustCompile(`\[([0-9]+)\],? successfully created`)

// parseCreatedID extracts the new object id (§2.6).
func parseCreatedID(command string, stdout []byte) (string, error) {
	m := createdRE.FindSubmatch(stdout)
	if m == nil {
		return "", fmt.Errorf("%w: %q printed %q, want \"…, id [<id>], successfully created\"", ErrUnexpectedOutput, command, truncate(stdout))
	}
	return string(m[1]), nil
}

func truncate(b []byte) string {
	const max = 512
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
