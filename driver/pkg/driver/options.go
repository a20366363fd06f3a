package driver

import (
	"flag"
	"fmt"
	"net/url"
	"strings"
)

// Modes the binary runs in.
const (
	ModeAllInOne   = "all-in-one" // controller and node service in one process
	ModeController = "controller" // Identity + Controller (the Deployment)
	ModeNodeWorker = "nodeworker" // Identity + Node (the DaemonSet)
)

// DefaultDriverName is the vendor plugin's provisioner name (manual §4.2).
const DefaultDriverName = "csi-instorage"

// Options are the instorage-csi command-line settings.
type Options struct {
	Endpoint    string
	Mode        string
	NodeID      string
	DriverName  string
	ConfigPath  string
	MetricsAddr string
	// Topology advertises VOLUME_ACCESSIBILITY_CONSTRAINTS: nodes report one
	// segment per storage[] in their config, volumes are accessible from the
	// nodes that report their array. Set it on controller and nodes alike.
	Topology bool

	// Node service (all-in-one and nodeworker); see driver/pkg/node/README.md.
	NodeStateDir      string
	HostExec          string // "" or "nsenter"
	HostProc          string
	MaxVolumesPerNode int64
}

// AddFlags registers the options on fs.
func (o *Options) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Endpoint, "endpoint", "unix:///csi/csi.sock", "CSI endpoint: unix:///path/to/socket or tcp://host:port")
	fs.StringVar(&o.Mode, "mode", ModeAllInOne, "services to run: all-in-one, controller or nodeworker")
	fs.StringVar(&o.NodeID, "node-id", "", "Kubernetes node name (required for all-in-one and nodeworker)")
	fs.StringVar(&o.DriverName, "driver-name", DefaultDriverName, "CSI driver name (the StorageClass provisioner)")
	fs.StringVar(&o.ConfigPath, "config", "/etc/instorage/instorage.yaml", "path to instorage.yaml")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", "", "listen address for Prometheus /metrics (empty disables)")
	fs.BoolVar(&o.Topology, "topology", false, "volumes are accessible only from nodes whose config lists their storage (topology.instorage-csi.io/<storage>); set on controller and nodes alike")
	fs.StringVar(&o.NodeStateDir, "node-state-dir", "", "node: directory for stage records (default /var/lib/kubelet/plugins/<driver-name>/node)")
	fs.StringVar(&o.HostExec, "host-exec", "", `node: "nsenter" runs iscsiadm/multipath in the host's namespaces (kind nodes); "" runs them in the plugin`)
	fs.StringVar(&o.HostProc, "host-proc", "/host/proc", "node: the host's /proc, for --host-exec=nsenter")
	fs.Int64Var(&o.MaxVolumesPerNode, "max-volumes-per-node", 0, "node: volumes this node may attach, reported to the scheduler (0 = no limit)")
}

// Validate reports every invalid option at once.
func (o *Options) Validate() error {
	var errs []string
	if _, _, err := ParseEndpoint(o.Endpoint); err != nil {
		errs = append(errs, err.Error())
	}
	switch o.Mode {
	case ModeAllInOne, ModeNodeWorker:
		if o.NodeID == "" {
			errs = append(errs, fmt.Sprintf("--node-id is required in mode %s", o.Mode))
		}
	case ModeController:
	default:
		errs = append(errs, fmt.Sprintf("--mode %q must be all-in-one, controller or nodeworker", o.Mode))
	}
	if o.DriverName == "" {
		errs = append(errs, "--driver-name must not be empty")
	}
	if o.HostExec != "" && o.HostExec != "nsenter" {
		errs = append(errs, fmt.Sprintf("--host-exec %q must be empty or nsenter", o.HostExec))
	}
	if o.MaxVolumesPerNode < 0 {
		errs = append(errs, "--max-volumes-per-node must not be negative")
	}
	if o.ConfigPath == "" {
		errs = append(errs, "--config must not be empty")
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid options: %s", strings.Join(errs, "; "))
	}
	return nil
}

// RunsController and RunsNode say which services a mode includes.
func (o *Options) RunsController() bool { return o.Mode != ModeNodeWorker }
func (o *Options) RunsNode() bool       { return o.Mode != ModeController }

// ParseEndpoint splits a CSI endpoint into a net.Listen network and address.
func ParseEndpoint(ep string) (network, addr string, err error) {
	u, err := url.Parse(ep)
	if err != nil {
		return "", "", fmt.Errorf("endpoint %q: %v", ep, err)
	}
	switch u.Scheme {
	case "unix":
		addr = u.Path
		if addr == "" {
			addr = u.Opaque // unix:relative/path
		}
	case "tcp":
		addr = u.Host
	default:
		return "", "", fmt.Errorf("endpoint %q: scheme must be unix or tcp", ep)
	}
	if addr == "" {
		return "", "", fmt.Errorf("endpoint %q has no address", ep)
	}
	return u.Scheme, addr, nil
}
