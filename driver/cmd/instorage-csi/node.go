package main

import (
	"github.com/container-storage-interface/spec/lib/go/csi"
	"k8s.io/mount-utils"
	"k8s.io/utils/exec"

	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
	"github.com/instorage-csi/instorage-csi/driver/pkg/driver"
	"github.com/instorage-csi/instorage-csi/driver/pkg/node"
	"github.com/instorage-csi/instorage-csi/driver/pkg/volumeid"
)

// newNode builds the Node service for this machine.
func newNode(opts driver.Options, cfg *config.Config) (csi.NodeServer, error) {
	e := exec.New()
	var topology map[string]string
	if opts.Topology {
		topology = map[string]string{}
		for _, st := range cfg.Storage {
			topology[volumeid.TopologyKey(st.Name)] = "true"
		}
	}
	return node.New(node.Options{
		DriverName: opts.DriverName, NodeName: opts.NodeID, StateDir: opts.NodeStateDir,
		HostExec: opts.HostExec, HostProc: opts.HostProc, MaxVolumesPerNode: opts.MaxVolumesPerNode,
		Topology: topology,
	}, cfg.Host, e,
		&mount.SafeFormatAndMount{Interface: mount.New(""), Exec: e})
}
