package volumeid

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// MaxNameLen is the array's object name limit (mcs-cli.md §3.5).
const MaxNameLen = 63

// hashLen hex digits of SHA-256 keep shortened names unique in practice
// (2^-48 collision odds per pair) while leaving room for the readable part.
const hashLen = 12

// ObjectName turns a CSI request name (or a node name) into a valid array
// object name, deterministically, so a retried request finds its object again.
// Names that already obey the rules (`[A-Za-z_][A-Za-z0-9._-]*`, at most 63
// characters) are kept as they are — `pvc-<uuid>` stays readable on the array,
// like the vendor plugin. Anything else is sanitised, cut, and suffixed with a
// hash of the original, so two different requests never share a name.
func ObjectName(prefix, name string) string {
	full := prefix + name
	if validObjectName(full) {
		return full
	}
	var b strings.Builder
	for _, r := range full {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	clean := b.String()
	if clean == "" || !isNameStart(clean[0]) {
		clean = "_" + clean
	}
	sum := sha256.Sum256([]byte(full))
	suffix := "-" + hex.EncodeToString(sum[:])[:hashLen]
	if keep := MaxNameLen - len(suffix); len(clean) > keep {
		clean = clean[:keep]
	}
	return clean + suffix
}

func validObjectName(s string) bool {
	if s == "" || len(s) > MaxNameLen || !isNameStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(isNameStart(c) || (c >= '0' && c <= '9') || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func isNameStart(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
}
