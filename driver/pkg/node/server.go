package node

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"
	mount "k8s.io/mount-utils"
	utilsexec "k8s.io/utils/exec"

	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/fc"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/filelock"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/hostexec"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/iscsi"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/scsi"
	"github.com/instorage-csi/instorage-csi/driver/pkg/volumeid"
)

// Server is the CSI Node service.
type Server struct {
	csi.UnimplementedNodeServer

	opts      Options
	settings  host.Settings
	lockPath  string
	exec      utilsexec.Interface
	mounter   *mount.SafeFormatAndMount
	connector *host.Connector
	state     stateStore

	mu       sync.Mutex
	inFlight map[string]bool // volume IDs with an RPC running
}

var _ csi.NodeServer = (*Server)(nil)

// New builds the Node service. It bounds exec, mounter.Exec and (for the
// real mount-utils Mounter) mount/umount with host.hostCommandTimeout and, with Options.HostExec "nsenter", runs the
// iSCSI/multipath clients in the host's namespaces (hostexec.NSEnter).
func New(opts Options, cfg config.Host, exec utilsexec.Interface, mounter *mount.SafeFormatAndMount) (*Server, error) {
	opts.defaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if exec == nil || mounter == nil {
		return nil, errors.New("node: exec and mounter are required")
	}
	s := host.SettingsFrom(cfg)
	if s.Link != host.LinkISCSI && s.Link != host.LinkFC {
		return nil, fmt.Errorf("node: host.link %q: want iscsi or fc", s.Link)
	}
	switch s.FCScanLevel {
	case fc.ScanLUN, fc.ScanCTL, fc.ScanAll:
	default:
		return nil, fmt.Errorf("node: host.fcScanLevel %q: want lun, ctl or all", s.FCScanLevel)
	}
	// Every host command is bounded here, whatever the caller wired, and in
	// host-exec mode the daemons' clients run in the host's namespaces.
	exec = wrapExec(exec, opts, s)
	m := *mounter
	m.Exec = wrapExec(mounter.Exec, opts, s)
	if _, real := m.Interface.(*mount.Mounter); real {
		// mount-utils runs mount(8)/umount(8) with no timeout: run them
		// through the bounded exec instead (hostexec.Mounter).
		m.Interface = hostexec.NewMounter(m.Interface, m.Exec)
	}
	mounter = &m
	lock := cfg.AttachExtendFileLockPath
	if lock == "" {
		lock = filepath.Join(opts.StateDir, "attach-extend.lock")
	}
	sys := &scsi.Sysfs{SysRoot: opts.SysRoot, DevRoot: opts.DevRoot}
	return &Server{
		opts:      opts,
		settings:  s,
		lockPath:  lock,
		exec:      exec,
		mounter:   mounter,
		connector: host.New(exec, sys, s),
		state:     stateStore{dir: opts.StateDir},
		inFlight:  map[string]bool{},
	}, nil
}

func wrapExec(e utilsexec.Interface, opts Options, s host.Settings) utilsexec.Interface {
	if e == nil {
		return nil
	}
	e = hostexec.WithTimeout(e, s.CommandTimeout)
	if opts.HostExec == "nsenter" {
		e = hostexec.NSEnter(e, opts.HostProc, nil)
	}
	return e
}

// begin marks volumeID busy; a second RPC on it gets Aborted (CSI §"Concurrency").
func (s *Server) begin(volumeID string) (func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inFlight[volumeID] {
		return nil, status.Errorf(codes.Aborted, "an operation on volume %s is already in progress", volumeID)
	}
	s.inFlight[volumeID] = true
	return func() {
		s.mu.Lock()
		delete(s.inFlight, volumeID)
		s.mu.Unlock()
	}, nil
}

// hostLock serialises attach, detach and expand on this node (attachExtendFileLockPath).
func (s *Server) hostLock(ctx context.Context) (func(), error) {
	unlock, err := filelock.Lock(ctx, s.lockPath)
	if err != nil {
		return nil, status.Errorf(codes.Aborted, "host lock: %v", err)
	}
	return unlock, nil
}

// hostError maps a host-flow error to its gRPC status, once.
func hostError(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, host.ErrLogin), errors.Is(err, host.ErrMultipath), errors.Is(err, host.ErrBusy):
		code = codes.Unavailable
	case errors.Is(err, host.ErrNoDevice):
		code = codes.NotFound
	case errors.Is(err, host.ErrStaleInUse), errors.Is(err, host.ErrRemapped):
		code = codes.FailedPrecondition
	}
	return status.Errorf(code, "%s: %v", op, err)
}

// NodeGetCapabilities implements csi.NodeServer.
func (s *Server) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	var caps []*csi.NodeServiceCapability
	for _, c := range []csi.NodeServiceCapability_RPC_Type{
		csi.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME,
		csi.NodeServiceCapability_RPC_EXPAND_VOLUME,
		csi.NodeServiceCapability_RPC_GET_VOLUME_STATS,
		csi.NodeServiceCapability_RPC_GET_VOLUME_HEALTH,
		// SINGLE_NODE_MULTI_WRITER is not offered: the controller accepts only RWO/ROX
		// for filesystems, so SINGLE_NODE_{SINGLE,MULTI}_WRITER volumes cannot be created.
		// Publish already enforces single-writer targets should both sides offer it.
	} {
		caps = append(caps, &csi.NodeServiceCapability{Type: &csi.NodeServiceCapability_Rpc{Rpc: &csi.NodeServiceCapability_RPC{Type: c}}})
	}
	return &csi.NodeGetCapabilitiesResponse{Capabilities: caps}, nil
}

// NodeGetInfo implements csi.NodeServer: the node id carries the initiator
// ports the controller puts on the array host object (volumeid.Node).
func (s *Server) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	n := volumeid.Node{Name: s.opts.NodeName}
	switch s.settings.Link {
	case host.LinkISCSI:
		iqn, err := iscsi.ReadInitiatorName(s.opts.InitiatorNameFile)
		if err != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "iSCSI initiator name: %v", err)
		}
		n.IQN = iqn
	case host.LinkFC:
		hbas, err := fc.HBAs(s.connector.Sys)
		if err != nil || len(hbas) == 0 {
			return nil, status.Errorf(codes.FailedPrecondition, "no FC HBA in %s: %v", s.connector.Sys.Sys("class", "fc_host"), err)
		}
		for _, h := range hbas {
			n.WWPNs = append(n.WWPNs, h.WWPN)
		}
	}
	if err := n.Validate(); err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "node id: %v", err)
	}
	resp := &csi.NodeGetInfoResponse{NodeId: n.String(), MaxVolumesPerNode: s.opts.MaxVolumesPerNode}
	if len(s.opts.Topology) > 0 {
		resp.AccessibleTopology = &csi.Topology{Segments: s.opts.Topology}
	}
	klog.V(4).InfoS("NodeGetInfo", "nodeID", resp.NodeId)
	return resp, nil
}
