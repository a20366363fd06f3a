package controller

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/volumeid"
)

// hostName is the array host object for a node (host.hostnamePrefix + name).
func (s *Server) hostName(n volumeid.Node) string {
	return volumeid.ObjectName(s.opts.HostnamePrefix, n.Name)
}

// ensureHost finds or creates the node's host object (§6.7 steps 1-2). A
// node ID without ports names a host an administrator made: it must exist.
// A host with that name but other ports is never changed: it may be another
// machine, and adding our port would give it our volumes.
func (s *Server) ensureHost(ctx context.Context, a *Array, n volumeid.Node, site string) (array.Host, error) {
	name := s.hostName(n)
	h, err := a.Client.LsHost(ctx, name)
	switch {
	case err == nil:
		if n.IQN == "" && len(n.WWPNs) == 0 {
			return h, nil
		}
		if hostHasPorts(h, n) {
			return h, nil
		}
		return array.Host{}, status.Errorf(codes.FailedPrecondition,
			"array host %s exists with ports %v %v, not the node's %s %v; fix or remove it on the array",
			name, h.ISCSINames, h.WWPNs, n.IQN, n.WWPNs)
	case !array.IsNotFound(err):
		return array.Host{}, toStatus(err, "reading host "+name)
	}
	if n.IQN == "" && len(n.WWPNs) == 0 {
		return array.Host{}, status.Errorf(codes.NotFound, "node %s: no host object %s on the array and the node id names no initiator", n.Name, name)
	}
	args := array.MkHostArgs{Name: name, IQN: n.IQN, Site: site}
	if n.IQN == "" {
		args.WWPN = n.WWPNs[0]
	}
	if _, err := a.Client.MkHost(ctx, args); err != nil {
		if array.IsAlreadyExists(err) {
			// Made meanwhile (another controller, or our own dropped reply):
			// check its ports once, without looping on a confused array.
			h, err := a.Client.LsHost(ctx, name)
			if err != nil {
				return array.Host{}, toStatus(err, "reading host "+name)
			}
			if !hostHasPorts(h, n) {
				return array.Host{}, status.Errorf(codes.FailedPrecondition, "array host %s exists with other ports", name)
			}
			return h, nil
		}
		return array.Host{}, toStatus(err, "creating host "+name)
	}
	for _, w := range n.WWPNs[min(1, len(n.WWPNs)):] {
		if err := a.Client.AddHostPort(ctx, name, "", w); err != nil {
			if rmErr := a.Client.RmHost(context.WithoutCancel(ctx), name); rmErr != nil {
				klog.ErrorS(rmErr, "Removing half-made host", "storage", a.Config.Name, "host", name)
			}
			return array.Host{}, toStatus(err, "adding port "+w+" to host "+name)
		}
	}
	klog.InfoS("Created host", "storage", a.Config.Name, "host", name, "iqn", n.IQN, "wwpns", n.WWPNs)
	h = array.Host{Name: name, WWPNs: n.WWPNs}
	if n.IQN != "" {
		h.ISCSINames = []string{n.IQN}
	}
	return h, nil
}

func hostHasPorts(h array.Host, n volumeid.Node) bool {
	if n.IQN != "" {
		return slices.Contains(h.ISCSINames, n.IQN)
	}
	for _, w := range n.WWPNs {
		if !slices.ContainsFunc(h.WWPNs, func(x string) bool { return strings.EqualFold(x, w) }) {
			return false
		}
	}
	return true
}

// nodeIDOf rebuilds the node ID for a host object the driver made, so
// ListVolumes can report where a volume is published. It returns "" for
// hosts whose name does not come from a node name.
func (s *Server) nodeIDOf(h array.Host) string {
	name, ok := strings.CutPrefix(h.Name, s.opts.HostnamePrefix)
	if !ok {
		return ""
	}
	n := volumeid.Node{Name: name}
	switch {
	case len(h.ISCSINames) > 0:
		n.IQN = h.ISCSINames[0]
	case len(h.WWPNs) > 0:
		for _, w := range h.WWPNs {
			n.WWPNs = append(n.WWPNs, strings.ToUpper(w))
		}
	}
	if n.Validate() != nil || s.hostName(n) != h.Name {
		return ""
	}
	return n.String()
}
