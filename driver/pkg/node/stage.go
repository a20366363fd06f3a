package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"
	mount "k8s.io/mount-utils"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/iscsi"
	"github.com/instorage-csi/instorage-csi/driver/pkg/volumeid"
)

// NodeStageVolume attaches the vdisk (login, targeted scan, WWID check,
// multipath) and, for filesystem volumes, formats it if empty and mounts
// it at the staging path. The stage record is written before any host
// change so teardown never depends on memory.
func (s *Server) NodeStageVolume(ctx context.Context, req *csi.NodeStageVolumeRequest) (*csi.NodeStageVolumeResponse, error) {
	volID, staging := req.GetVolumeId(), req.GetStagingTargetPath()
	if volID == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID is required")
	}
	if staging == "" {
		return nil, status.Error(codes.InvalidArgument, "staging target path is required")
	}
	vc, err := checkCapability(req.GetVolumeCapability())
	if err != nil {
		return nil, err
	}
	if _, err := volumeid.ParseVolume(volID); err != nil {
		return nil, status.Errorf(codes.NotFound, "volume %q: %v", volID, err)
	}
	v, err := volumeFrom(volID, req.GetPublishContext())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "volume %s: %v", volID, err)
	}
	chap, err := chapFrom(req.GetPublishContext(), req.GetSecrets())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "volume %s: %v", volID, err)
	}
	if chap != nil && chap.User == "" {
		if chap.User, err = iscsi.ReadInitiatorName(s.opts.InitiatorNameFile); err != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "volume %s: CHAP user defaults to the initiator name: %v", volID, err)
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
	if rec != nil && rec.Phase == phaseStaged {
		if rec.StagingPath != staging {
			return nil, status.Errorf(codes.FailedPrecondition, "volume %s is already staged at %s", volID, rec.StagingPath)
		}
		if rec.Block != vc.block || (!vc.block && rec.FSType != vc.fsType) {
			return nil, status.Errorf(codes.AlreadyExists, "volume %s is staged with another capability", volID)
		}
		if ok, err := s.stagedOK(rec); err != nil || ok {
			if err != nil {
				if _, isStatus := status.FromError(err); isStatus {
					return nil, err
				}
				return nil, status.Errorf(codes.Internal, "%v", err)
			}
			klog.V(4).InfoS("Volume already staged", "volumeID", volID, "stagingPath", staging)
			return &csi.NodeStageVolumeResponse{}, nil
		}
	}
	rec = &stageRecord{VolumeID: volID, StagingPath: staging, Block: vc.block, FSType: vc.fsType, Volume: v, Phase: phaseAttaching}
	if err := s.state.save(rec); err != nil {
		return nil, status.Errorf(codes.Internal, "save stage record: %v", err)
	}

	unlock, err := s.hostLock(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.connector.Attach(ctx, v, chap)
	unlock()
	if err != nil {
		s.rollback(rec)
		return nil, hostError("attach "+volID, err)
	}
	klog.InfoS("Volume attached", "volumeID", volID, "device", a.Device, "paths", a.Paths, "multipath", a.Multipath)

	if !vc.block {
		if err := s.mountStaging(a.Device, staging, vc); err != nil {
			s.rollback(rec)
			return nil, err
		}
	}
	rec.Phase = phaseStaged
	if err := s.state.save(rec); err != nil {
		return nil, status.Errorf(codes.Internal, "save stage record: %v", err)
	}
	return &csi.NodeStageVolumeResponse{}, nil
}

// stagedOK reports whether a staged record is still true on the host.
func (s *Server) stagedOK(rec *stageRecord) (bool, error) {
	a, err := s.connector.Find(rec.Volume)
	if err != nil || a.Device == "" {
		return false, err
	}
	if rec.Block {
		return true, nil
	}
	notMnt, err := s.mounter.IsLikelyNotMountPoint(rec.StagingPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if err != nil || notMnt {
		return false, nil
	}
	// The staging mount must come from this volume's device, never another.
	mps, err := s.mounter.List()
	if err != nil {
		return false, err
	}
	for _, mp := range mps {
		if mp.Path == rec.StagingPath && !sameDevice(mp.Device, a.Device) {
			return false, status.Errorf(codes.FailedPrecondition, "staging path %s is mounted from %s, not from volume %s's device %s", rec.StagingPath, mp.Device, rec.VolumeID, a.Device)
		}
	}
	return true, nil
}

// sameDevice compares two device paths by device number (so /dev/mapper/x
// and /dev/dm-3 match), or by resolved path where they are not device nodes.
func sameDevice(a, b string) bool {
	var sa, sb unix.Stat_t
	if unix.Stat(a, &sa) == nil && unix.Stat(b, &sb) == nil && sa.Mode&unix.S_IFMT == unix.S_IFBLK && sb.Mode&unix.S_IFMT == unix.S_IFBLK {
		return sa.Rdev == sb.Rdev
	}
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	if err1 != nil || err2 != nil {
		return a == b
	}
	return ra == rb
}

// mountStaging formats (only if empty) and mounts device at staging.
func (s *Server) mountStaging(device, staging string, vc volumeCap) error {
	if err := os.MkdirAll(staging, 0o750); err != nil {
		return status.Errorf(codes.Internal, "create staging path: %v", err)
	}
	notMnt, err := s.mounter.IsLikelyNotMountPoint(staging)
	if err != nil {
		return status.Errorf(codes.Internal, "check staging path: %v", err)
	}
	if !notMnt {
		return nil
	}
	opts := slices.Clone(vc.mountFlags)
	if vc.readOnly {
		opts = append(opts, "ro")
	}
	if err := s.mounter.FormatAndMount(device, staging, vc.fsType, opts); err != nil {
		var me mount.MountError
		if errors.As(err, &me) && (me.Type == mount.FilesystemMismatch || me.Type == mount.UnformattedReadOnly) {
			return status.Errorf(codes.FailedPrecondition, "mount %s at %s: %v", device, staging, err)
		}
		return status.Errorf(codes.Internal, "format/mount %s at %s: %v", device, staging, err)
	}
	return nil
}

// rollback undoes a failed stage; if that fails too, the record stays so
// NodeUnstageVolume (which kubelet calls next) can finish the job.
func (s *Server) rollback(rec *stageRecord) {
	ctx, cancel := context.WithTimeout(context.Background(), s.settings.CommandTimeout)
	defer cancel()
	if err := s.teardown(ctx, rec); err != nil {
		klog.ErrorS(err, "Rollback of failed stage incomplete; NodeUnstageVolume will retry", "volumeID", rec.VolumeID)
		return
	}
	if err := s.state.remove(rec.VolumeID); err != nil {
		klog.ErrorS(err, "Remove stage record", "volumeID", rec.VolumeID)
	}
}

// teardown unmounts the staging path and detaches the volume.
func (s *Server) teardown(ctx context.Context, rec *stageRecord) error {
	// First make sure the unmount below writes only to this volume: paths
	// whose LUN the array has since given to another vdisk are cut off.
	unlock, err := s.hostLock(ctx)
	if err != nil {
		return err
	}
	cut, err := s.connector.Fence(ctx, rec.Volume)
	unlock()
	if err != nil {
		return hostError("fence "+rec.VolumeID, err)
	}
	if len(cut) > 0 {
		klog.InfoS("Cut off paths now leading to another vdisk before unmounting", "volumeID", rec.VolumeID, "paths", cut)
	}
	if rec.StagingPath != "" {
		if err := mount.CleanupMountPoint(rec.StagingPath, s.mounter, true); err != nil {
			return status.Errorf(codes.Internal, "unmount %s: %v", rec.StagingPath, err)
		}
	}
	a, err := s.connector.Find(rec.Volume)
	if err != nil {
		return hostError("find "+rec.VolumeID, err)
	}
	if inUse, err := s.deviceMounted(a); err != nil {
		return status.Errorf(codes.Internal, "%v", err)
	} else if inUse != "" {
		return status.Errorf(codes.FailedPrecondition, "volume %s is still mounted at %s", rec.VolumeID, inUse)
	}
	unlock, err = s.hostLock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	return hostError("detach "+rec.VolumeID, s.connector.Detach(ctx, rec.Volume))
}

// deviceMounted returns a mount point of any of a's devices, or "".
func (s *Server) deviceMounted(a host.Attachment) (string, error) {
	devs := map[string]bool{}
	if a.Device != "" {
		devs[a.Device] = true
	}
	for _, p := range a.Paths {
		devs[s.connector.Sys.Dev(p)] = true
	}
	if len(devs) == 0 {
		return "", nil
	}
	mps, err := s.mounter.List()
	if err != nil {
		return "", fmt.Errorf("list mounts: %w", err)
	}
	for _, mp := range mps {
		if devs[mp.Device] {
			return mp.Path, nil
		}
	}
	return "", nil
}

// NodeUnstageVolume unmounts the staging path and tears the volume down
// from the persisted record: flush, multipath -f, delete paths, logout.
func (s *Server) NodeUnstageVolume(ctx context.Context, req *csi.NodeUnstageVolumeRequest) (*csi.NodeUnstageVolumeResponse, error) {
	volID, staging := req.GetVolumeId(), req.GetStagingTargetPath()
	if volID == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID is required")
	}
	if staging == "" {
		return nil, status.Error(codes.InvalidArgument, "staging target path is required")
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
	if rec == nil {
		// Nothing staged by us (or already torn down): just make sure the path is clean.
		if err := mount.CleanupMountPoint(staging, s.mounter, true); err != nil {
			return nil, status.Errorf(codes.Internal, "unmount %s: %v", staging, err)
		}
		return &csi.NodeUnstageVolumeResponse{}, nil
	}
	if rec.StagingPath != staging {
		klog.InfoS("Unstage path differs from the recorded one; cleaning both", "volumeID", volID, "recorded", rec.StagingPath, "requested", staging)
		if err := mount.CleanupMountPoint(staging, s.mounter, true); err != nil {
			return nil, status.Errorf(codes.Internal, "unmount %s: %v", staging, err)
		}
	}
	if err := s.teardown(ctx, rec); err != nil {
		return nil, err
	}
	if err := s.state.remove(volID); err != nil {
		return nil, status.Errorf(codes.Internal, "remove stage record: %v", err)
	}
	klog.InfoS("Volume unstaged", "volumeID", volID)
	return &csi.NodeUnstageVolumeResponse{}, nil
}
