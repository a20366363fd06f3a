package controller

import (
	"context"
	"fmt"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/instorage-csi/instorage-csi/driver/pkg/volumeid"
)

// supportedFsTypes are filesystems the node service can create and grow.
var supportedFsTypes = map[string]bool{"": true, "ext4": true, "ext3": true, "xfs": true}

// checkCapability enforces the access modes a SAN LUN can honour: RWO and
// ROX for filesystems (a local filesystem on two writers corrupts), and
// RWO, ROX and RWX for raw block, where the application coordinates.
func checkCapability(c *csi.VolumeCapability) error {
	if c == nil {
		return fmt.Errorf("volume capability is missing")
	}
	mode := c.GetAccessMode().GetMode()
	switch {
	case c.GetBlock() != nil:
		switch mode {
		case csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER,
			csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY,
			csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY,
			csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER:
			return nil
		}
	case c.GetMount() != nil:
		if fs := c.GetMount().GetFsType(); !supportedFsTypes[fs] {
			return fmt.Errorf("filesystem %q is not supported (ext4, ext3, xfs)", fs)
		}
		switch mode {
		case csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER,
			csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY,
			csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY:
			return nil
		}
	default:
		return fmt.Errorf("volume capability needs an access type (block or mount)")
	}
	return fmt.Errorf("access mode %v is not supported for %s volumes", mode, accessTypeName(c))
}

func accessTypeName(c *csi.VolumeCapability) string {
	if c.GetBlock() != nil {
		return "block"
	}
	return "filesystem"
}

func checkCapabilities(caps []*csi.VolumeCapability) error {
	if len(caps) == 0 {
		return fmt.Errorf("volume capabilities are missing")
	}
	for _, c := range caps {
		if err := checkCapability(c); err != nil {
			return err
		}
	}
	return nil
}

// singleNode reports whether mode allows one node at a time.
func singleNode(c *csi.VolumeCapability) bool {
	switch c.GetAccessMode().GetMode() {
	case csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY, csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER:
		return false
	}
	return true
}

// ValidateVolumeCapabilities confirms the capabilities when the volume
// exists and every capability is supported.
func (s *Server) ValidateVolumeCapabilities(ctx context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume id is missing")
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "volume capabilities are missing")
	}
	id, err := volumeid.ParseVolume(req.GetVolumeId())
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	a, err := s.array(id.Storage, codes.NotFound)
	if err != nil {
		return nil, err
	}
	if _, err := mustVDisk(ctx, a.Client, id.UID, "volume "+req.GetVolumeId()); err != nil {
		return nil, err
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: err.Error()}, nil
	}
	if _, err := ParseVolumeParams(req.GetParameters()); len(req.GetParameters()) > 0 && err != nil {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: err.Error()}, nil
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext:      req.GetVolumeContext(),
		VolumeCapabilities: req.GetVolumeCapabilities(),
		Parameters:         req.GetParameters(),
	}}, nil
}
