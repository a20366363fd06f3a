package controller

import (
	"context"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/volumeid"
)

// CreateSnapshot makes a thin vdisk and a copy-rate-0 lcmap from the source,
// started with -prep (§6.4): a point-in-time image that costs only the
// blocks the source later overwrites.
func (s *Server) CreateSnapshot(ctx context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "snapshot name is missing")
	}
	if req.GetSourceVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "source volume id is missing")
	}
	if len(req.GetParameters()) > 0 {
		for k := range req.GetParameters() {
			if len(k) < len(snapshotterParamPrefix) || k[:len(snapshotterParamPrefix)] != snapshotterParamPrefix {
				return nil, status.Errorf(codes.InvalidArgument, "snapshot parameter %q is not supported", k)
			}
		}
	}
	sid, err := volumeid.ParseVolume(req.GetSourceVolumeId())
	if err != nil {
		return nil, status.Errorf(codes.NotFound, "source volume: %v", err)
	}
	a, err := s.array(sid.Storage, codes.NotFound)
	if err != nil {
		return nil, err
	}
	name := volumeid.ObjectName("", req.GetName())
	end, err := s.inflight.begin("vdisk "+a.Config.Name+"/"+name, "CreateSnapshot")
	if err != nil {
		return nil, err
	}
	defer end()
	// Hold the source too: a DeleteVolume between our check and mklcmap
	// would take the new snapshot's map with it (rmvdisk -force).
	endSrc, err := s.inflight.begin("volume "+req.GetSourceVolumeId(), "CreateSnapshot")
	if err != nil {
		return nil, err
	}
	defer endSrc()
	release, err := a.limits.acquire(ctx, opCreateSnapshot)
	if err != nil {
		return nil, err
	}
	defer release()

	src, err := mustVDisk(ctx, a.Client, sid.UID, "source volume")
	if err != nil {
		return nil, err
	}
	if src.Function == fnMaster {
		return nil, status.Error(codes.FailedPrecondition, "snapshots of active-active volumes are not supported (§6.4)")
	}
	if !isVolumeVDisk(src) {
		return nil, status.Errorf(codes.NotFound, "source volume: vdisk %s is not a volume", src.Name)
	}

	maps, err := lcmapsOf(ctx, a.Client, "target_vdisk_name", name)
	if err != nil {
		return nil, err
	}
	m, exists := snapshotMapOf(maps, name)
	if exists && m.SourceName != src.Name {
		return nil, status.Errorf(codes.AlreadyExists, "snapshot %s already exists for another volume (%s)", req.GetName(), m.SourceName)
	}
	if !exists {
		if err := s.makeSnapshot(ctx, a, name, src); err != nil {
			return nil, err
		}
	} else if m.StartTime.IsZero() {
		if err := a.Client.StartLCMap(ctx, m.ID, true); err != nil {
			return nil, toStatus(err, "starting lcmap "+m.ID)
		}
	}
	snap, err := s.readSnapshot(ctx, a, name)
	if err != nil {
		return nil, err
	}
	snap.SourceVolumeId = req.GetSourceVolumeId()
	return &csi.CreateSnapshotResponse{Snapshot: snap}, nil
}

// snapshotterParamPrefix marks parameters the external-snapshotter adds.
const snapshotterParamPrefix = "csi.storage.k8s.io/"

// makeSnapshot creates the snapshot vdisk and its started lcmap, or nothing.
func (s *Server) makeSnapshot(ctx context.Context, a *Array, name string, src array.VDisk) error {
	rows, err := volumeRows(ctx, a.Client, name)
	if err != nil {
		return err
	}
	if _, taken := masterOf(rows, name); taken {
		// Reuse only an empty, unmapped vdisk of the right size: what a create
		// interrupted between mkvdisk and mklcmap leaves. Anything else may
		// hold someone's data.
		if err := s.checkLeftoverSnapshot(ctx, a, name, src); err != nil {
			return err
		}
	} else {
		d, err := a.Client.LsVDisk(ctx, src.Name)
		if err != nil {
			return toStatus(err, "reading source vdisk "+src.Name)
		}
		pool := src.PoolID
		if len(d.Copies) > 0 {
			pool = d.Copies[0].PoolID // mirror sources report "many" (§4.2)
		}
		_, err = a.Client.MkVDisk(ctx, array.MkVDiskArgs{
			Name: name, SizeBytes: src.Capacity, Pool: pool, IOGroup: src.IOGroupName,
			Thin: true, RSizePct: 0, ExplicitRSize: true, AutoExpand: true, InTier: true,
		})
		if err != nil {
			return toStatus(err, "creating snapshot vdisk "+name)
		}
	}
	id, err := a.Client.MkLCMap(ctx, array.MkLCMapArgs{Source: src.Name, Target: name, CopyRate: 0, CleanRate: 0})
	if err != nil {
		s.rollback(a, "mklcmap failed", name, "")
		return toStatus(err, "creating snapshot lcmap "+src.Name+" -> "+name)
	}
	if err := a.Client.StartLCMap(ctx, id, true); err != nil {
		s.rollback(a, "startlcmap failed", name, id)
		return toStatus(err, "starting snapshot lcmap "+id)
	}
	klog.InfoS("Created snapshot", "storage", a.Config.Name, "source", src.Name, "snapshot", name, "lcmap", id)
	return nil
}

func (s *Server) checkLeftoverSnapshot(ctx context.Context, a *Array, name string, src array.VDisk) error {
	d, err := a.Client.LsVDisk(ctx, name)
	if err != nil {
		return toStatus(err, "reading vdisk "+name)
	}
	maps, err := a.Client.LsVDiskHostMap(ctx, name)
	if err != nil && !array.IsNotFound(err) {
		return toStatus(err, "listing host maps of "+name)
	}
	empty := d.Capacity == src.Capacity && d.LCMapCount == 0 && len(maps) == 0 && len(d.Copies) == 1 &&
		d.Copies[0].Thin && d.Copies[0].UsedCapacity == 0
	if !empty {
		return status.Errorf(codes.AlreadyExists, "vdisk %s exists and is not a snapshot of %s", name, src.Name)
	}
	klog.InfoS("Reusing empty snapshot vdisk left by an interrupted create", "storage", a.Config.Name, "vdisk", name)
	return nil
}

// readSnapshot reports the snapshot vdisk name as CSI sees it.
func (s *Server) readSnapshot(ctx context.Context, a *Array, name string) (*csi.Snapshot, error) {
	rows, err := volumeRows(ctx, a.Client, name)
	if err != nil {
		return nil, err
	}
	v, ok := masterOf(rows, name)
	if !ok {
		return nil, status.Errorf(codes.Internal, "snapshot vdisk %s vanished", name)
	}
	maps, err := lcmapsOf(ctx, a.Client, "target_vdisk_name", name)
	if err != nil {
		return nil, err
	}
	m, ok := snapshotMapOf(maps, name)
	if !ok {
		return nil, status.Errorf(codes.Internal, "snapshot lcmap of %s vanished", name)
	}
	return snapshotOf(a, v, m, ""), nil
}

// snapshotOf builds the CSI view of a snapshot vdisk and its map.
func snapshotOf(a *Array, v array.VDisk, m array.LCMap, sourceUID string) *csi.Snapshot {
	created := m.StartTime
	if created.IsZero() {
		created = time.Now()
	}
	snap := &csi.Snapshot{
		SnapshotId:   volumeid.Snapshot{Storage: a.Config.Name, UID: v.UID}.String(),
		SizeBytes:    v.Capacity,
		CreationTime: timestamppb.New(created),
		ReadyToUse:   !m.StartTime.IsZero(),
	}
	if sourceUID != "" {
		snap.SourceVolumeId = volumeid.Volume{Storage: a.Config.Name, UID: sourceUID}.String()
	}
	return snap
}

// DeleteSnapshot removes the snapshot vdisk and its lcmap (§6.5). A
// snapshot still being copied into new volumes is refused until they finish.
func (s *Server) DeleteSnapshot(ctx context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	if req.GetSnapshotId() == "" {
		return nil, status.Error(codes.InvalidArgument, "snapshot id is missing")
	}
	id, err := volumeid.ParseSnapshot(req.GetSnapshotId())
	if err != nil {
		klog.InfoS("DeleteSnapshot: malformed snapshot id, nothing to delete", "snapshotID", req.GetSnapshotId(), "err", err)
		return &csi.DeleteSnapshotResponse{}, nil
	}
	a, err := s.array(id.Storage, codes.FailedPrecondition)
	if err != nil {
		return nil, err
	}
	done, err := s.admit(ctx, a, "snapshot "+req.GetSnapshotId(), "DeleteSnapshot", opDeleteSnapshot)
	if err != nil {
		return nil, err
	}
	defer done()

	v, ok, err := vdiskByUID(ctx, a.Client, id.UID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return &csi.DeleteSnapshotResponse{}, nil
	}
	maps, err := lcmapsOf(ctx, a.Client, "target_vdisk_name", v.Name)
	if err != nil {
		return nil, err
	}
	m, isSnap := snapshotMapOf(maps, v.Name)
	if !isSnap {
		return nil, status.Errorf(codes.FailedPrecondition, "vdisk %s is not a snapshot; refusing to delete it", v.Name)
	}
	dependents, err := lcmapsOf(ctx, a.Client, "source_vdisk_name", v.Name)
	if err != nil {
		return nil, err
	}
	if dependents, err = dropFinishedCopies(ctx, a, dependents); err != nil {
		return nil, err
	}
	if len(dependents) > 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "snapshot %s is being copied to %s; retry when the copy finishes", v.Name, dependents[0].TargetName)
	}
	if err := a.Client.StopLCMap(ctx, m.ID, true); err != nil && !array.IsNotFound(err) && !array.IsInvalidState(err) {
		return nil, toStatus(err, "stopping lcmap "+m.ID)
	}
	// One command removes the vdisk and its map together (rmvdisk -force
	// cascades, §4.4), so no retry can find a vdisk without its map.
	if err := a.Client.RmVDisk(ctx, v.Name, true); err != nil && !array.IsNotFound(err) {
		return nil, toStatus(err, "removing snapshot vdisk "+v.Name)
	}
	klog.InfoS("Deleted snapshot", "storage", a.Config.Name, "vdisk", v.Name, "uid", v.UID)
	return &csi.DeleteSnapshotResponse{}, nil
}
