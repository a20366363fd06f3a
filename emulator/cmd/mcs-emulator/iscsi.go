package main

import (
	"context"
	"fmt"
	"net"

	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/emulator/config"
	"github.com/instorage-csi/instorage-csi/emulator/iscsi"
	"github.com/instorage-csi/instorage-csi/emulator/model"
	"github.com/instorage-csi/instorage-csi/emulator/scsi"
)

// startISCSI binds every node's portals and serves them until the returned
// stop function runs.
func startISCSI(ctx context.Context, c *config.Config, arr *model.Array) ([]string, func(), error) {
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
	portals, stop, err := iscsi.StartForModel(ctx, arr, iscsi.Config{
		Port:      port,
		Identity:  scsi.Identity{Vendor: c.ISCSI.Vendor, Product: c.ISCSI.Product, Revision: c.ISCSI.Revision},
		Advertise: c.ISCSI.Advertise,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("iSCSI target: %w", err)
	}
	return portals, stop, nil
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
