package controller

import (
	"context"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/volumeid"
)

// DeleteVolume removes a volume's vdisk(s) with their host mappings
// (§6.6). A volume that still has snapshots, or is the source of a copy in
// progress, is refused with FailedPrecondition: deleting it would destroy
// the snapshots' data.
func (s *Server) DeleteVolume(ctx context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume id is missing")
	}
	id, err := volumeid.ParseVolume(req.GetVolumeId())
	if err != nil {
		klog.InfoS("DeleteVolume: malformed volume id, nothing to delete", "volumeID", req.GetVolumeId(), "err", err)
		return &csi.DeleteVolumeResponse{}, nil
	}
	// An unknown storage is a configuration problem, not a deleted volume:
	// keep the request failing so the vdisk is not leaked silently.
	a, err := s.array(id.Storage, codes.FailedPrecondition)
	if err != nil {
		return nil, err
	}
	end, err := s.inflight.begin("volume "+req.GetVolumeId(), "DeleteVolume")
	if err != nil {
		return nil, err
	}
	defer end()
	release, err := a.limits.acquire(ctx, opDeleteVolume)
	if err != nil {
		return nil, err
	}
	defer release()

	v, ok, err := vdiskByUID(ctx, a.Client, id.UID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return &csi.DeleteVolumeResponse{}, nil
	}
	if !isVolumeVDisk(v) {
		return nil, status.Errorf(codes.FailedPrecondition, "vdisk %s is the %s vdisk of volume %s, not a volume", v.Name, v.Function, v.VolumeName)
	}
	var sourceMaps []array.LCMap
	if v.LCMapCount > 0 { // lc_map_count saves two queries for most volumes
		targetMaps, err := lcmapsOf(ctx, a.Client, "target_vdisk_name", v.Name)
		if err != nil {
			return nil, err
		}
		if _, isSnap := snapshotMapOf(targetMaps, v.Name); isSnap {
			return nil, status.Errorf(codes.FailedPrecondition, "vdisk %s is a snapshot; delete it with DeleteSnapshot", v.Name)
		}
		if sourceMaps, err = lcmapsOf(ctx, a.Client, "source_vdisk_name", v.Name); err != nil {
			return nil, err
		}
		if sourceMaps, err = dropFinishedCopies(ctx, a, sourceMaps); err != nil {
			return nil, err
		}
	}
	for _, m := range sourceMaps {
		if m.RCControlled {
			continue // active-active change-volume maps go with rmvolume
		}
		if m.CopyRate == 0 {
			return nil, status.Errorf(codes.FailedPrecondition, "volume %s has snapshots (snapshot vdisk %s); delete them first", v.Name, m.TargetName)
		}
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is being copied to %s (lcmap %s, %d%%); retry when the copy finishes", v.Name, m.TargetName, m.ID, m.Progress)
	}

	if v.Function == fnMaster {
		err = a.Client.RmVolume(ctx, v.Name)
	} else {
		// -force also removes host mappings and a clone's unfinished map (§4.4).
		err = a.Client.RmVDisk(ctx, v.Name, true)
	}
	if err != nil && !array.IsNotFound(err) {
		return nil, toStatus(err, "removing vdisk "+v.Name)
	}
	klog.InfoS("Deleted volume", "storage", a.Config.Name, "vdisk", v.Name, "uid", v.UID)
	return &csi.DeleteVolumeResponse{}, nil
}
