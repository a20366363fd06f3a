// Package controller is the CSI Controller service: it validates requests,
// looks objects up on the array by vdisk_UID, calls the array client and
// translates errors (errors.go). It keeps no state a restart would lose:
// idempotency is derived from what the array reports.
package controller

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
	"github.com/instorage-csi/instorage-csi/driver/pkg/volumeid"
)

// Array is one configured storage[] entry with its client.
type Array struct {
	Config config.Storage
	Client array.Client

	limits *limiter
}

// Options are the controller's settings beyond the arrays themselves.
type Options struct {
	// HostnamePrefix is host.hostnamePrefix: prepended to node names to name
	// array host objects.
	HostnamePrefix string
	// Link is host.link: "iscsi" (default) or "fc".
	Link string
	// Task is the top-level task section; storage[].task overrides it.
	Task config.Task
	// Topology makes volumes accessible only from nodes that report their
	// array's key (volumeid.TopologyKey) and lets accessibility requirements
	// choose the array when the StorageClass names none.
	Topology bool
}

// Server implements csi.ControllerServer.
type Server struct {
	csi.UnimplementedControllerServer

	opts        Options
	arrays      map[string]*Array
	first       string   // storage[0].name: the default devName
	configOrder []string // storage names in config order
	inflight    *inflight
	hosts       *keyedMutex
}

// New builds the controller over clients keyed by storage[].name; every
// configured storage must have a client.
func New(storages []config.Storage, clients map[string]array.Client, opts Options) (*Server, error) {
	if len(storages) == 0 {
		return nil, fmt.Errorf("no storage configured")
	}
	if opts.Link == "" {
		opts.Link = "iscsi"
	}
	if opts.Link != "iscsi" && opts.Link != "fc" {
		return nil, fmt.Errorf("host.link %q must be iscsi or fc", opts.Link)
	}
	s := &Server{opts: opts, arrays: map[string]*Array{}, first: storages[0].Name, inflight: newInflight(), hosts: newKeyedMutex()}
	for _, st := range storages {
		if !volumeid.ValidStorageName(st.Name) {
			return nil, fmt.Errorf("storage name %q must match [A-Za-z0-9][A-Za-z0-9._-]* (at most 63 characters)", st.Name)
		}
		if _, dup := s.arrays[st.Name]; dup {
			return nil, fmt.Errorf("storage name %q configured twice", st.Name)
		}
		c := clients[st.Name]
		if c == nil {
			return nil, fmt.Errorf("no array client for storage %q", st.Name)
		}
		task := opts.Task
		if st.Task != nil {
			task = *st.Task
		}
		s.arrays[st.Name] = &Array{Config: st, Client: c, limits: newLimiter(task)}
		s.configOrder = append(s.configOrder, st.Name)
	}
	return s, nil
}

// Arrays returns the configured arrays by name (Identity's Probe uses it).
func (s *Server) Arrays() map[string]*Array { return s.arrays }

// array resolves a storage name ("" = the first one) or fails with code.
func (s *Server) array(name string, code codes.Code) (*Array, error) {
	if name == "" {
		name = s.first
	}
	a, ok := s.arrays[name]
	if !ok {
		return nil, status.Errorf(code, "storage %q is not configured", name)
	}
	return a, nil
}

// barrierFile is where a failed active-active expand leaves its marker
// (mcs-cli.md §6.9, manual §3.3 storage[].barrierPath).
func (a *Array) barrierFile() string {
	dir := a.Config.BarrierPath
	if dir == "" {
		if exe, err := os.Executable(); err == nil {
			dir = filepath.Dir(exe)
		}
	}
	return filepath.Join(dir, "aa-extend-failure.barrier")
}

var controllerCaps = []csi.ControllerServiceCapability_RPC_Type{
	csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
	csi.ControllerServiceCapability_RPC_PUBLISH_UNPUBLISH_VOLUME,
	csi.ControllerServiceCapability_RPC_LIST_VOLUMES,
	csi.ControllerServiceCapability_RPC_LIST_VOLUMES_PUBLISHED_NODES,
	csi.ControllerServiceCapability_RPC_GET_CAPACITY,
	csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
	csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
	csi.ControllerServiceCapability_RPC_GET_SNAPSHOT,
	csi.ControllerServiceCapability_RPC_CLONE_VOLUME,
	csi.ControllerServiceCapability_RPC_EXPAND_VOLUME,
	csi.ControllerServiceCapability_RPC_GET_VOLUME,
	csi.ControllerServiceCapability_RPC_GET_VOLUME_HEALTH,
}

// ControllerGetCapabilities lists what this controller implements.
func (s *Server) ControllerGetCapabilities(_ context.Context, _ *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	caps := make([]*csi.ControllerServiceCapability, 0, len(controllerCaps))
	for _, c := range controllerCaps {
		caps = append(caps, &csi.ControllerServiceCapability{
			Type: &csi.ControllerServiceCapability_Rpc{Rpc: &csi.ControllerServiceCapability_RPC{Type: c}},
		})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}
