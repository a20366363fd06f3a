package node

import (
	"fmt"
	"slices"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// supportedFS are the filesystems the node formats and grows.
var supportedFS = []string{"ext4", "xfs"}

// volumeCap is a validated capability.
type volumeCap struct {
	block      bool
	fsType     string
	mountFlags []string
	readOnly   bool // the access mode only allows reading
	mode       csi.VolumeCapability_AccessMode_Mode
}

func checkCapability(c *csi.VolumeCapability) (volumeCap, error) {
	if c == nil {
		return volumeCap{}, status.Error(codes.InvalidArgument, "volume capability is required")
	}
	var vc volumeCap
	switch at := c.GetAccessType().(type) {
	case *csi.VolumeCapability_Block:
		vc.block = true
	case *csi.VolumeCapability_Mount:
		vc.fsType = at.Mount.GetFsType()
		if vc.fsType == "" {
			vc.fsType = "ext4"
		}
		if !slices.Contains(supportedFS, vc.fsType) {
			return vc, status.Errorf(codes.InvalidArgument, "fsType %q not supported (want one of %v)", vc.fsType, supportedFS)
		}
		vc.mountFlags = at.Mount.GetMountFlags()
	default:
		return vc, status.Error(codes.InvalidArgument, "volume capability needs an access type (block or mount)")
	}
	vc.mode = c.GetAccessMode().GetMode()
	switch m := vc.mode; m {
	case csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER,
		csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER,
		csi.VolumeCapability_AccessMode_SINGLE_NODE_MULTI_WRITER:
	case csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY,
		csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY:
		vc.readOnly = true
	case csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER:
		// Shared block is safe (the application coordinates); a shared ext4/xfs is corrupted.
		if !vc.block {
			return vc, status.Error(codes.InvalidArgument, "MULTI_NODE_MULTI_WRITER is only supported for block volumes")
		}
	default:
		return vc, status.Error(codes.InvalidArgument, fmt.Sprintf("access mode %v not supported", m))
	}
	return vc, nil
}
