package controller

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/volumeid"
)

// ControllerExpandVolume grows the vdisk on the array (§6.9 step 3); the
// node then rescans and grows the filesystem.
func (s *Server) ControllerExpandVolume(ctx context.Context, req *csi.ControllerExpandVolumeRequest) (*csi.ControllerExpandVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume id is missing")
	}
	if req.GetCapacityRange() == nil {
		return nil, status.Error(codes.InvalidArgument, "capacity range is missing")
	}
	if c := req.GetVolumeCapability(); c != nil {
		if err := checkCapability(c); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
	}
	id, err := volumeid.ParseVolume(req.GetVolumeId())
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	a, err := s.array(id.Storage, codes.NotFound)
	if err != nil {
		return nil, err
	}
	done, err := s.admit(ctx, a, "volume "+req.GetVolumeId(), "ControllerExpandVolume", opExpand)
	if err != nil {
		return nil, err
	}
	defer done()

	// Like the vendor plugin, a barrier blocks every expand on the array: a
	// half-expanded active-active volume may look like a basic one.
	if barrier := a.barrierFile(); fileExists(barrier) {
		return nil, status.Errorf(codes.FailedPrecondition, "active-active volume extend failed barrier exists (%s): repair the volume on the array, then delete the file", barrier)
	}
	v, err := mustVDisk(ctx, a.Client, id.UID, "volume "+req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	if !isVolumeVDisk(v) {
		return nil, status.Errorf(codes.NotFound, "vdisk %s is not a volume", v.Name)
	}
	aa := v.Function == fnMaster
	size, err := volumeSize(req.GetCapacityRange(), aa)
	if err != nil {
		return nil, err
	}
	resp := &csi.ControllerExpandVolumeResponse{CapacityBytes: v.Capacity, NodeExpansionRequired: true}
	if size <= v.Capacity {
		return resp, nil // already this big: a retry, or a request the array already met
	}
	delta := size - v.Capacity
	if aa {
		err = s.expandActiveActive(ctx, a, v, delta)
	} else {
		err = s.expandBasic(ctx, a, v, delta)
	}
	if err != nil {
		return nil, err
	}
	klog.InfoS("Expanded volume", "storage", a.Config.Name, "vdisk", v.Name, "from", v.Capacity, "to", size)
	resp.CapacityBytes = size
	return resp, nil
}

func (s *Server) expandBasic(ctx context.Context, a *Array, v array.VDisk, delta int64) error {
	if v.Formatting {
		return status.Errorf(codes.Unavailable, "vdisk %s is still formatting; retry later", v.Name)
	}
	if v.LCMapCount > 0 {
		src, err := lcmapsOf(ctx, a.Client, "source_vdisk_name", v.Name)
		if err != nil {
			return err
		}
		tgt, err := lcmapsOf(ctx, a.Client, "target_vdisk_name", v.Name)
		if err != nil {
			return err
		}
		rest, err := dropFinishedCopies(ctx, a, append(src, tgt...))
		if err != nil {
			return err
		}
		for _, m := range rest {
			if m.CopyRate == 0 {
				return status.Errorf(codes.FailedPrecondition, "volume %s has snapshots; the array cannot expand a vdisk in a LocalCopy mapping", v.Name)
			}
		}
		if len(rest) > 0 {
			return status.Errorf(codes.Unavailable, "volume %s is in a LocalCopy mapping (a copy in progress); retry when it finishes", v.Name)
		}
	}
	if err := a.Client.ExpandVDiskSize(ctx, v.Name, delta); err != nil {
		return toStatus(err, "expanding vdisk "+v.Name)
	}
	return nil
}

// expandActiveActive runs the nine-step sequence of §6.9: the relationship
// must be removed to grow its four vdisks, then rebuilt. A failure half-way
// cannot be rolled back, so it leaves the barrier file that stops further
// active-active expansion until an operator repairs the volume.
func (s *Server) expandActiveActive(ctx context.Context, a *Array, master array.VDisk, delta int64) error {
	barrier := a.barrierFile()
	rows, err := volumeRows(ctx, a.Client, master.Name)
	if err != nil {
		return err
	}
	byFn := map[string]array.VDisk{}
	for _, r := range rows {
		byFn[r.Function] = r
	}
	aux, mcv, acv := byFn[fnAux], byFn[fnMasterChange], byFn[fnAuxChange]
	if aux.Name == "" || mcv.Name == "" || acv.Name == "" {
		return status.Errorf(codes.FailedPrecondition, "active-active volume %s does not have its aux and change vdisks", master.Name)
	}
	if master.Formatting || aux.Formatting {
		return status.Errorf(codes.Unavailable, "active-active volume %s is still formatting; retry later", master.Name)
	}
	if master.LCMapCount != 2 || aux.LCMapCount != 2 {
		return status.Errorf(codes.FailedPrecondition, "active-active volume %s has lcmaps besides its change volumes (snapshots or copies)", master.Name)
	}
	for _, pool := range []string{master.PoolName, aux.PoolName} {
		p, err := a.Client.LsMDiskGrp(ctx, pool)
		if err != nil {
			return toStatus(err, "reading pool "+pool)
		}
		if p.Free < 2*delta { // the vdisk and its change volume both grow
			return status.Errorf(codes.ResourceExhausted, "pool %s has %d bytes free, expanding needs %d", pool, p.Free, 2*delta)
		}
	}
	sys, err := a.Client.LsSystem(ctx)
	if err != nil {
		return toStatus(err, "reading system name")
	}
	rcID := master.RCID
	if rcID == "" {
		rcID = master.ID // §3.6: the relationship id is the master's id
	}
	steps := []struct {
		desc string
		run  func() error
	}{
		{"rmrcrelationship " + rcID, func() error { return a.Client.RmRCRelationship(ctx, rcID) }},
		{"expandvdisksize " + master.Name, func() error { return a.Client.ExpandVDiskSize(ctx, master.Name, delta) }},
		{"expandvdisksize " + aux.Name, func() error { return a.Client.ExpandVDiskSize(ctx, aux.Name, delta) }},
		{"expandvdisksize " + mcv.Name, func() error { return a.Client.ExpandVDiskSize(ctx, mcv.Name, delta) }},
		{"expandvdisksize " + acv.Name, func() error { return a.Client.ExpandVDiskSize(ctx, acv.Name, delta) }},
		{"mkrcrelationship -sync -activeactive", func() error {
			_, err := a.Client.MkRCRelationship(ctx, array.MkRCRelationshipArgs{
				Master: master.Name, Aux: aux.Name, Cluster: sys.Name, Sync: true, ActiveActive: true})
			return err
		}},
		{"addvdiskaccess -iogrp " + aux.IOGroupName, func() error { return a.Client.AddVDiskAccess(ctx, master.Name, aux.IOGroupName) }},
		{"chrcrelationship -masterchange " + mcv.Name, func() error { return a.Client.ChRCRelationship(ctx, rcID, mcv.Name, "") }},
		{"chrcrelationship -auxchange " + acv.Name, func() error { return a.Client.ChRCRelationship(ctx, rcID, "", acv.Name) }},
	}
	for i, st := range steps {
		if err := st.run(); err != nil {
			var left []string
			for _, r := range steps[i:] {
				left = append(left, r.desc)
			}
			klog.ErrorS(err, "Active-active expand failed; writing barrier", "storage", a.Config.Name, "volume", master.Name,
				"failedStep", i+1, "notDone", strings.Join(left, "; "), "barrier", barrier)
			writeBarrier(barrier, master.Name, err)
			return toStatus(err, fmt.Sprintf("active-active expand of %s failed at step %d (%s); barrier %s written", master.Name, i+1, st.desc, barrier))
		}
		klog.V(2).InfoS("Active-active expand step done", "volume", master.Name, "step", i+1, "command", st.desc)
	}
	return nil
}

// writeBarrier leaves the vendor's five-line notice (§6.9).
func writeBarrier(path, volume string, cause error) {
	text := fmt.Sprintf("!!!!!! ATTENTION !!!!!!\nExtend Active-Active volume %s failed for %v.\n"+
		"Read the instorage-csi controller log for the steps that ran and those that did not.\n"+
		"Repair the volume on the array (relationship, change volumes, sizes).\n"+
		"Then delete this file to allow active-active expansion again.\n", volume, cause)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		klog.ErrorS(err, "Cannot create barrier directory", "path", path)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		klog.ErrorS(err, "Cannot write barrier file", "path", path)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
