package array

import (
	"strings"
	"testing"
	"unicode"
)

// Whatever a validator accepts is safe to put on a command line unquoted:
// no whitespace, quotes, backslash or shell metacharacter, and no leading
// '-' that the array could read as a flag.
func FuzzValidatorsOnlyAcceptSafeTokens(f *testing.F) {
	for _, s := range []string{"pvc-1", "a;b", "$(x)", "iqn.1994-05.com.redhat:n1", "12", "-force", "a b", "x\n", "ÿ", "SHA256:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		checks := map[string]func(string) error{
			"name":      func(s string) error { return checkName("n", s) },
			"id":        func(s string) error { return checkID("n", s) },
			"nameOrID":  func(s string) error { return checkNameOrID("n", s) },
			"iqn":       checkIQN,
			"wwpn":      checkWWPN,
			"filterVal": func(s string) error { return checkFilter(&Filter{Attr: "name", Value: s}) },
			"filterAtt": func(s string) error { return checkFilter(&Filter{Attr: s, Value: "x"}) },
			"chap": func(s string) error {
				if !chapRE.MatchString(s) {
					return invalidf("chap")
				}
				return nil
			},
		}
		for name, check := range checks {
			if check(v) != nil {
				continue
			}
			if v == "" || strings.HasPrefix(v, "-") || !argvSafeRE.MatchString(v) {
				t.Fatalf("%s accepted unsafe token %q", name, v)
			}
			for _, r := range v {
				if unicode.IsSpace(r) || strings.ContainsRune("`$;|&<>\"'\\(){}*?#~", r) || r > unicode.MaxASCII {
					t.Fatalf("%s accepted %q containing %q", name, v, r)
				}
			}
		}
	})
}
