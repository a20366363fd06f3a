// Package hosttest plays iscsid and multipathd on top of the fake kernel
// (scsitest), so the host flows and the Node service run unprivileged.
package hosttest

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/hostexec/hostexectest"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/scsi/scsitest"
)

// Fixtures: two vdisk UIDs and the two portals/IQNs of a two-node array.
const (
	UIDA = "60050760008989c0d00000000002aa53"
	UIDB = "60050760008989c0d00000000002aa54"
	IQN1 = "iqn.2004-12.com.inspur:mcs.cluster.node1"
	IQN2 = "iqn.2004-12.com.inspur:mcs.cluster.node2"
	P1   = "127.0.0.1:3260"
	P2   = "127.0.0.2:3260"
)

// Host plays iscsid and multipathd on top of the fake kernel: a login
// creates a session (one SCSI host per session, as iscsi_tcp does) and the
// target then presents the LUNs listed in luns for that portal/IQN.
type Host struct {
	T      testing.TB
	K      *scsitest.Kernel
	X      *hostexectest.Fake
	C      *host.Connector
	Mu     sync.Mutex
	nextID int
	// luns: "portal|iqn" → LUN → WWID the target presents.
	LUNs map[string]map[int]string
	// sessions: "portal|iqn" → session id / scsi host.
	Sessions map[string]int
	// unreachable portals fail login with exit 8 (transport timeout).
	Unreachable map[string]bool
	Multipathd  bool
	FlushFails  bool
}

// New builds a fake host and a Connector over it that never sleeps.
func New(t testing.TB, s host.Settings) *Host {
	k := scsitest.New(t)
	x := hostexectest.New()
	f := &Host{T: t, K: k, X: x, nextID: 1, LUNs: map[string]map[int]string{}, Sessions: map[string]int{}, Unreachable: map[string]bool{}, Multipathd: true}
	x.Handle("iscsiadm", f.iscsiadm)
	x.Handle("blockdev", hostexectest.OK(""))
	x.Handle("multipathd", func(args []string) (string, int) {
		if !f.Multipathd {
			return "error -104 receiving packet", 1
		}
		return "path checker states:\nup 2\n", 0
	})
	x.Handle("multipath", func(args []string) (string, int) {
		if len(args) == 2 && args[0] == "-f" {
			if f.FlushFails {
				return args[1] + ": map in use", 1
			}
			if !k.RemoveMultipathByName(args[1]) {
				return "", 1
			}
		}
		return "", 0
	})
	f.C = host.New(x, k.Sys, s)
	f.C.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	return f
}

// FastSettings are small retry counts for tests.
func FastSettings() host.Settings {
	return host.Settings{Link: host.LinkISCSI, SCSIScanRetryTimes: 3, ISCSIPathCheckRetryTimes: 2, MultipathSearchRetryTimes: 3, FCScanLevel: "lun"}
}

// Present makes the target behind portal/iqn present lun with wwid.
func (f *Host) Present(portal, iqn string, lun int, wwid string) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	key := portal + "|" + iqn
	if f.LUNs[key] == nil {
		f.LUNs[key] = map[int]string{}
	}
	f.LUNs[key][lun] = wwid
	if id, ok := f.Sessions[key]; ok {
		f.K.ExposeLUN(id+1, lun, wwid)
	}
}

func (f *Host) iscsiadm(args []string) (string, int) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	var portal, iqn string
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "-p":
			portal = args[i+1]
		case "-T":
			iqn = args[i+1]
		}
	}
	key := portal + "|" + iqn
	switch {
	case slices.Contains(args, "--login"):
		if f.Unreachable[portal] {
			return "iscsiadm: Could not login to [iface: default, target: " + iqn + "]: connection timed out", 8
		}
		if _, ok := f.Sessions[key]; ok {
			return "iscsiadm: session exists", 15
		}
		id := f.nextID
		f.nextID++
		f.Sessions[key] = id
		ip, port, _ := strings.Cut(portal, ":")
		pn, _ := strconv.Atoi(port)
		f.K.AddISCSISession(id, id+1, ip, pn, iqn)
		for lun, w := range f.LUNs[key] {
			f.K.ExposeLUN(id+1, lun, w)
		}
		return "Login to [" + iqn + ", portal: " + portal + "] successful.", 0
	case slices.Contains(args, "--logout"):
		id, ok := f.Sessions[key]
		if !ok {
			return "iscsiadm: No matching sessions found", 21
		}
		delete(f.Sessions, key)
		f.K.RemoveISCSISession(id)
		return "Logout of [" + iqn + "] successful.", 0
	}
	return "", 0
}

// ISCSIVolume returns a volume on the given portals and presents its LUN there.
func (f *Host) ISCSIVolume(uid string, lun int, portals ...string) host.Volume {
	v := host.Volume{Link: host.LinkISCSI, UID: uid}
	iqns := map[string]string{P1: IQN1, P2: IQN2}
	for _, p := range portals {
		v.ISCSI = append(v.ISCSI, host.ISCSIPath{Portal: p, IQN: iqns[p], LUN: lun})
		f.Present(p, iqns[p], lun, uid)
	}
	return v
}
