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
		// Not an id this driver issued, so no volume of ours — unless it
		// names an existing vdisk, as the vendor plugin's ids do: answering
		// OK would let Kubernetes drop the PV and orphan the vdisk.
		if err := s.refuseForeignVDisk(ctx, req.GetVolumeId()); err != nil {
			return nil, err
		}
		klog.InfoS("DeleteVolume: volume id not issued by this driver and naming no vdisk; nothing to delete", "volumeID", req.GetVolumeId())
		return &csi.DeleteVolumeResponse{}, nil
	}
	// An unknown storage is a configuration problem, not a deleted volume:
	// keep the request failing so the vdisk is not leaked silently.
	a, err := s.array(id.Storage, codes.FailedPrecondition)
	if err != nil {
		return nil, err
	}
	done, err := s.admit(ctx, a, "volume "+req.GetVolumeId(), "DeleteVolume", opDeleteVolume)
	if err != nil {
		return nil, err
	}
	defer done()

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

// refuseForeignVDisk fails when id, which this driver did not issue, is the
// name of a vdisk on a configured array (the vendor plugin named volumes
// by their vdisk, mcs-cli.md §6.8): such a volume must be migrated, not
// forgotten (docs/migrating.md).
func (s *Server) refuseForeignVDisk(ctx context.Context, id string) error {
	for _, name := range s.configOrder {
		rows, err := s.arrays[name].Client.LsVDisks(ctx, &array.Filter{Attr: "name", Value: id})
		switch {
		case array.IsInvalidArgument(err):
			return nil // not a name the array could hold
		case err != nil:
			return status.Errorf(codes.Unavailable, "checking whether %q names a vdisk on %s: %v", id, name, err)
		case len(rows) > 0:
			return status.Errorf(codes.FailedPrecondition,
				"volume id %q was not issued by this driver but names vdisk %s on storage %s; migrate it (docs/migrating.md) instead of deleting",
				id, rows[0].Name, name)
		}
	}
	return nil
}
