package node

import (
	"context"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"
	mount "k8s.io/mount-utils"
)

// NodeExpandVolume makes the node see the array's new size (rescan every
// path, multipathd resize) and grows the filesystem (resize2fs/xfs_growfs
// through mount-utils) while it stays mounted.
func (s *Server) NodeExpandVolume(ctx context.Context, req *csi.NodeExpandVolumeRequest) (*csi.NodeExpandVolumeResponse, error) {
	volID, path := req.GetVolumeId(), req.GetVolumePath()
	if volID == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID is required")
	}
	if path == "" {
		return nil, status.Error(codes.InvalidArgument, "volume path is required")
	}
	if c := req.GetVolumeCapability(); c != nil {
		if _, err := checkCapability(c); err != nil {
			return nil, err
		}
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
		return nil, status.Errorf(codes.NotFound, "volume %s is not staged on this node", volID)
	}
	unlock, err := s.hostLock(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.connector.Resize(ctx, rec.Volume)
	unlock()
	if err != nil {
		return nil, hostError("resize "+volID, err)
	}
	size, err := s.connector.Sys.SizeBytes(deviceName(a.Device))
	if err != nil {
		return nil, status.Errorf(codes.Internal, "size of %s: %v", a.Device, err)
	}
	if rb := req.GetCapacityRange().GetRequiredBytes(); rb > 0 && size < rb {
		return nil, status.Errorf(codes.Unavailable, "device %s is %d bytes after rescan, %d requested: the array has not grown it yet", a.Device, size, rb)
	}
	if !rec.Block {
		// Grow through the staging mount; publish paths share the filesystem.
		if _, err := mount.NewResizeFs(s.exec).Resize(a.Device, rec.StagingPath); err != nil {
			return nil, status.Errorf(codes.Internal, "grow filesystem on %s: %v", a.Device, err)
		}
	}
	klog.InfoS("Volume expanded on node", "volumeID", volID, "device", a.Device, "bytes", size)
	return &csi.NodeExpandVolumeResponse{CapacityBytes: size}, nil
}
