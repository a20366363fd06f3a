package sshd

import "strings"

// CommandName returns the CLI sub-command of a command line ("lsvdisk" for
// "mcsinq lsvdisk -delim !"), or the first word when there is no
// mcsinq/mcsop prefix. It is for logs, metrics and fault matching only; the
// CLI front end does the real parsing.
func CommandName(line string) string {
	words := strings.Fields(line)
	if len(words) == 0 {
		return ""
	}
	first := strings.Trim(words[0], `"'`)
	if (first == "mcsinq" || first == "mcsop") && len(words) > 1 {
		return strings.Trim(words[1], `"'`)
	}
	return first
}

// secretFlags take a secret as their value; see mcs-cli.md §4.3 (chhost).
var secretFlags = map[string]bool{"-chapsecret": true, "-password": true}

// Redact replaces the values of secret-bearing flags so a command line can
// be logged.
func Redact(line string) string {
	words := strings.Fields(line)
	changed := false
	for i := 0; i+1 < len(words); i++ {
		if secretFlags[words[i]] {
			words[i+1] = "<redacted>"
			changed = true
			i++
		}
	}
	if !changed {
		return line
	}
	return strings.Join(words, " ")
}

// metricName bounds label cardinality: anything that does not look like a
// CLI verb is counted as "other".
func metricName(line string) string {
	name := CommandName(line)
	if name == "" || len(name) > 32 {
		return "other"
	}
	for _, r := range name {
		if r < 'a' || r > 'z' {
			return "other"
		}
	}
	return name
}
