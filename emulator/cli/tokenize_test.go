package cli

import (
	"reflect"
	"testing"
)

func TestTokenize(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string
		bad  bool
	}{
		{"plain words", "mcsinq lsvdisk -delim !", []string{"mcsinq", "lsvdisk", "-delim", "!"}, false},
		{"runs of whitespace", "  a \t b\n c  ", []string{"a", "b", "c"}, false},
		{"double quotes stripped (Cinder names)", `mcsop rmvdisk "volume-1"`, []string{"mcsop", "rmvdisk", "volume-1"}, false},
		{"single quotes literal", `a 'b c\d'`, []string{"a", `b c\d`}, false},
		{"quotes glue to words", `-name"x y"z`, []string{"-namex yz"}, false},
		{"empty quotes are an empty word", `a "" b`, []string{"a", "", "b"}, false},
		{"backslash escapes outside quotes", `a\ b c\"d`, []string{"a b", `c"d`}, false},
		{"backslash in double quotes keeps unknown escapes", `"a\nb\"c\\d"`, []string{`a\nb"c\d`}, false},
		{"no variable expansion", `$HOME $(id) ${x}`, []string{"$HOME", "$(id)", "${x}"}, false},
		{"no globbing or tilde", `* ~ ?`, []string{"*", "~", "?"}, false},
		{"metacharacters are ordinary", `a;b|c&d>e<f`, []string{"a;b|c&d>e<f"}, false},
		{"separate metacharacter words", `lsvdisk ; rm -rf /`, []string{"lsvdisk", ";", "rm", "-rf", "/"}, false},
		{"backquote is ordinary", "`id`", []string{"`id`"}, false},
		{"line continuation", "a\\\nb", []string{"ab"}, false},
		{"unterminated double quote", `a "b`, nil, true},
		{"unterminated single quote", `a 'b`, nil, true},
		{"trailing backslash", `a\`, nil, true},
		{"NUL byte", "a\x00b", nil, true},
		{"empty line", "", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Tokenize(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("Tokenize(%q) = %q, want error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Tokenize(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Tokenize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzTokenize(f *testing.F) {
	for _, s := range []string{`mcsop mkhost -name "a b" -iscsiname iqn.x`, `'a\'`, `"\\\""`, "a\\\nb", `$(x);|&`, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := Tokenize(s)
		if err != nil {
			return
		}
		// Re-quoting every word with single quotes must give the same words back.
		line := ""
		for _, w := range words {
			q := []byte("'")
			for i := 0; i < len(w); i++ { // bytes, not runes: input may be invalid UTF-8
				if w[i] == '\'' {
					q = append(q, `'\''`...)
				} else {
					q = append(q, w[i])
				}
			}
			line += string(q) + "' "
		}
		again, err := Tokenize(line)
		if err != nil || !reflect.DeepEqual(again, words) && !(len(again) == 0 && len(words) == 0) {
			t.Fatalf("round trip of %q: %q -> %q (%v)", s, words, again, err)
		}
	})
}
