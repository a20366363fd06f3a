package main

import (
	"context"

	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/emulator/config"
	"github.com/instorage-csi/instorage-csi/emulator/model"
)

// startISCSI starts the data path target for arr. It returns the bound
// portals and a stop function.
func startISCSI(_ context.Context, c *config.Config, _ *model.Array) ([]string, func(), error) {
	if !c.ISCSIEnabled() {
		return nil, func() {}, nil
	}
	// TODO(iscsi): wire iscsi.NewServer once emulator/iscsi exposes a model backend.
	klog.InfoS("iSCSI target not started: not yet wired into this build")
	return nil, func() {}, nil
}
