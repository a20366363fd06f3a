package node

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"
	mount "k8s.io/mount-utils"
)

// NodePublishVolume bind-mounts the staged filesystem, or the device node
// of a block volume, at the target path.
func (s *Server) NodePublishVolume(ctx context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	volID, staging, target := req.GetVolumeId(), req.GetStagingTargetPath(), req.GetTargetPath()
	switch {
	case volID == "":
		return nil, status.Error(codes.InvalidArgument, "volume ID is required")
	case staging == "":
		return nil, status.Error(codes.InvalidArgument, "staging target path is required")
	case target == "":
		return nil, status.Error(codes.InvalidArgument, "target path is required")
	}
	vc, err := checkCapability(req.GetVolumeCapability())
	if err != nil {
		return nil, err
	}
	done, err := s.begin(volID)
	if err != nil {
		return nil, err
	}
	defer done()
	rec, err := s.state.load(volID)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	if rec == nil || rec.Phase != phaseStaged {
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is not staged on this node", volID)
	}
	if rec.StagingPath != staging {
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is staged at %s, not %s", volID, rec.StagingPath, staging)
	}
	if rec.Block != vc.block {
		return nil, status.Errorf(codes.InvalidArgument, "volume %s was staged as %s", volID, map[bool]string{true: "block", false: "filesystem"}[rec.Block])
	}
	if err := s.checkSingleWriter(rec, target, vc.mode); err != nil {
		return nil, err
	}
	opts := []string{"bind"}
	if req.GetReadonly() || vc.readOnly {
		opts = append(opts, "ro")
	}
	source := staging
	if vc.block {
		a, err := s.connector.Find(rec.Volume)
		if err != nil {
			return nil, hostError("find "+volID, err)
		}
		if a.Device == "" {
			return nil, status.Errorf(codes.NotFound, "volume %s has no device on this node", volID)
		}
		source = a.Device
		if err := makeFile(target); err != nil {
			return nil, status.Errorf(codes.Internal, "create target %s: %v", target, err)
		}
	} else {
		opts = append(opts, vc.mountFlags...)
		if err := os.MkdirAll(target, 0o750); err != nil {
			return nil, status.Errorf(codes.Internal, "create target %s: %v", target, err)
		}
	}
	notMnt, err := s.mounter.IsLikelyNotMountPoint(target)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "check target %s: %v", target, err)
	}
	if !notMnt {
		return s.checkExistingPublish(target, source, slices.Contains(opts, "ro"))
	}
	if err := s.mounter.Mount(source, target, "", opts); err != nil {
		return nil, status.Errorf(codes.Internal, "bind %s at %s: %v", source, target, err)
	}
	if rec.Published == nil {
		rec.Published = map[string]string{}
	}
	rec.Published[target] = vc.mode.String()
	if err := s.state.save(rec); err != nil {
		return nil, status.Errorf(codes.Internal, "save stage record: %v", err)
	}
	klog.InfoS("Volume published", "volumeID", volID, "target", target, "block", vc.block, "readOnly", slices.Contains(opts, "ro"))
	return &csi.NodePublishVolumeResponse{}, nil
}

// checkExistingPublish answers a repeated publish: same read-only-ness is
// success, a different one is AlreadyExists (CSI NodePublishVolume errors).
func (s *Server) checkExistingPublish(target, source string, ro bool) (*csi.NodePublishVolumeResponse, error) {
	mps, err := s.mounter.List()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "list mounts: %v", err)
	}
	for _, mp := range mps {
		if mp.Path == target {
			if slices.Contains(mp.Opts, "ro") != ro {
				return nil, status.Errorf(codes.AlreadyExists, "%s is already published with another read-only setting", target)
			}
			break
		}
	}
	return &csi.NodePublishVolumeResponse{}, nil
}

// checkSingleWriter refuses a second target while either side asks for
// SINGLE_NODE_SINGLE_WRITER; targets no longer mounted are forgotten.
func (s *Server) checkSingleWriter(rec *stageRecord, target string, mode csi.VolumeCapability_AccessMode_Mode) error {
	const snsw = csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER
	for other, m := range rec.Published {
		if other == target {
			continue
		}
		if notMnt, err := s.mounter.IsLikelyNotMountPoint(other); err != nil || notMnt {
			delete(rec.Published, other)
			continue
		}
		if mode == snsw || m == snsw.String() {
			return status.Errorf(codes.FailedPrecondition, "volume %s is already published at %s with single-writer access", rec.VolumeID, other)
		}
	}
	return nil
}

func makeFile(p string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDONLY, 0o640)
	if err != nil {
		return err
	}
	return f.Close()
}

// NodeUnpublishVolume unmounts and removes the target path; a missing
// target is success.
func (s *Server) NodeUnpublishVolume(ctx context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	volID, target := req.GetVolumeId(), req.GetTargetPath()
	if volID == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID is required")
	}
	if target == "" {
		return nil, status.Error(codes.InvalidArgument, "target path is required")
	}
	done, err := s.begin(volID)
	if err != nil {
		return nil, err
	}
	defer done()
	if _, err := os.Lstat(target); errors.Is(err, fs.ErrNotExist) {
		return &csi.NodeUnpublishVolumeResponse{}, nil
	}
	if err := mount.CleanupMountPoint(target, s.mounter, true); err != nil {
		return nil, status.Errorf(codes.Internal, "unmount %s: %v", target, err)
	}
	if rec, err := s.state.load(volID); err == nil && rec != nil && rec.Published != nil {
		delete(rec.Published, target)
		if err := s.state.save(rec); err != nil {
			return nil, status.Errorf(codes.Internal, "save stage record: %v", err)
		}
	}
	klog.InfoS("Volume unpublished", "volumeID", volID, "target", target)
	return &csi.NodeUnpublishVolumeResponse{}, nil
}
