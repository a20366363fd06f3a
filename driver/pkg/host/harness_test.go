package host_test

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

const (
	uidA = "60050760008989c0d00000000002aa53"
	uidB = "60050760008989c0d00000000002aa54"
	iqn1 = "iqn.2004-12.com.inspur:mcs.cluster.node1"
	iqn2 = "iqn.2004-12.com.inspur:mcs.cluster.node2"
	p1   = "127.0.0.1:3260"
	p2   = "127.0.0.2:3260"
)

// fakeHost plays iscsid and multipathd on top of the fake kernel: a login
// creates a session (one SCSI host per session, as iscsi_tcp does) and the
// target then presents the LUNs listed in luns for that portal/IQN.
type fakeHost struct {
	t      *testing.T
	k      *scsitest.Kernel
	x      *hostexectest.Fake
	c      *host.Connector
	mu     sync.Mutex
	nextID int
	// luns: "portal|iqn" → LUN → WWID the target presents.
	luns map[string]map[int]string
	// sessions: "portal|iqn" → session id / scsi host.
	sessions map[string]int
	// unreachable portals fail login with exit 8 (transport timeout).
	unreachable map[string]bool
	multipathd  bool
	flushFails  bool
}

func newFakeHost(t *testing.T, s host.Settings) *fakeHost {
	k := scsitest.New(t)
	x := hostexectest.New()
	f := &fakeHost{t: t, k: k, x: x, nextID: 1, luns: map[string]map[int]string{}, sessions: map[string]int{}, unreachable: map[string]bool{}, multipathd: true}
	x.Handle("iscsiadm", f.iscsiadm)
	x.Handle("blockdev", hostexectest.OK(""))
	x.Handle("multipathd", func(args []string) (string, int) {
		if !f.multipathd {
			return "error -104 receiving packet", 1
		}
		return "path checker states:\nup 2\n", 0
	})
	x.Handle("multipath", func(args []string) (string, int) {
		if len(args) == 2 && args[0] == "-f" {
			if f.flushFails {
				return args[1] + ": map in use", 1
			}
			if !k.RemoveMultipathByName(args[1]) {
				return "", 1
			}
		}
		return "", 0
	})
	f.c = host.New(x, k.Sys, s)
	f.c.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	return f
}

func fastSettings() host.Settings {
	return host.Settings{Link: host.LinkISCSI, SCSIScanRetryTimes: 3, ISCSIPathCheckRetryTimes: 2, MultipathSearchRetryTimes: 3, FCScanLevel: "lun"}
}

func (f *fakeHost) present(portal, iqn string, lun int, wwid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := portal + "|" + iqn
	if f.luns[key] == nil {
		f.luns[key] = map[int]string{}
	}
	f.luns[key][lun] = wwid
	if id, ok := f.sessions[key]; ok {
		f.k.ExposeLUN(id+1, lun, wwid)
	}
}

func (f *fakeHost) iscsiadm(args []string) (string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
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
		if f.unreachable[portal] {
			return "iscsiadm: Could not login to [iface: default, target: " + iqn + "]: connection timed out", 8
		}
		if _, ok := f.sessions[key]; ok {
			return "iscsiadm: session exists", 15
		}
		id := f.nextID
		f.nextID++
		f.sessions[key] = id
		ip, port, _ := strings.Cut(portal, ":")
		pn, _ := strconv.Atoi(port)
		f.k.AddISCSISession(id, id+1, ip, pn, iqn)
		for lun, w := range f.luns[key] {
			f.k.ExposeLUN(id+1, lun, w)
		}
		return "Login to [" + iqn + ", portal: " + portal + "] successful.", 0
	case slices.Contains(args, "--logout"):
		id, ok := f.sessions[key]
		if !ok {
			return "iscsiadm: No matching sessions found", 21
		}
		delete(f.sessions, key)
		f.k.RemoveISCSISession(id)
		return "Logout of [" + iqn + "] successful.", 0
	}
	return "", 0
}

func (f *fakeHost) iscsiVolume(uid string, lun int, portals ...string) host.Volume {
	v := host.Volume{Link: host.LinkISCSI, UID: uid}
	iqns := map[string]string{p1: iqn1, p2: iqn2}
	for _, p := range portals {
		v.ISCSI = append(v.ISCSI, host.ISCSIPath{Portal: p, IQN: iqns[p], LUN: lun})
		f.present(p, iqns[p], lun, uid)
	}
	return v
}
