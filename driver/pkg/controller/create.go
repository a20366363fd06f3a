package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/volumeid"
)

// rollbackTimeout bounds cleanup after a failed step; cleanup runs even when
// the request's own deadline has passed, so nothing is left half-created.
const rollbackTimeout = 2 * time.Minute

// Volume context keys handed to the node service.
const (
	ctxStorage = "storage"
	ctxLevel   = "volLevel"
)

// cloneSource is the vdisk a new volume copies from (§6.3).
type cloneSource struct {
	vdisk    array.VDisk
	snapshot bool
}

// CreateVolume creates (or finds, when retried) the vdisk named after the
// request; see mcs-cli.md §6.2 and §6.3 for the commands.
func (s *Server) CreateVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume name is missing")
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	p, err := ParseVolumeParams(req.GetParameters())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if p.Storage, err = s.pickStorage(p.Storage, req.GetAccessibilityRequirements()); err != nil {
		return nil, err
	}
	a, err := s.array(p.Storage, codes.InvalidArgument)
	if err != nil {
		return nil, err
	}
	size, err := volumeSize(req.GetCapacityRange(), p.Level == levelActiveActive)
	if err != nil {
		return nil, err
	}
	name := volumeid.ObjectName("", req.GetName())
	done, err := s.admit(ctx, a, "vdisk "+a.Config.Name+"/"+name, "CreateVolume", opCreateVolume)
	if err != nil {
		return nil, err
	}
	defer done()

	var src *cloneSource
	if cs := req.GetVolumeContentSource(); cs != nil {
		// Hold the source so it is not deleted between our checks and mklcmap.
		key := "volume " + cs.GetVolume().GetVolumeId()
		if cs.GetSnapshot() != nil {
			key = "snapshot " + cs.GetSnapshot().GetSnapshotId()
		}
		endSrc, err := s.inflight.begin(key, "CreateVolume from "+key)
		if err != nil {
			return nil, err
		}
		defer endSrc()
		if p.Level == levelActiveActive {
			return nil, status.Error(codes.InvalidArgument, "active-active volumes cannot be created from a snapshot or volume (§6.3)")
		}
		if src, err = s.resolveSource(ctx, a, cs); err != nil {
			return nil, err
		}
		if !sizeFits(src.vdisk.Capacity, req.GetCapacityRange()) {
			return nil, status.Errorf(codes.OutOfRange, "the source is %d bytes; a copy is created at exactly that size, outside the requested range (expand it afterwards)", src.vdisk.Capacity)
		}
		size = src.vdisk.Capacity
	}

	rows, err := volumeRows(ctx, a.Client, name)
	if err != nil {
		return nil, err
	}
	created := false
	if _, exists := masterOf(rows, name); !exists {
		err := s.createVDisk(ctx, a, name, size, p)
		if array.IsNotFound(err) {
			// mkvdisk names no object but the pools and I/O groups we pass.
			return nil, status.Errorf(codes.InvalidArgument, "creating vdisk %s: a pool or I/O group of the StorageClass does not exist: %v", name, err)
		}
		if err != nil && !array.IsAlreadyExists(err) {
			return nil, toStatus(err, "creating vdisk "+name)
		}
		if err == nil {
			created = true
			klog.InfoS("Created vdisk", "storage", a.Config.Name, "vdisk", name, "bytes", size, "level", p.Level)
			if src != nil {
				if err := s.startClone(ctx, a, name, src); err != nil {
					return nil, err
				}
			}
		}
		// A concurrent creator (another controller replica) may have won the
		// name; the checks below decide whether it is the same volume.
		if rows, err = volumeRows(ctx, a.Client, name); err != nil {
			return nil, err
		}
	}
	master, ok := masterOf(rows, name)
	if !ok {
		return nil, status.Errorf(codes.Internal, "vdisk %s was created but is not listed", name)
	}
	if !created { // made by an earlier call (or a racing one): is it ours?
		if err := s.checkExisting(ctx, a, master, rows, p, size, src); err != nil {
			return nil, err
		}
	}
	return &csi.CreateVolumeResponse{Volume: &csi.Volume{
		VolumeId:           volumeid.Volume{Storage: a.Config.Name, UID: master.UID}.String(),
		CapacityBytes:      master.Capacity,
		VolumeContext:      map[string]string{ctxStorage: a.Config.Name, ctxLevel: p.Level},
		ContentSource:      req.GetVolumeContentSource(),
		AccessibleTopology: s.accessibleTopology(a.Config.Name),
	}}, nil
}

// createVDisk sends mkvdisk or mkvolume for the parameters (§6.2 table).
func (s *Server) createVDisk(ctx context.Context, a *Array, name string, size int64, p VolumeParams) error {
	if p.Level == levelActiveActive {
		args := array.MkVolumeArgs{
			Name: name, SizeBytes: size, Pool: p.Pool, AuxPool: p.AuxPool, IOGroup: p.IOGrp, AuxIOGroup: p.AuxIOGrp,
			Thin: p.Thin, Compressed: p.Compressed,
		}
		if p.Thin {
			args.BufferSizePct, args.WarningPct, args.AutoExpand, args.GrainSize = p.RSizePct, p.WarningPct, p.AutoExpand, p.GrainSize
		}
		_, err := a.Client.MkVolume(ctx, args)
		return err
	}
	args := array.MkVDiskArgs{
		Name: name, SizeBytes: size, Pool: p.Pool, IOGroup: p.IOGrp, InTier: p.InTier,
		Thin: p.Thin, Compressed: p.Compressed,
	}
	if p.Thin {
		args.RSizePct, args.ExplicitRSize = p.RSizePct, p.RSizeSet
		args.WarningPct, args.AutoExpand, args.GrainSize = p.WarningPct, p.AutoExpand, p.GrainSize
	}
	if p.Level == levelMirror {
		args.AuxPool = p.AuxPool
		args.AccessIOGrp = p.IOGrp
	}
	_, err := a.Client.MkVDisk(ctx, args)
	return err
}

// resolveSource finds the vdisk behind a content source; a missing source
// is NotFound as the CSI spec requires.
func (s *Server) resolveSource(ctx context.Context, a *Array, cs *csi.VolumeContentSource) (*cloneSource, error) {
	switch {
	case cs.GetVolume() != nil:
		id, err := volumeid.ParseVolume(cs.GetVolume().GetVolumeId())
		if err != nil {
			return nil, status.Errorf(codes.NotFound, "source volume: %v", err)
		}
		if id.Storage != a.Config.Name {
			return nil, status.Errorf(codes.InvalidArgument, "source volume is on storage %q, the new volume on %q", id.Storage, a.Config.Name)
		}
		v, err := mustVDisk(ctx, a.Client, id.UID, "source volume")
		if err != nil {
			return nil, err
		}
		if v.Function == fnMaster {
			return nil, status.Error(codes.InvalidArgument, "cloning an active-active volume is not supported (§6.3)")
		}
		if !isVolumeVDisk(v) {
			return nil, status.Errorf(codes.NotFound, "source volume: vdisk %s is not a volume", v.Name)
		}
		return &cloneSource{vdisk: v}, nil
	case cs.GetSnapshot() != nil:
		id, err := volumeid.ParseSnapshot(cs.GetSnapshot().GetSnapshotId())
		if err != nil {
			return nil, status.Errorf(codes.NotFound, "source snapshot: %v", err)
		}
		if id.Storage != a.Config.Name {
			return nil, status.Errorf(codes.InvalidArgument, "source snapshot is on storage %q, the new volume on %q", id.Storage, a.Config.Name)
		}
		v, err := mustVDisk(ctx, a.Client, id.UID, "source snapshot")
		if err != nil {
			return nil, err
		}
		maps, err := lcmapsOf(ctx, a.Client, "target_vdisk_name", v.Name)
		if err != nil {
			return nil, err
		}
		m, ok := snapshotMapOf(maps, v.Name)
		if !ok {
			return nil, status.Errorf(codes.NotFound, "source snapshot: vdisk %s is not a snapshot", v.Name)
		}
		if m.StartTime.IsZero() {
			return nil, status.Errorf(codes.Unavailable, "snapshot %s is not ready yet", v.Name)
		}
		return &cloneSource{vdisk: v, snapshot: true}, nil
	}
	return nil, status.Error(codes.InvalidArgument, "content source must be a volume or a snapshot")
}

// startClone maps source → target with a background copy (§6.3), and
// removes the target again if that fails.
func (s *Server) startClone(ctx context.Context, a *Array, target string, src *cloneSource) error {
	// No -autodelete (unlike §6.3): the finished map is what tells a retry
	// that the copy ran; dropFinishedCopies removes it when it is in the way.
	id, err := a.Client.MkLCMap(ctx, array.MkLCMapArgs{
		Source: src.vdisk.Name, Target: target, CopyRate: 100, CleanRate: 100,
	})
	if err != nil {
		s.rollback(a, "mklcmap failed", target, "")
		return toStatus(err, fmt.Sprintf("creating lcmap %s -> %s", src.vdisk.Name, target))
	}
	if err := a.Client.StartLCMap(ctx, id, true); err != nil {
		s.rollback(a, "startlcmap failed", target, id)
		return toStatus(err, "starting lcmap "+id)
	}
	klog.InfoS("Started clone copy", "storage", a.Config.Name, "source", src.vdisk.Name, "target", target, "lcmap", id)
	return nil
}

// rollbackAttempts retries a rollback step over transient transport
// failures; what still fails is found again by the CO's retry.
const rollbackAttempts = 3

// rollback removes what a failed create left: the vdisk, whose -force
// removal takes its lcmaps with it (§4.4). If it cannot, the retried
// request finds the vdisk and resumes (checkExisting, checkLeftoverSnapshot).
func (s *Server) rollback(a *Array, why, vdisk, lcmap string) {
	ctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
	defer cancel()
	if lcmap != "" {
		// Stop first so the vdisk is not removed under a running copy.
		if err := a.Client.StopLCMap(ctx, lcmap, true); err != nil && !array.IsNotFound(err) && !array.IsInvalidState(err) {
			klog.ErrorS(err, "Rollback: stopping lcmap", "storage", a.Config.Name, "lcmap", lcmap)
		}
	}
	var err error
	for i := 0; i < rollbackAttempts; i++ {
		if err = a.Client.RmVDisk(ctx, vdisk, true); err == nil || array.IsNotFound(err) {
			klog.InfoS("Rolled back", "storage", a.Config.Name, "vdisk", vdisk, "reason", why)
			return
		}
		if !array.IsTransport(err) {
			break
		}
	}
	klog.ErrorS(err, "Rollback: removing vdisk failed; a retry of the request will resume from it", "storage", a.Config.Name, "vdisk", vdisk, "reason", why)
}

// checkExisting decides whether an existing vdisk is the volume the request
// asks for (idempotent retry) or a different one (AlreadyExists).
func (s *Server) checkExisting(ctx context.Context, a *Array, master array.VDisk, rows []array.VDisk, p VolumeParams, size int64, src *cloneSource) error {
	var diffs []string
	if master.Capacity != size {
		diffs = append(diffs, fmt.Sprintf("size %d, requested %d", master.Capacity, size))
	}
	level := levelBasic
	switch {
	case master.Function == fnMaster || len(rows) == 4:
		level = levelActiveActive
	case master.CopyCount == 2:
		level = levelMirror
	}
	if level != p.Level {
		diffs = append(diffs, fmt.Sprintf("level %s, requested %s", level, p.Level))
	}
	if p.IOGrp != "" && p.IOGrp != master.IOGroupID && p.IOGrp != master.IOGroupName {
		diffs = append(diffs, fmt.Sprintf("I/O group %s, requested %s", master.IOGroupName, p.IOGrp))
	}
	if len(diffs) == 0 {
		d, err := a.Client.LsVDisk(ctx, master.Name)
		if err != nil {
			return toStatus(err, "reading vdisk "+master.Name)
		}
		if len(d.Copies) > 0 {
			c := d.Copies[0]
			if c.PoolName != p.Pool && c.PoolID != p.Pool {
				diffs = append(diffs, fmt.Sprintf("pool %s, requested %s", c.PoolName, p.Pool))
			}
			if c.Thin != p.Thin || c.Compressed != p.Compressed {
				diffs = append(diffs, fmt.Sprintf("thin=%t compressed=%t, requested thin=%t compressed=%t", c.Thin, c.Compressed, p.Thin, p.Compressed))
			}
		}
	}
	if len(diffs) == 0 {
		maps, err := lcmapsOf(ctx, a.Client, "target_vdisk_name", master.Name)
		if err != nil {
			return err
		}
		if src != nil && !slices.ContainsFunc(maps, func(m array.LCMap) bool { return !m.RCControlled }) {
			// The create before us stopped between mkvdisk and mklcmap (clone
			// maps are kept after the copy, so no map means no copy yet).
			return s.resumeClone(ctx, a, master, src)
		}
		for _, m := range maps {
			if m.RCControlled {
				continue
			}
			switch {
			case m.CopyRate == 0:
				diffs = append(diffs, "it is a snapshot")
			case src == nil:
				diffs = append(diffs, "it is a copy of "+m.SourceName+", requested an empty volume")
			case m.SourceName != src.vdisk.Name:
				diffs = append(diffs, "it is a copy of "+m.SourceName+", requested a copy of "+src.vdisk.Name)
			case m.StartTime.IsZero():
				// The create before us stopped between mklcmap and startlcmap.
				if err := a.Client.StartLCMap(ctx, m.ID, true); err != nil {
					return toStatus(err, "starting lcmap "+m.ID)
				}
			}
		}
	}
	if len(diffs) > 0 {
		return status.Errorf(codes.AlreadyExists, "vdisk %s already exists with different properties: %s", master.Name, strings.Join(diffs, "; "))
	}
	return nil
}

// resumeClone starts the copy into a target a failed create left behind,
// unless the target is already in use (mapped to a host): then it is not
// ours to overwrite.
func (s *Server) resumeClone(ctx context.Context, a *Array, target array.VDisk, src *cloneSource) error {
	hm, err := a.Client.LsVDiskHostMap(ctx, target.Name)
	if err != nil {
		return toStatus(err, "listing host maps of "+target.Name)
	}
	if len(hm) > 0 {
		return status.Errorf(codes.AlreadyExists, "vdisk %s exists, is mapped to host %s and is not a copy of %s", target.Name, hm[0].HostName, src.vdisk.Name)
	}
	klog.InfoS("Resuming interrupted clone", "storage", a.Config.Name, "target", target.Name, "source", src.vdisk.Name)
	return s.startClone(ctx, a, target.Name, src)
}
