package iscsi

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// kv is one text key=value pair (RFC 7143 §6); order is kept because
// responses must answer keys in the order offered.
type kv struct{ k, v string }

// parseText splits a NUL-separated key=value data segment.
func parseText(b []byte) ([]kv, error) {
	var out []kv
	for _, f := range bytes.Split(b, []byte{0}) {
		if len(f) == 0 {
			continue
		}
		i := bytes.IndexByte(f, '=')
		if i <= 0 {
			return nil, fmt.Errorf("iscsi: malformed text key %q", truncateStr(string(f), 64))
		}
		if i > 63 {
			return nil, fmt.Errorf("iscsi: text key too long")
		}
		out = append(out, kv{string(f[:i]), string(f[i+1:])})
	}
	return out, nil
}

func truncateStr(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func encodeText(pairs []kv) []byte {
	var b bytes.Buffer
	for _, p := range pairs {
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
		b.WriteByte(0)
	}
	return b.Bytes()
}

// parseNum reads a numeric key value (decimal or 0x hex).
func parseNum(v string) (uint64, error) {
	if strings.HasPrefix(v, "0x") || strings.HasPrefix(v, "0X") {
		return strconv.ParseUint(v[2:], 16, 64)
	}
	return strconv.ParseUint(v, 10, 64)
}
