package hostexec

import (
	"context"
	"path/filepath"

	utilsexec "k8s.io/utils/exec"
)

// DefaultNSEnterCommands are the clients of host daemons: iscsiadm talks to
// iscsid over an abstract unix socket and iscsid needs the initial network
// namespace's NETLINK_ISCSI (see docs/node.md, "host-exec mode"); multipath
// and multipathd talk to multipathd the same way.
var DefaultNSEnterCommands = []string{"iscsiadm", "multipath", "multipathd"}

// NSEnter returns an exec.Interface that runs the listed commands as
// `nsenter --mount=<procRoot>/1/ns/mnt --net=<procRoot>/1/ns/net -- cmd args…`,
// i.e. in the host's initial mount and network namespaces, and every other
// command unchanged. procRoot is the host's /proc as seen by the plugin
// (e.g. /host/proc). This is a wrapper so no host flow knows about the mode.
func NSEnter(base utilsexec.Interface, procRoot string, commands []string) utilsexec.Interface {
	if len(commands) == 0 {
		commands = DefaultNSEnterCommands
	}
	set := make(map[string]bool, len(commands))
	for _, c := range commands {
		set[c] = true
	}
	return &nsenter{base: base, procRoot: procRoot, commands: set}
}

type nsenter struct {
	base     utilsexec.Interface
	procRoot string
	commands map[string]bool
}

func (n *nsenter) argv(cmd string, args []string) (string, []string) {
	if !n.commands[filepath.Base(cmd)] {
		return cmd, args
	}
	ns := filepath.Join(n.procRoot, "1", "ns")
	full := append([]string{"--mount=" + filepath.Join(ns, "mnt"), "--net=" + filepath.Join(ns, "net"), "--", cmd}, args...)
	return "nsenter", full
}

func (n *nsenter) Command(cmd string, args ...string) utilsexec.Cmd {
	c, a := n.argv(cmd, args)
	return n.base.Command(c, a...)
}

func (n *nsenter) CommandContext(ctx context.Context, cmd string, args ...string) utilsexec.Cmd {
	c, a := n.argv(cmd, args)
	return n.base.CommandContext(ctx, c, a...)
}

func (n *nsenter) LookPath(file string) (string, error) {
	if n.commands[filepath.Base(file)] {
		// The binary lives in the host's mount namespace; nsenter resolves it there.
		return file, nil
	}
	return n.base.LookPath(file)
}
