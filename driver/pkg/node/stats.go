package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func deviceName(dev string) string { return filepath.Base(dev) }

// NodeGetVolumeStats reports bytes and inodes of a filesystem volume, or
// the size of a block volume.
func (s *Server) NodeGetVolumeStats(ctx context.Context, req *csi.NodeGetVolumeStatsRequest) (*csi.NodeGetVolumeStatsResponse, error) {
	volID, path := req.GetVolumeId(), req.GetVolumePath()
	if volID == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID is required")
	}
	if path == "" {
		return nil, status.Error(codes.InvalidArgument, "volume path is required")
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, status.Errorf(codes.NotFound, "volume path %s does not exist", path)
	}
	if err != nil {
		return nil, status.Errorf(codes.Internal, "stat %s: %v", path, err)
	}
	rec, err := s.state.load(volID)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	if rec == nil {
		return nil, status.Errorf(codes.NotFound, "volume %s is not staged on this node", volID)
	}
	if !fi.IsDir() || rec.Block {
		a, err := s.connector.Find(rec.Volume)
		if err != nil || a.Device == "" {
			return nil, status.Errorf(codes.NotFound, "volume %s has no device on this node: %v", volID, err)
		}
		size, err := s.connector.Sys.SizeBytes(deviceName(a.Device))
		if err != nil {
			return nil, status.Errorf(codes.Internal, "size of %s: %v", a.Device, err)
		}
		return &csi.NodeGetVolumeStatsResponse{Usage: []*csi.VolumeUsage{{Unit: csi.VolumeUsage_BYTES, Total: size}}}, nil
	}
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return nil, status.Errorf(codes.Internal, "statfs %s: %v", path, err)
	}
	bs := int64(st.Bsize)
	return &csi.NodeGetVolumeStatsResponse{Usage: []*csi.VolumeUsage{
		{Unit: csi.VolumeUsage_BYTES, Total: int64(st.Blocks) * bs, Available: int64(st.Bavail) * bs, Used: int64(st.Blocks-st.Bfree) * bs},
		{Unit: csi.VolumeUsage_INODES, Total: int64(st.Files), Available: int64(st.Ffree), Used: int64(st.Files - st.Ffree)},
	}}, nil
}

// NodeGetVolumeHealth reports path loss: INACCESSIBLE with no path left,
// DEGRADED with fewer paths than were attached.
func (s *Server) NodeGetVolumeHealth(ctx context.Context, req *csi.NodeGetVolumeHealthRequest) (*csi.NodeGetVolumeHealthResponse, error) {
	volID := req.GetVolumeId()
	if volID == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID is required")
	}
	rec, err := s.state.load(volID)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	if rec == nil {
		return nil, status.Errorf(codes.NotFound, "volume %s is not staged on this node", volID)
	}
	h := &csi.VolumeHealth{VolumeId: volID}
	a, err := s.connector.Find(rec.Volume)
	want := len(rec.Volume.ISCSI) + len(rec.Volume.FC)
	switch {
	case err != nil || a.Device == "":
		h.HealthStatuses = append(h.HealthStatuses, &csi.VolumeHealth_VolumeHealthEntry{
			Status: csi.VolumeHealthErrorType_INACCESSIBLE, Reason: "NoPath", Message: fmt.Sprintf("no path carrying WWID %s: %v", rec.Volume.UID, err)})
	case rec.Volume.Link == "iscsi" && len(a.Paths) < want:
		h.HealthStatuses = append(h.HealthStatuses, &csi.VolumeHealth_VolumeHealthEntry{
			Status: csi.VolumeHealthErrorType_DEGRADED, Reason: "PathLoss", Message: fmt.Sprintf("%d of %d paths present", len(a.Paths), want)})
	}
	return &csi.NodeGetVolumeHealthResponse{VolumeHealth: h}, nil
}
