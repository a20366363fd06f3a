package array

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseList(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want []map[string]string
	}{
		{"empty output", "", nil},
		{"only newline", "\n", nil},
		{"header only", "id!name\n", nil},
		{"rows", "id!name\n1!a\n2!b\n", []map[string]string{{"id": "1", "name": "a"}, {"id": "2", "name": "b"}}},
		{"short row pads with empty", "id!name!status\n1\n", []map[string]string{{"id": "1", "name": "", "status": ""}}},
		{"extra fields ignored", "id!name\n1!a!x!y\n", []map[string]string{{"id": "1", "name": "a"}}},
		{"blank lines skipped", "id!name\n\n1!a\n\n\n2!b\n\n", []map[string]string{{"id": "1", "name": "a"}, {"id": "2", "name": "b"}}},
		{"CRLF tolerated", "id!name\r\n1!a\r\n", []map[string]string{{"id": "1", "name": "a"}}},
		{"empty trailing column", "id!name!ica_pid\n1!a!\n", []map[string]string{{"id": "1", "name": "a", "ica_pid": ""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []map[string]string
			for _, r := range parseList([]byte(tc.out)) {
				m := map[string]string{}
				for _, k := range r.keys {
					m[k] = r.get(k)
				}
				got = append(got, m)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseDetail(t *testing.T) {
	out := "id!3\nname!v\niscsi_name!a\niscsi_name!b\nempty!\nweird\n\n\ncopy_id!0\nprimary!yes\n\ncopy_id!1\n"
	secs := parseDetail([]byte(out))
	if len(secs) != 3 {
		t.Fatalf("got %d sections, want 3 (runs of blank lines count once)", len(secs))
	}
	if got := secs[0].all("iscsi_name"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("repeated key: %v", got)
	}
	if secs[0].get("iscsi_name") != "a" || secs[0].get("empty") != "" || secs[0].get("weird") != "" || secs[0].get("missing") != "" {
		t.Errorf("section 0 = %v", secs[0].fields)
	}
	if secs[1].get("copy_id") != "0" || !secs[1].bool("primary") || secs[2].get("copy_id") != "1" {
		t.Errorf("copy sections wrong: %v %v", secs[1].fields, secs[2].fields)
	}
	if len(parseDetail(nil)) != 0 || len(parseDetail([]byte("\n\n"))) != 0 {
		t.Error("empty detail should have no sections")
	}
}

// Arbitrary output never panics the parsers (a short row once crashed [G]).
func FuzzParsers(f *testing.F) {
	f.Add([]byte("id!name\n1\n\n!!!\n"))
	f.Add([]byte("a!b\n\n\nc\n!\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, r := range parseList(b) {
			_ = vdiskFrom(r)
			_ = r.time("start_time")
		}
		for _, r := range parseDetail(b) {
			_ = copyFrom(r)
		}
		_, _ = parseCreatedID("x", b)
		_ = parseCLIError("x", b)
	})
}

func TestParseCreatedID(t *testing.T) {
	for out, want := range map[string]string{
		"Virtual Disk, id [12], successfully created\n":      "12",
		"LocalCopy Mapping, id [0], successfully created":    "0",
		"Vdisk [3] copy [1] successfully created\n":          "1",
		"RC Relationship, id [42], successfully created\r\n": "42",
	} {
		got, err := parseCreatedID("x", []byte(out))
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", out, got, err, want)
		}
	}
	for _, out := range []string{"", "\n", "id [x], successfully created", "created [5]"} {
		if _, err := parseCreatedID("x", []byte(out)); err == nil {
			t.Errorf("%q: want error", out)
		}
	}
}

func TestParseCLIError(t *testing.T) {
	e := parseCLIError("mcsop rmhost h", []byte("CMMVC5871E The action failed because one or more of the configured port names is in a mapping.\n"))
	if e.Code != "CMMVC5871E" || !strings.HasPrefix(e.Message, "The action failed") || e.Command != "mcsop rmhost h" {
		t.Errorf("got %#v", e)
	}
	w := parseCLIError("c", []byte("CMMVC6372W The virtualized storage capacity is approaching the amount that you are licensed to use.\n"))
	if w.Code != "CMMVC6372W" {
		t.Errorf("warning code: %#v", w)
	}
	n := parseCLIError("c", []byte("rbash: bad command\n"))
	if n.Code != "" || n.Message != "rbash: bad command" {
		t.Errorf("no code: %#v", n)
	}
}

func TestRecordConversions(t *testing.T) {
	r := newRecord()
	r.add("n", "12")
	r.add("bad", "1.0GB")
	r.add("t", "240611093015")
	r.add("tb", "yesterday")
	if r.int("n") != 12 || r.int("absent") != 0 {
		t.Error("int")
	}
	if r.err("x") != nil {
		t.Error("no error expected yet")
	}
	_ = r.int64("bad")
	_ = r.time("tb")
	if got := r.time("t"); got.Year() != 2024 || got.Hour() != 9 {
		t.Errorf("time = %v", got)
	}
	err := r.err("row 1")
	if err == nil || !strings.Contains(err.Error(), "bad=") || !strings.Contains(err.Error(), "tb=") {
		t.Errorf("err = %v", err)
	}
}

func TestRedact(t *testing.T) {
	got := redact([]string{"mcsop", "chhost", "-chapsecret", "topsecret1234", "h1"})
	if got != "mcsop chhost -chapsecret <redacted> h1" {
		t.Errorf("got %q", got)
	}
}
