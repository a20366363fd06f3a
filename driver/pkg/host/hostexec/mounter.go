package hostexec

import (
	"context"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
	"k8s.io/klog/v2"
	mount "k8s.io/mount-utils"
	utilsexec "k8s.io/utils/exec"
)

// Mounter is a mount.Interface whose mount(8) and umount(8) run through an
// exec.Interface — WithTimeout makes them bounded. k8s.io/mount-utils
// v0.37's Mounter runs both with os/exec and no context (a mount on a LU
// that stopped answering would hang NodeStage forever), and offers no
// option to change that; it does export the argument builders, which are
// reused here. Everything that is not mount/umount (List,
// IsLikelyNotMountPoint, …: /proc reads and stat calls) is the wrapped
// Interface. Mounts never go through systemd-run: the node plugin mounts
// block filesystems, which need no scope of their own.
type Mounter struct {
	mount.Interface
	Exec utilsexec.Interface
}

// NewMounter wraps base so that mount and umount run through e.
func NewMounter(base mount.Interface, e utilsexec.Interface) *Mounter {
	return &Mounter{Interface: base, Exec: e}
}

// Mount implements mount.Interface.
func (m *Mounter) Mount(source, target, fstype string, options []string) error {
	return m.MountSensitiveWithoutSystemdWithMountFlags(source, target, fstype, options, nil, nil)
}

// MountSensitive implements mount.Interface.
func (m *Mounter) MountSensitive(source, target, fstype string, options, sensitive []string) error {
	return m.MountSensitiveWithoutSystemdWithMountFlags(source, target, fstype, options, sensitive, nil)
}

// MountSensitiveWithoutSystemd implements mount.Interface.
func (m *Mounter) MountSensitiveWithoutSystemd(source, target, fstype string, options, sensitive []string) error {
	return m.MountSensitiveWithoutSystemdWithMountFlags(source, target, fstype, options, sensitive, nil)
}

// MountSensitiveWithoutSystemdWithMountFlags implements mount.Interface, as
// mount-utils does: a bind mount with options is a bind, then a remount
// carrying the options and the source's own restrictive flags.
func (m *Mounter) MountSensitiveWithoutSystemdWithMountFlags(source, target, fstype string, options, sensitive, flags []string) error {
	bind, bindOpts, remountOpts, remountSensitive := mount.MakeBindOptsSensitive(options, sensitive)
	if !bind {
		return m.run(source, target, fstype, options, sensitive, flags)
	}
	if err := m.run(source, target, fstype, bindOpts, remountSensitive, flags); err != nil {
		return err
	}
	var st unix.Statfs_t
	if err := unix.Statfs(source, &st); err != nil {
		return &os.PathError{Op: "statfs", Path: source, Err: err}
	}
	return m.run(source, target, fstype, append(remountOpts, statfsOptions(st.Flags)...), remountSensitive, flags)
}

// statfsOptions are the mount options a bind remount must repeat so it does
// not lift the source's restrictions (mount-utils' getBindMountOptions).
func statfsOptions(f int64) []string {
	var out []string
	for _, o := range []struct {
		flag int64
		opt  string
	}{{unix.ST_RDONLY, "ro"}, {unix.ST_NODEV, "nodev"}, {unix.ST_NOEXEC, "noexec"}, {unix.ST_NOSUID, "nosuid"},
		{unix.ST_NOATIME, "noatime"}, {unix.ST_RELATIME, "relatime"}, {unix.ST_NODIRATIME, "nodiratime"}} {
		if f&o.flag != 0 {
			out = append(out, o.opt)
		}
	}
	return out
}

func (m *Mounter) run(source, target, fstype string, options, sensitive, flags []string) error {
	args, logStr := mount.MakeMountArgsSensitiveWithMountFlags(source, target, fstype, options, sensitive, flags)
	klog.V(4).InfoS("Mounting", "args", logStr)
	out, err := m.Exec.CommandContext(context.Background(), "mount", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mount failed: %w\nMounting arguments: %s\nOutput: %s", timeoutErr(err), logStr, strings.TrimSpace(string(out)))
	}
	return nil
}

// Unmount implements mount.Interface; a target that is not mounted is not
// an error (mount-utils' safe not-mounted behaviour of util-linux ≥ 2.30).
func (m *Mounter) Unmount(target string) error {
	klog.V(4).InfoS("Unmounting", "target", target)
	out, err := m.Exec.CommandContext(context.Background(), "umount", target).CombinedOutput()
	if err == nil {
		return nil
	}
	if strings.Contains(string(out), "not mounted") {
		return nil
	}
	return fmt.Errorf("unmount failed: %w\nUnmounting arguments: %s\nOutput: %s", timeoutErr(err), target, strings.TrimSpace(string(out)))
}

// timeoutErr names a kill by the timeout, which exec reports as "signal: killed".
func timeoutErr(err error) error {
	if ExitCode(err) < 0 && strings.Contains(err.Error(), "killed") {
		return fmt.Errorf("%w (killed by the host command timeout)", err)
	}
	return err
}
