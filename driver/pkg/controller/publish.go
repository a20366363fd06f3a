package controller

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host"
	"github.com/instorage-csi/instorage-csi/driver/pkg/volumeid"
)

const iscsiPort = "3260" // both clients hard-code it; lsportip has no port (§3.3)

// ControllerPublishVolume maps the vdisk to the node's host object (created
// on first use) and returns the paths the node logs in to (§6.7).
func (s *Server) ControllerPublishVolume(ctx context.Context, req *csi.ControllerPublishVolumeRequest) (*csi.ControllerPublishVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume id is missing")
	}
	if req.GetNodeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "node id is missing")
	}
	if err := checkCapability(req.GetVolumeCapability()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	id, err := volumeid.ParseVolume(req.GetVolumeId())
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	node, err := volumeid.ParseNode(req.GetNodeId())
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	if (s.opts.Link == host.LinkISCSI && len(node.WWPNs) > 0) || (s.opts.Link == host.LinkFC && node.IQN != "") {
		return nil, status.Errorf(codes.FailedPrecondition, "node %s reports %s ports but host.link is %s: controller and node configs disagree", node.Name, map[bool]string{true: "FC", false: "iSCSI"}[len(node.WWPNs) > 0], s.opts.Link)
	}
	chap := req.GetSecrets()[secretCHAPSecret]
	if chap != "" {
		if s.opts.Link != host.LinkISCSI {
			return nil, status.Errorf(codes.InvalidArgument, "controller-publish secret %s: CHAP is iSCSI-only and host.link is %s", secretCHAPSecret, s.opts.Link)
		}
		if !array.ValidCHAPSecret(chap) { // never echo the secret
			return nil, status.Errorf(codes.InvalidArgument, "controller-publish secret %s: must be %s", secretCHAPSecret, array.CHAPSecretRule)
		}
	}
	a, err := s.array(id.Storage, codes.NotFound)
	if err != nil {
		return nil, err
	}
	done, err := s.admit(ctx, a, "volume "+req.GetVolumeId(), "ControllerPublishVolume", opPublish)
	if err != nil {
		return nil, err
	}
	defer done()

	v, err := mustVDisk(ctx, a.Client, id.UID, "volume "+req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	if !isVolumeVDisk(v) {
		return nil, status.Errorf(codes.NotFound, "vdisk %s is not a volume", v.Name)
	}
	hostName := s.hostName(node)
	maps, err := s.mapToHost(ctx, a, v, node, hostName, req.GetVolumeCapability(), chap)
	if err != nil {
		return nil, err
	}
	luns := map[string]int{} // I/O group id → SCSI id (§3.7)
	for _, m := range maps {
		if m.HostName == hostName {
			luns[m.IOGroupID] = m.SCSIID
		}
	}
	if len(luns) == 0 {
		return nil, status.Errorf(codes.Internal, "vdisk %s was mapped to %s but the map is not listed", v.Name, hostName)
	}
	hv := host.Volume{Link: s.opts.Link, UID: strings.ToLower(v.UID)}
	if s.opts.Link == host.LinkFC {
		hv.FC, err = s.fcPaths(ctx, a, hostName, luns)
	} else {
		hv.ISCSI, err = s.iscsiPaths(ctx, a, node, luns)
	}
	if err != nil {
		return nil, err
	}
	if err := hv.Validate(); err != nil {
		return nil, status.Errorf(codes.Internal, "building publish context: %v", err)
	}
	return &csi.ControllerPublishVolumeResponse{PublishContext: publishContext(hv)}, nil
}

// mapToHost makes sure vdisk v is mapped to the node's host object and
// returns the vdisk's maps. It holds the host lock, so an unpublish cannot
// remove the host between its creation and the map. A non-empty chap is set
// as the host's CHAP secret before the vdisk is mapped to it.
func (s *Server) mapToHost(ctx context.Context, a *Array, v array.VDisk, node volumeid.Node, hostName string, c *csi.VolumeCapability, chap string) ([]array.HostMap, error) {
	unlock := s.hosts.lock(a.Config.Name + "/" + hostName)
	defer unlock()

	maps, err := a.Client.LsVDiskHostMap(ctx, v.Name)
	if err != nil {
		return nil, toStatus(err, "listing host maps of "+v.Name)
	}
	if singleNode(c) {
		for _, m := range maps {
			if m.HostName != hostName {
				return nil, status.Errorf(codes.FailedPrecondition, "volume %s is single-node and already published to host %s", v.Name, m.HostName)
			}
		}
	}
	mapped := slices.ContainsFunc(maps, func(m array.HostMap) bool { return m.HostName == hostName })
	if !mapped {
		site := ""
		if v.Function == fnMaster {
			if site, err = s.siteOf(ctx, a, v.IOGroupName); err != nil {
				return nil, err
			}
		}
		if _, err := s.ensureHost(ctx, a, node, site); err != nil {
			return nil, err
		}
	}
	if chap != "" {
		if err := s.ensureHostCHAP(ctx, a, hostName, chap); err != nil {
			return nil, err
		}
	}
	if !mapped {
		if _, err := a.Client.MkVDiskHostMap(ctx, hostName, v.Name); err != nil && !array.IsAlreadyExists(err) && !array.IsAlreadyMappedToHost(err) {
			return nil, toStatus(err, fmt.Sprintf("mapping %s to host %s", v.Name, hostName))
		}
		klog.InfoS("Mapped vdisk", "storage", a.Config.Name, "vdisk", v.Name, "host", hostName)
		if maps, err = a.Client.LsVDiskHostMap(ctx, v.Name); err != nil {
			return nil, toStatus(err, "listing host maps of "+v.Name)
		}
	}
	return maps, nil
}

// ensureHostCHAP sets secret as the host's CHAP secret unless it already is
// (lsiscsiauth, §4.3). The CHAP name is the host's IQN, which the node uses
// when its node-stage secret has no chapUser. A changed secret replaces the
// old one: sessions already logged in keep working, later logins use the new
// one, which is how a rotated Secret takes effect.
func (s *Server) ensureHostCHAP(ctx context.Context, a *Array, hostName, secret string) error {
	auths, err := a.Client.LsISCSIAuth(ctx)
	if err != nil {
		return toStatus(err, "reading the iSCSI authentication of host "+hostName)
	}
	for _, x := range auths {
		if x.Name == hostName && x.Method == "chap" && x.Secret == secret {
			return nil
		}
	}
	if err := a.Client.ChHostCHAPSecret(ctx, hostName, secret); err != nil {
		return toStatus(err, "setting the CHAP secret of host "+hostName)
	}
	klog.InfoS("Set host CHAP secret", "storage", a.Config.Name, "host", hostName)
	return nil
}

// siteOf is the site of an I/O group, for mkhost -site with active-active
// volumes (§6.7 step 2).
func (s *Server) siteOf(ctx context.Context, a *Array, iogrp string) (string, error) {
	groups, err := a.Client.LsIOGrp(ctx)
	if err != nil {
		return "", toStatus(err, "listing I/O groups")
	}
	for _, g := range groups {
		if g.Name == iogrp || g.ID == iogrp {
			return g.SiteName, nil
		}
	}
	return "", status.Errorf(codes.Internal, "I/O group %s of the volume is not listed", iogrp)
}

// iscsiPaths pairs every usable portal with its online node's IQN and the
// LUN of that node's I/O group (§6.7 step 4), restricted to the node's
// portalTable entry when one is configured. Nodes outside the volume's
// access set are left out: they would present no LUN.
func (s *Server) iscsiPaths(ctx context.Context, a *Array, n volumeid.Node, luns map[string]int) ([]host.ISCSIPath, error) {
	ports, err := a.Client.LsPortIP(ctx)
	if err != nil {
		return nil, toStatus(err, "listing iSCSI ports")
	}
	nodes, err := a.Client.LsNode(ctx)
	if err != nil {
		return nil, toStatus(err, "listing nodes")
	}
	allowed := a.Config.PortalTable.Table[n.Name]
	if len(allowed) == 0 {
		allowed = a.Config.PortalTable.Default
	}
	var paths []host.ISCSIPath
	seen := map[string]bool{}
	for _, p := range ports {
		if !p.HostPort {
			continue
		}
		ip := p.IPAddress
		if ip == "" {
			ip = p.IPAddress6
		}
		portal := net.JoinHostPort(ip, iscsiPort)
		if len(allowed) > 0 && !slices.Contains(allowed, ip) && !slices.Contains(allowed, portal) {
			continue
		}
		for _, nd := range nodes {
			lun, ok := luns[nd.IOGroupID]
			if nd.ID != p.NodeID || nd.Status != "online" || nd.ISCSIName == "" || !ok {
				continue
			}
			key := portal + "|" + nd.ISCSIName
			if seen[key] {
				continue
			}
			seen[key] = true
			paths = append(paths, host.ISCSIPath{Portal: portal, IQN: nd.ISCSIName, LUN: lun})
		}
	}
	if len(paths) == 0 {
		return nil, status.Errorf(codes.Unavailable, "no online iSCSI portal serves the volume's I/O groups (portalTable for %s: %v)", n.Name, allowed)
	}
	return paths, nil
}

// fcPaths lists target WWPNs the host is logged in to, else every active
// FC port (§6.7 step 4), each with the LUN of its node's I/O group.
func (s *Server) fcPaths(ctx context.Context, a *Array, hostName string, luns map[string]int) ([]host.FCPath, error) {
	nodes, err := a.Client.LsNode(ctx)
	if err != nil {
		return nil, toStatus(err, "listing nodes")
	}
	iogrpOf := map[string]string{}
	for _, nd := range nodes {
		if nd.Status == "online" {
			iogrpOf[nd.Name] = nd.IOGroupID
		}
	}
	var paths []host.FCPath
	seen := map[string]bool{}
	add := func(wwpn, nodeName string) {
		lun, ok := luns[iogrpOf[nodeName]]
		if wwpn == "" || !ok || seen[strings.ToUpper(wwpn)] {
			return
		}
		seen[strings.ToUpper(wwpn)] = true
		paths = append(paths, host.FCPath{WWPN: strings.ToUpper(wwpn), LUN: lun})
	}
	logins, err := a.Client.LsFabric(ctx, "", hostName)
	if err != nil && !array.IsNotFound(err) {
		return nil, toStatus(err, "listing fabric logins of "+hostName)
	}
	for _, f := range logins {
		add(f.LocalWWPN, f.NodeName)
	}
	if len(paths) == 0 {
		ports, err := a.Client.LsPortFC(ctx)
		if err != nil {
			return nil, toStatus(err, "listing FC ports")
		}
		for _, p := range ports {
			if p.Status == "active" && (p.Type == "" || p.Type == "fc") {
				add(p.WWPN, p.NodeName)
			}
		}
	}
	if len(paths) == 0 {
		return nil, status.Error(codes.Unavailable, "no active FC target port serves the volume's I/O groups")
	}
	return paths, nil
}

// ControllerUnpublishVolume removes the node's map and, when the host
// object was made by the driver and maps nothing else, the host (§6.8).
func (s *Server) ControllerUnpublishVolume(ctx context.Context, req *csi.ControllerUnpublishVolumeRequest) (*csi.ControllerUnpublishVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume id is missing")
	}
	id, err := volumeid.ParseVolume(req.GetVolumeId())
	if err != nil {
		// As in DeleteVolume: a foreign id may name a mapped vdisk.
		if err := s.refuseForeignVDisk(ctx, req.GetVolumeId()); err != nil {
			return nil, err
		}
		return &csi.ControllerUnpublishVolumeResponse{}, nil // never published
	}
	a, err := s.array(id.Storage, codes.FailedPrecondition)
	if err != nil {
		return nil, err
	}
	var nodes []volumeid.Node
	if req.GetNodeId() != "" {
		n, err := volumeid.ParseNode(req.GetNodeId())
		if err != nil {
			return &csi.ControllerUnpublishVolumeResponse{}, nil // no such node, so not published there
		}
		nodes = append(nodes, n)
	}
	done, err := s.admit(ctx, a, "volume "+req.GetVolumeId(), "ControllerUnpublishVolume", opUnpublish)
	if err != nil {
		return nil, err
	}
	defer done()

	v, ok, err := vdiskByUID(ctx, a.Client, id.UID)
	if err != nil {
		return nil, err
	}
	if !ok {
		// The volume went first (rmvdisk -force took its map): still drop the
		// node's host object if that left it empty.
		if len(nodes) == 1 && (nodes[0].IQN != "" || len(nodes[0].WWPNs) > 0) {
			if err := s.unmap(ctx, a, "", s.hostName(nodes[0]), nil, true); err != nil {
				return nil, err
			}
		}
		return &csi.ControllerUnpublishVolumeResponse{}, nil
	}
	maps, err := a.Client.LsVDiskHostMap(ctx, v.Name)
	if err != nil && !array.IsNotFound(err) {
		return nil, toStatus(err, "listing host maps of "+v.Name)
	}
	var hosts []string
	if len(nodes) == 0 { // no node id: unpublish from every node (CSI spec)
		for _, m := range maps {
			if !slices.Contains(hosts, m.HostName) {
				hosts = append(hosts, m.HostName)
			}
		}
	} else {
		hosts = []string{s.hostName(nodes[0])}
	}
	for _, h := range hosts {
		if err := s.unmap(ctx, a, v.Name, h, maps, len(nodes) == 0 || len(nodes[0].WWPNs)+len(nodes[0].IQN) > 0); err != nil {
			return nil, err
		}
	}
	return &csi.ControllerUnpublishVolumeResponse{}, nil
}

// unmap removes one vdisk→host map and then the host if the driver owns it
// and it maps nothing else. A concurrent publish to the same host is
// serialised by the host lock, so it never sees the host vanish under it.
func (s *Server) unmap(ctx context.Context, a *Array, vdisk, hostName string, maps []array.HostMap, ownsHost bool) error {
	unlock := s.hosts.lock(a.Config.Name + "/" + hostName)
	defer unlock()
	if slices.ContainsFunc(maps, func(m array.HostMap) bool { return m.HostName == hostName }) {
		if err := a.Client.RmVDiskHostMap(ctx, hostName, vdisk); err != nil && !array.IsNotFound(err) {
			return toStatus(err, fmt.Sprintf("unmapping %s from %s", vdisk, hostName))
		}
		klog.InfoS("Unmapped vdisk", "storage", a.Config.Name, "vdisk", vdisk, "host", hostName)
	}
	if !ownsHost {
		return nil
	}
	h, err := a.Client.LsHost(ctx, hostName)
	if err != nil {
		if array.IsNotFound(err) {
			return nil
		}
		return toStatus(err, "reading host "+hostName)
	}
	if s.nodeIDOf(h) == "" {
		return nil // not named after a node: an administrator's host, keep it
	}
	// Failures below fail the call, so the CO retries and the host is not
	// leaked; the unmap above is already done and is skipped next time.
	rest, err := a.Client.LsHostVDiskMap(ctx, hostName)
	if err != nil {
		return toStatus(err, "listing maps of host "+hostName)
	}
	if len(rest) > 0 {
		return nil
	}
	if err := a.Client.RmHost(ctx, hostName); err != nil && !array.IsNotFound(err) {
		if array.IsInUse(err) {
			return nil // a publish mapped something meanwhile (another controller)
		}
		return toStatus(err, "removing unused host "+hostName)
	}
	klog.InfoS("Removed unused host", "storage", a.Config.Name, "host", hostName)
	return nil
}
