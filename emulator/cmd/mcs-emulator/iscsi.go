package main

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/emulator/config"
	"github.com/instorage-csi/instorage-csi/emulator/console"
	"github.com/instorage-csi/instorage-csi/emulator/iscsi"
	"github.com/instorage-csi/instorage-csi/emulator/model"
	"github.com/instorage-csi/instorage-csi/emulator/scsi"
)

// startISCSI binds every node's portals and serves them until the returned
// stop function runs.
func startISCSI(ctx context.Context, c *config.Config, arr *model.Array) (*iscsi.Server, func(), error) {
	if !c.ISCSIEnabled() {
		klog.InfoS("iSCSI target disabled")
		return nil, func() {}, nil
	}
	port := c.ISCSI.Port
	if port == config.ISCSIAnyPort {
		p, err := freePort()
		if err != nil {
			return nil, nil, err
		}
		port = p
	}
	// StartForModel also registers the target as the model's write
	// quiescer, so LocalCopy snapshots are point-in-time.
	srv, stop, err := iscsi.StartForModel(ctx, arr, iscsi.Config{
		Port:      port,
		Identity:  scsi.Identity{Vendor: c.ISCSI.Vendor, Product: c.ISCSI.Product, Revision: c.ISCSI.Revision},
		Advertise: c.ISCSI.Advertise,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("iSCSI target: %w", err)
	}
	return srv, stop, nil
}

// consoleSessions lists the target's sessions for the web console.
func consoleSessions(srv *iscsi.Server) func() []console.Session {
	if srv == nil {
		return nil
	}
	return func() []console.Session {
		var out []console.Session
		for _, s := range srv.SessionList() {
			out = append(out, console.Session{Portal: s.Portal, Target: s.Target, Initiator: s.Initiator,
				Remote: s.Remote, Since: s.Since.Format("2006-01-02 15:04:05Z")})
		}
		return out
	}
}

// freePort finds a port free on loopback for every portal (tests run
// several emulators side by side).
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portIPAliases turns iscsi.advertise (listened ip[:port] → advertised
// ip:port) into the IPs lsportip reports for each node portal, so a driver
// sees the same addresses SendTargets gives (emulator README, "advertise").
func portIPAliases(c *config.Config, arr *model.Array) map[string]string {
	out := map[string]string{}
	if len(c.ISCSI.Advertise) == 0 {
		return out
	}
	for _, n := range arr.Nodes() {
		for _, p := range n.Portals {
			ip := p
			if h, _, err := net.SplitHostPort(p); err == nil {
				ip = h
			}
			adv, ok := c.ISCSI.Advertise[net.JoinHostPort(ip, strconv.Itoa(c.ISCSI.Port))]
			if !ok {
				adv, ok = c.ISCSI.Advertise[ip]
			}
			if !ok {
				continue
			}
			if h, _, err := net.SplitHostPort(adv); err == nil {
				adv = h
			}
			out[ip] = adv
		}
	}
	return out
}
