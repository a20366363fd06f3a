package cli

import (
	"context"
	"strings"
)

// command is one sub-command: its family (mcsinq/mcsop), flags (true when
// the flag takes a value), object rule, required flags and handler.
type command struct {
	name     string
	family   string
	flags    map[string]bool
	obj      objRule
	required []string
	run      func(c *CLI, a *args) ([]byte, error)
}

var commands = map[string]*command{}

func register(family, name string, obj objRule, flags map[string]bool, required []string,
	run func(c *CLI, a *args) ([]byte, error)) {
	commands[name] = &command{name: name, family: family, flags: flags, obj: obj, required: required, run: run}
}

// lsFlags are the output flags every query accepts, plus extra.
func lsFlags(extra ...string) map[string]bool {
	f := map[string]bool{"-delim": true, "-bytes": false, "-nohdr": false, "-filtervalue": true}
	for _, e := range extra {
		valued := !strings.HasSuffix(e, "?")
		f[strings.TrimSuffix(e, "?")] = valued
	}
	return f
}

// opFlags builds a flag table: "name" takes a value, "name?" is a switch.
func opFlags(list ...string) map[string]bool {
	f := map[string]bool{}
	for _, e := range list {
		valued := !strings.HasSuffix(e, "?")
		f[strings.TrimSuffix(e, "?")] = valued
	}
	return f
}

const maxLineBytes = 64 << 10

func (c *CLI) run(ctx context.Context, line string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, mErr("CMMVC5786E", "The action failed because the cluster is not in a stable state.")
	}
	if len(line) > maxLineBytes {
		return nil, mErr("CMMVC5707E", "Required parameters are missing.")
	}
	words, err := Tokenize(line)
	if err != nil {
		return nil, mErr("CMMVC5707E", "Required parameters are missing.")
	}
	if len(words) < 2 || (words[0] != "mcsinq" && words[0] != "mcsop") {
		return nil, errNotSupported()
	}
	spec, ok := commands[words[1]]
	if !ok || spec.family != words[0] {
		return nil, errNotSupported()
	}
	a, err := parseArgs(words[2:], spec)
	if err != nil {
		return nil, err
	}
	return spec.run(c, a)
}

func errNotSupported() error {
	return mErr("CMMVC7205E", "The command failed because it is not supported.")
}
