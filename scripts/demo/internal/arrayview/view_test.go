package arrayview

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	before := []string{"id!name", "0!a", "1!b"}
	after := []string{"id!name", "1!b", "2!c", "3!d"}
	added, removed := Diff(before, after)
	if !slices.Equal(added, []string{"2!c", "3!d"}) || !slices.Equal(removed, []string{"0!a"}) {
		t.Fatalf("Diff = +%v -%v", added, removed)
	}
	// A header change alone is not a row change; an empty list has no header.
	added, removed = Diff(nil, []string{"id!name"})
	if len(added)+len(removed) != 0 {
		t.Fatalf("header only: +%v -%v", added, removed)
	}
	added, removed = Diff(before, nil)
	if len(added) != 0 || !slices.Equal(removed, []string{"0!a", "1!b"}) {
		t.Fatalf("to empty: +%v -%v", added, removed)
	}
}

// fakeArray answers from a map and counts calls; a missing query is an error.
type fakeArray map[string]string

func (f fakeArray) Run(_ context.Context, argv []string) ([]byte, []byte, error) {
	out, ok := f[strings.Join(argv, " ")]
	if !ok {
		return nil, []byte("CMMVC7205E"), errors.New("exit status 1")
	}
	return []byte(out), nil, nil
}

func TestObservePrintsOnlyChangesWithHeader(t *testing.T) {
	f := fakeArray{"mcsinq lsvdisk -delim !": "id!name\n0!keep\n"}
	var buf bytes.Buffer
	v := New(&buf, Array{Name: "storage-01", Transport: f})
	v.Queries = []string{"mcsinq lsvdisk -delim !"}
	v.Observe(context.Background(), false)
	if buf.Len() != 0 {
		t.Fatalf("baseline printed %q", buf.String())
	}
	f["mcsinq lsvdisk -delim !"] = "id!name\n0!keep\n1!new\n"
	v.Observe(context.Background(), true)
	want := "   array: mcsinq lsvdisk -delim !\n      id!name\n    + 1!new\n"
	if buf.String() != want {
		t.Fatalf("got %q, want %q", buf.String(), want)
	}
	// Back to empty: the removed rows still come under the old header.
	buf.Reset()
	f["mcsinq lsvdisk -delim !"] = ""
	v.Observe(context.Background(), true)
	want = "   array: mcsinq lsvdisk -delim !\n      id!name\n    - 0!keep\n    - 1!new\n"
	if buf.String() != want {
		t.Fatalf("got %q, want %q", buf.String(), want)
	}
	if v.Failed {
		t.Fatal("view failed without a failing query")
	}
}

func TestObserveLabelsArraysAndRecordsFailures(t *testing.T) {
	a := fakeArray{"mcsinq lsvdisk -delim !": ""}
	b := fakeArray{"mcsinq lsvdisk -delim !": "id!name\n0!x\n"}
	var buf bytes.Buffer
	v := New(&buf, Array{Name: "storage-01", Transport: a}, Array{Name: "storage-02", Transport: b})
	v.Queries = []string{"mcsinq lsvdisk -delim !"}
	v.Observe(context.Background(), true, "mcsinq lsvdiskhostmap -delim ! x")
	out := buf.String()
	if !strings.Contains(out, "array storage-02: mcsinq lsvdisk") || strings.Contains(out, "array storage-01: mcsinq lsvdisk") {
		t.Fatalf("labels wrong:\n%s", out)
	}
	if !v.Failed || !strings.Contains(out, "failed") {
		t.Fatalf("failing extra query not reported:\n%s", out)
	}
}

func TestPrintSaysWhenEmpty(t *testing.T) {
	var buf bytes.Buffer
	a := Array{Name: "storage-01", Transport: fakeArray{"mcsinq lsvdisk -delim !": ""}}
	v := New(&buf, a)
	v.Print(context.Background(), a, "mcsinq lsvdisk -delim !")
	if want := "   array: mcsinq lsvdisk -delim !\n      (no rows)\n"; buf.String() != want {
		t.Fatalf("got %q, want %q", buf.String(), want)
	}
}
