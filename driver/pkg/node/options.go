// Package node is the CSI Node service: it validates requests, persists
// stage metadata, and drives the host flows in package host (attach by
// WWID, multipath, teardown) and the filesystem through k8s.io/mount-utils.
package node

import (
	"errors"
	"fmt"
	"path/filepath"
)

// Options configure the Node service; the driver binary fills them from flags.
type Options struct {
	DriverName string // e.g. csi-instorage
	NodeName   string // Kubernetes node name (--node-id)
	// StateDir holds one stage record per volume so a restarted plugin still
	// tears down what it set up. Default /var/lib/kubelet/plugins/<driver>/node.
	StateDir string
	// InitiatorNameFile is open-iscsi's initiator name (default /etc/iscsi/initiatorname.iscsi).
	InitiatorNameFile string
	SysRoot, DevRoot  string // "/sys", "/dev"; a fake tree in tests
	MaxVolumesPerNode int64  // 0 = no limit reported
	// Topology segments reported by NodeGetInfo (optional).
	Topology map[string]string
	// HostExec "nsenter" runs iscsiadm/multipath/multipathd in the host's
	// initial namespaces through HostProc/1/ns (kind nodes, see README.md);
	// "" runs them in the plugin's own namespaces.
	HostExec string
	HostProc string // default /host/proc
}

func (o *Options) defaults() {
	if o.StateDir == "" && o.DriverName != "" {
		o.StateDir = filepath.Join("/var/lib/kubelet/plugins", o.DriverName, "node")
	}
	if o.HostExec == "nsenter" && o.HostProc == "" {
		o.HostProc = "/host/proc"
	}
	if o.InitiatorNameFile == "" {
		o.InitiatorNameFile = "/etc/iscsi/initiatorname.iscsi"
		// In nsenter mode the iscsid that logs in is the host's: report the
		// IQN it uses, read through its root, not the plugin image's file.
		if o.HostExec == "nsenter" {
			o.InitiatorNameFile = filepath.Join(o.HostProc, "1/root/etc/iscsi/initiatorname.iscsi")
		}
	}
	if o.SysRoot == "" {
		o.SysRoot = "/sys"
	}
	if o.DevRoot == "" {
		o.DevRoot = "/dev"
	}
}

// Validate reports the first unusable option.
func (o *Options) Validate() error {
	switch {
	case o.DriverName == "":
		return errors.New("node: driver name is required")
	case o.NodeName == "":
		return errors.New("node: node name (--node-id) is required")
	case !filepath.IsAbs(o.StateDir):
		return fmt.Errorf("node: state dir %q must be absolute", o.StateDir)
	case o.HostExec != "" && o.HostExec != "nsenter":
		return fmt.Errorf("node: host exec %q: want \"\" or nsenter", o.HostExec)
	case o.HostExec == "nsenter" && !filepath.IsAbs(o.HostProc):
		return fmt.Errorf("node: host proc %q must be absolute", o.HostProc)
	case o.MaxVolumesPerNode < 0:
		return fmt.Errorf("node: max volumes per node %d < 0", o.MaxVolumesPerNode)
	}
	return nil
}
