package array

import (
	"regexp"
	"strconv"
)

// Every value that goes on a command line passes one of these checks first,
// so argv can be joined with single spaces and never needs quoting: none of
// them admits whitespace, quotes, backslashes or shell metacharacters
// (; $ backtick | & < > ! and parentheses). See mcs-cli.md §1.2.
var (
	// Object names: §3.5 / §11.2 recommendation, minus spaces (a space
	// would need quoting, which the driver never does).
	nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9._-]{0,62}$`)
	// Ids are decimal; an all-digit token addresses an object by id (§3.5).
	idRE = regexp.MustCompile(`^[0-9]{1,10}$`)
	// IQN (RFC 3720 characters; some initiators use upper case), EUI, NAA.
	iqnRE  = regexp.MustCompile(`^(iqn\.[0-9]{4}-[0-9]{2}\.[A-Za-z0-9][A-Za-z0-9.:-]{0,220}|eui\.[0-9A-Fa-f]{16}|naa\.[0-9A-Fa-f]{16}([0-9A-Fa-f]{16})?)$`)
	wwpnRE = regexp.MustCompile(`^[0-9A-Fa-f]{16}$`)
	// Filter attributes are column names; values are names, ids, UIDs, WWPNs.
	attrRE        = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	filterValueRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._:-]{0,254}$`)
	// CHAP secrets: alphanumerics and . _ - (Cinder uses 16 alphanumerics).
	chapRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	// argvSafeRE is the transport's last line of defence on every element.
	argvSafeRE = regexp.MustCompile(`^[A-Za-z0-9._:%=!@+/-]+$`)
)

func checkName(field, v string) error {
	if !nameRE.MatchString(v) {
		return invalidf("%s %q: must match [A-Za-z_][A-Za-z0-9._-]* and be at most 63 characters", field, v)
	}
	return nil
}

func checkID(field, v string) error {
	if !idRE.MatchString(v) {
		return invalidf("%s %q: must be a decimal object id", field, v)
	}
	return nil
}

// checkNameOrID accepts an object name or a numeric id (§3.5).
func checkNameOrID(field, v string) error {
	if idRE.MatchString(v) || nameRE.MatchString(v) {
		return nil
	}
	return invalidf("%s %q: must be an object name ([A-Za-z_][A-Za-z0-9._-]*, ≤63 chars) or a numeric id", field, v)
}

func checkIQN(v string) error {
	if !iqnRE.MatchString(v) {
		return invalidf("iscsi name %q: not a valid iqn./eui./naa. name", v)
	}
	return nil
}

func checkWWPN(v string) error {
	if !wwpnRE.MatchString(v) {
		return invalidf("wwpn %q: must be 16 hex digits without 0x or colons", v)
	}
	return nil
}

func checkFilter(f *Filter) error {
	if f == nil {
		return nil
	}
	if !attrRE.MatchString(f.Attr) {
		return invalidf("filter attribute %q: not a column name", f.Attr)
	}
	if !filterValueRE.MatchString(f.Value) {
		return invalidf("filter value %q for %s: only letters, digits and . _ : - are allowed", f.Value, f.Attr)
	}
	return nil
}

func checkPercent(field string, v, lo, hi int) error {
	if v < lo || v > hi {
		return invalidf("%s %d: must be in [%d, %d]", field, v, lo, hi)
	}
	return nil
}

func checkGrainSize(v int) error {
	switch v {
	case 0, 32, 64, 128, 256:
		return nil
	}
	return invalidf("grain size %d: must be 32, 64, 128 or 256", v)
}

// checkArgv is applied by every transport before joining: a value that
// slipped past the typed checks still never reaches the array.
func checkArgv(argv []string) error {
	if len(argv) < 2 {
		return invalidf("command needs at least mcsinq|mcsop and a sub-command")
	}
	if argv[0] != "mcsinq" && argv[0] != "mcsop" {
		return invalidf("command must start with mcsinq or mcsop, not %q", argv[0])
	}
	for i, a := range argv {
		if !argvSafeRE.MatchString(a) {
			return invalidf("argument %d %q contains characters that are not allowed on an array command line", i, a)
		}
	}
	return nil
}

func pct(v int) string { return strconv.Itoa(v) + "%" }

// ValidateArgv is checkArgv for transports outside this package (arraytest).
func ValidateArgv(argv []string) error { return checkArgv(argv) }

// CHAPSecretRule says, for error messages, what chapRE accepts.
const CHAPSecretRule = "1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit"

// ValidCHAPSecret reports whether s is a CHAP secret the client will pass to
// chhost (CHAPSecretRule).
func ValidCHAPSecret(s string) bool { return chapRE.MatchString(s) }
