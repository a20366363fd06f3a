// Package iscsi drives open-iscsi: node records (with manual LUN scan and
// optional CHAP), login/logout, and the session → SCSI host lookup in sysfs
// that a targeted scan needs. Every iscsiadm call goes through hostexec.
package iscsi

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host/hostexec"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/scsi"
	utilsexec "k8s.io/utils/exec"
)

// iscsiadm exit codes (open-iscsi include/iscsi_err.h).
const (
	errSessExists = 15 // ISCSI_ERR_SESS_EXISTS: already logged in
	errNoObjects  = 21 // ISCSI_ERR_NO_OBJS_FOUND: no session / no record
)

// DefaultPort is the only port the array serves (mcs-cli.md §3.3).
const DefaultPort = 3260

// CHAP is one-way CHAP for a session. Secret never reaches a log or error.
type CHAP struct{ User, Secret string }

// NormalizePortal returns "ip:port" ("[v6]:port"), adding port 3260 if absent.
func NormalizePortal(p string) (string, error) {
	p = strings.TrimSpace(p)
	host, port, err := net.SplitHostPort(p)
	if err != nil {
		host, port = strings.Trim(p, "[]"), strconv.Itoa(DefaultPort)
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return "", fmt.Errorf("portal %q: not an IP address", p)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n <= 0 || n > 65535 {
		return "", fmt.Errorf("portal %q: bad port", p)
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(n)), nil
}

// Initiator is the node's open-iscsi.
type Initiator struct {
	Exec utilsexec.Interface
	Sys  *scsi.Sysfs
}

func (in *Initiator) nodeArgs(portal, iqn string, more ...string) []string {
	return append([]string{"-m", "node", "-p", portal, "-T", iqn}, more...)
}

// EnsureNode creates (or refreshes) the node record for portal/iqn without
// SendTargets discovery, so only this target is ever logged in; LUNs are
// scanned by the driver only (node.session.scan=manual) and the session is
// not restored at boot by iscsid (node.startup=manual): the plugin owns it.
func (in *Initiator) EnsureNode(ctx context.Context, portal, iqn string, chap *CHAP) error {
	if _, err := hostexec.Run(ctx, in.Exec, "iscsiadm", in.nodeArgs(portal, iqn, "-o", "new")...); err != nil {
		return err
	}
	// One update with every setting (iscsiadm takes repeated -n/-v pairs):
	// each iscsiadm call costs a round trip to iscsid.
	args := in.nodeArgs(portal, iqn, "-o", "update",
		"-n", "node.session.scan", "-v", "manual", "-n", "node.startup", "-v", "manual")
	var secret []int
	if chap != nil && chap.User != "" {
		args = append(args, "-n", "node.session.auth.authmethod", "-v", "CHAP",
			"-n", "node.session.auth.username", "-v", chap.User,
			"-n", "node.session.auth.password", "-v", chap.Secret)
		secret = []int{len(args) - 1}
	} else {
		args = append(args, "-n", "node.session.auth.authmethod", "-v", "None")
	}
	_, err := hostexec.RunRedacted(ctx, in.Exec, secret, "iscsiadm", args...)
	return err
}

// Login logs in to portal/iqn; an existing session is success.
func (in *Initiator) Login(ctx context.Context, portal, iqn string) error {
	_, err := hostexec.Run(ctx, in.Exec, "iscsiadm", in.nodeArgs(portal, iqn, "--login")...)
	if err != nil && hostexec.ExitCode(err) != errSessExists {
		return err
	}
	return nil
}

// Logout logs out of portal/iqn and deletes its node record. Both are
// tolerant of the session or record being gone already.
func (in *Initiator) Logout(ctx context.Context, portal, iqn string) error {
	if _, err := hostexec.Run(ctx, in.Exec, "iscsiadm", in.nodeArgs(portal, iqn, "--logout")...); err != nil && hostexec.ExitCode(err) != errNoObjects {
		return err
	}
	if _, err := hostexec.Run(ctx, in.Exec, "iscsiadm", in.nodeArgs(portal, iqn, "-o", "delete")...); err != nil && hostexec.ExitCode(err) != errNoObjects {
		return err
	}
	return nil
}

// Session is one logged-in iSCSI session as the kernel shows it.
type Session struct {
	ID     int
	Host   int // the SCSI host the session created (one per session for iscsi_tcp)
	IQN    string
	Portal string // normalised ip:port
}

// Sessions lists the kernel's iSCSI sessions from sysfs.
func (in *Initiator) Sessions() ([]Session, error) {
	names, err := scsi.ListDir(in.Sys.Sys("class", "iscsi_session"))
	if err != nil {
		return nil, err
	}
	var out []Session
	for _, n := range names {
		id, err := strconv.Atoi(strings.TrimPrefix(n, "session"))
		if err != nil {
			continue
		}
		s := Session{ID: id}
		if s.IQN, err = in.Sys.Read(in.Sys.Sys("class", "iscsi_session", n, "targetname")); err != nil {
			continue // session going away
		}
		dev, err := filepath.EvalSymlinks(in.Sys.Sys("class", "iscsi_session", n, "device"))
		if err != nil {
			continue
		}
		if s.Host, err = strconv.Atoi(strings.TrimPrefix(filepath.Base(filepath.Dir(dev)), "host")); err != nil {
			continue
		}
		conn := in.Sys.Sys("class", "iscsi_connection", fmt.Sprintf("connection%d:0", id))
		addr, err1 := in.Sys.Read(filepath.Join(conn, "persistent_address"))
		port, err2 := in.Sys.Read(filepath.Join(conn, "persistent_port"))
		if err1 != nil || err2 != nil {
			continue
		}
		if s.Portal, err = NormalizePortal(net.JoinHostPort(addr, port)); err != nil {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// FindSession returns the session to iqn through portal, if logged in.
func (in *Initiator) FindSession(portal, iqn string) (Session, bool, error) {
	ss, err := in.Sessions()
	if err != nil {
		return Session{}, false, err
	}
	for _, s := range ss {
		if s.Portal == portal && s.IQN == iqn {
			return s, true, nil
		}
	}
	return Session{}, false, nil
}

// TargetAddress returns the channel and target id of the session's SCSI
// target if the kernel has created it, else -1, -1 (wildcards for the scan).
func (in *Initiator) TargetAddress(s Session) (channel, target int) {
	dev, err := filepath.EvalSymlinks(in.Sys.Sys("class", "iscsi_session", fmt.Sprintf("session%d", s.ID), "device"))
	if err != nil {
		return -1, -1
	}
	m, _ := filepath.Glob(filepath.Join(dev, fmt.Sprintf("target%d:*:*", s.Host)))
	if len(m) != 1 {
		return -1, -1
	}
	p := strings.Split(strings.TrimPrefix(filepath.Base(m[0]), "target"), ":")
	c, err1 := strconv.Atoi(p[1])
	t, err2 := strconv.Atoi(p[2])
	if err1 != nil || err2 != nil {
		return -1, -1
	}
	return c, t
}

// HasDevices reports whether any disk (any LUN) remains on the session's
// host; logout is safe only when none does. Non-disk devices (e.g. a
// target's LUN 0 controller, SCSI type 12) hold no volume and are ignored.
func (in *Initiator) HasDevices(s Session) (bool, error) {
	m, err := filepath.Glob(in.Sys.Sys("bus", "scsi", "devices", fmt.Sprintf("%d:*:*:*", s.Host)))
	if err != nil {
		return false, err
	}
	for _, d := range m {
		if t, err := in.Sys.Read(filepath.Join(d, "type")); err == nil && t != "0" {
			continue
		}
		return true, nil
	}
	return false, nil
}

// ReadInitiatorName returns the IQN in /etc/iscsi/initiatorname.iscsi.
func ReadInitiatorName(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "InitiatorName="); ok && v != "" {
			return strings.TrimSpace(v), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s: no InitiatorName= line", path)
}
