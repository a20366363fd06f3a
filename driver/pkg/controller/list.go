package controller

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/volumeid"
)

// pageKey orders list entries: the storage's position in storageNames, then
// the array object id (vdisk or lcmap id; the array lists in id order, §3.6).
// Tokens are keys, not offsets, so a page boundary survives objects being
// added or removed between calls.
type pageKey struct{ storage, id int }

func (k pageKey) String() string { return strconv.Itoa(k.storage) + "-" + strconv.Itoa(k.id) }

func (k pageKey) less(o pageKey) bool {
	return k.storage < o.storage || (k.storage == o.storage && k.id < o.id)
}

func parsePageKey(token string) (pageKey, bool) {
	a, b, ok := strings.Cut(token, "-")
	if !ok {
		return pageKey{}, false
	}
	s, err1 := strconv.Atoi(a)
	id, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || s < 0 || id < 0 {
		return pageKey{}, false
	}
	return pageKey{s, id}, true
}

// keyed is a list entry with its page key.
type keyed[T any] struct {
	key   pageKey
	entry T
}

func newKey(storage int, id string) pageKey {
	n, err := strconv.Atoi(id)
	if err != nil {
		n = 0 // ids are decimal (§3.6); anything else sorts first
	}
	return pageKey{storage, n}
}

// page returns the entries from the token's key on; an unreadable token is
// Aborted, as the CSI spec asks.
func page[T any](all []keyed[T], token string, max int32) ([]T, string, error) {
	if max < 0 {
		return nil, "", status.Error(codes.InvalidArgument, "max_entries must not be negative")
	}
	slices.SortFunc(all, func(a, b keyed[T]) int {
		switch {
		case a.key.less(b.key):
			return -1
		case b.key.less(a.key):
			return 1
		}
		return 0
	})
	start := 0
	if token != "" {
		k, ok := parsePageKey(token)
		if !ok {
			return nil, "", status.Errorf(codes.Aborted, "starting token %q is not valid", token)
		}
		for start < len(all) && all[start].key.less(k) {
			start++
		}
	}
	end := len(all)
	if max > 0 && start+int(max) < end {
		end = start + int(max)
	}
	next := ""
	if end < len(all) {
		next = all[end].key.String()
	}
	out := make([]T, 0, end-start)
	for _, e := range all[start:end] {
		out = append(out, e.entry)
	}
	return out, next, nil
}

// storageNames lists configured arrays in a stable order.
func (s *Server) storageNames() []string {
	names := make([]string, 0, len(s.arrays))
	for n := range s.arrays {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ListVolumes reports every volume vdisk (not snapshots, not the aux and
// change vdisks of active-active volumes) with the nodes it is mapped to.
func (s *Server) ListVolumes(ctx context.Context, req *csi.ListVolumesRequest) (*csi.ListVolumesResponse, error) {
	if req.GetMaxEntries() < 0 {
		return nil, status.Error(codes.InvalidArgument, "max_entries must not be negative")
	}
	var all []keyed[*csi.ListVolumesResponse_Entry]
	for si, name := range s.storageNames() {
		a := s.arrays[name]
		vdisks, err := a.Client.LsVDisks(ctx, nil)
		if err != nil {
			return nil, toStatus(err, "listing vdisks on "+name)
		}
		maps, err := a.Client.LsLCMaps(ctx, nil)
		if err != nil && !array.IsNotFound(err) {
			return nil, toStatus(err, "listing lcmaps on "+name)
		}
		published, err := s.publishedNodes(ctx, a)
		if err != nil {
			return nil, err
		}
		for _, v := range vdisks {
			if !isVolumeVDisk(v) {
				continue
			}
			if _, snap := snapshotMapOf(maps, v.Name); snap {
				continue
			}
			all = append(all, keyed[*csi.ListVolumesResponse_Entry]{key: newKey(si, v.ID), entry: &csi.ListVolumesResponse_Entry{
				Volume: &csi.Volume{
					VolumeId:           volumeid.Volume{Storage: name, UID: v.UID}.String(),
					CapacityBytes:      v.Capacity,
					VolumeContext:      map[string]string{ctxStorage: name},
					AccessibleTopology: s.accessibleTopology(name),
				},
				Status: &csi.ListVolumesResponse_VolumeStatus{PublishedNodeIds: published[v.UID]},
			}})
		}
	}
	entries, next, err := page(all, req.GetStartingToken(), req.GetMaxEntries())
	if err != nil {
		return nil, err
	}
	return &csi.ListVolumesResponse{Entries: entries, NextToken: next}, nil
}

// publishedNodes maps vdisk_UID → node IDs from the driver's host objects.
func (s *Server) publishedNodes(ctx context.Context, a *Array) (map[string][]string, error) {
	hosts, err := a.Client.LsHosts(ctx)
	if err != nil {
		return nil, toStatus(err, "listing hosts")
	}
	res := map[string][]string{}
	for _, h := range hosts {
		detail, err := a.Client.LsHost(ctx, h.Name)
		if err != nil {
			if array.IsNotFound(err) {
				continue // removed meanwhile
			}
			return nil, toStatus(err, "reading host "+h.Name)
		}
		nodeID := s.nodeIDOf(detail)
		if nodeID == "" {
			continue
		}
		maps, err := a.Client.LsHostVDiskMap(ctx, h.Name)
		if err != nil && !array.IsNotFound(err) {
			return nil, toStatus(err, "listing maps of host "+h.Name)
		}
		for _, m := range maps {
			if !slices.Contains(res[m.VDiskUID], nodeID) {
				res[m.VDiskUID] = append(res[m.VDiskUID], nodeID)
			}
		}
	}
	return res, nil
}

// ControllerGetVolume reports one volume and where it is published.
func (s *Server) ControllerGetVolume(ctx context.Context, req *csi.ControllerGetVolumeRequest) (*csi.ControllerGetVolumeResponse, error) {
	a, v, err := s.volumeOf(ctx, req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	maps, err := a.Client.LsVDiskHostMap(ctx, v.Name)
	if err != nil && !array.IsNotFound(err) {
		return nil, toStatus(err, "listing host maps of "+v.Name)
	}
	var nodes []string
	for _, m := range maps {
		h, err := a.Client.LsHost(ctx, m.HostName)
		if err != nil {
			continue
		}
		if id := s.nodeIDOf(h); id != "" && !slices.Contains(nodes, id) {
			nodes = append(nodes, id)
		}
	}
	return &csi.ControllerGetVolumeResponse{
		Volume: &csi.Volume{VolumeId: req.GetVolumeId(), CapacityBytes: v.Capacity, VolumeContext: map[string]string{ctxStorage: a.Config.Name},
			AccessibleTopology: s.accessibleTopology(a.Config.Name)},
		Status: &csi.ControllerGetVolumeResponse_VolumeStatus{PublishedNodeIds: nodes},
	}, nil
}

// ControllerGetVolumeHealth maps the vdisk status (§5.4) to CSI health.
func (s *Server) ControllerGetVolumeHealth(ctx context.Context, req *csi.ControllerGetVolumeHealthRequest) (*csi.ControllerGetVolumeHealthResponse, error) {
	_, v, err := s.volumeOf(ctx, req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	h := &csi.VolumeHealth{VolumeId: req.GetVolumeId()}
	switch v.Status {
	case "online", "":
	case "degraded":
		h.HealthStatuses = append(h.HealthStatuses, &csi.VolumeHealth_VolumeHealthEntry{
			Status: csi.VolumeHealthErrorType_DEGRADED, Reason: "VDiskDegraded", Message: "vdisk " + v.Name + " is degraded on the array"})
	default:
		h.HealthStatuses = append(h.HealthStatuses, &csi.VolumeHealth_VolumeHealthEntry{
			Status: csi.VolumeHealthErrorType_INACCESSIBLE, Reason: "VDiskOffline", Message: "vdisk " + v.Name + " is " + v.Status + " on the array"})
	}
	return &csi.ControllerGetVolumeHealthResponse{VolumeHealth: h}, nil
}

// volumeOf resolves a volume id to its array and vdisk (NotFound otherwise).
func (s *Server) volumeOf(ctx context.Context, volumeID string) (*Array, array.VDisk, error) {
	if volumeID == "" {
		return nil, array.VDisk{}, status.Error(codes.InvalidArgument, "volume id is missing")
	}
	id, err := volumeid.ParseVolume(volumeID)
	if err != nil {
		return nil, array.VDisk{}, status.Error(codes.NotFound, err.Error())
	}
	a, err := s.array(id.Storage, codes.NotFound)
	if err != nil {
		return nil, array.VDisk{}, err
	}
	v, err := mustVDisk(ctx, a.Client, id.UID, "volume "+volumeID)
	if err != nil {
		return nil, array.VDisk{}, err
	}
	if !isVolumeVDisk(v) {
		return nil, array.VDisk{}, status.Errorf(codes.NotFound, "vdisk %s is not a volume", v.Name)
	}
	return a, v, nil
}

// ListSnapshots reports snapshot vdisks, filtered by id or source volume.
func (s *Server) ListSnapshots(ctx context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	if req.GetMaxEntries() < 0 {
		return nil, status.Error(codes.InvalidArgument, "max_entries must not be negative")
	}
	var (
		storages  = s.storageNames()
		wantSnap  string // vdisk UID
		wantSrc   string // vdisk UID
		malformed bool
	)
	if id := req.GetSnapshotId(); id != "" {
		sid, err := volumeid.ParseSnapshot(id)
		malformed = err != nil
		storages, wantSnap = []string{sid.Storage}, sid.UID
	}
	if id := req.GetSourceVolumeId(); id != "" {
		vid, err := volumeid.ParseVolume(id)
		malformed = malformed || err != nil
		if wantSnap != "" && vid.Storage != storages[0] {
			malformed = true
		}
		storages, wantSrc = []string{vid.Storage}, vid.UID
	}
	var all []keyed[*csi.ListSnapshotsResponse_Entry]
	for _, name := range storages {
		si := slices.Index(s.storageNames(), name)
		a, ok := s.arrays[name]
		if malformed || !ok {
			break // an id that cannot exist matches nothing
		}
		vdisks, err := a.Client.LsVDisks(ctx, nil)
		if err != nil {
			return nil, toStatus(err, "listing vdisks on "+name)
		}
		byName := map[string]array.VDisk{}
		for _, v := range vdisks {
			byName[v.Name] = v
		}
		maps, err := a.Client.LsLCMaps(ctx, nil)
		if err != nil && !array.IsNotFound(err) {
			return nil, toStatus(err, "listing lcmaps on "+name)
		}
		for _, m := range maps {
			tgt, tok := byName[m.TargetName]
			src, sok := byName[m.SourceName]
			if m.CopyRate != 0 || m.RCControlled || !tok || !sok {
				continue
			}
			if (wantSnap != "" && tgt.UID != wantSnap) || (wantSrc != "" && src.UID != wantSrc) {
				continue
			}
			all = append(all, keyed[*csi.ListSnapshotsResponse_Entry]{key: newKey(si, m.ID),
				entry: &csi.ListSnapshotsResponse_Entry{Snapshot: snapshotOf(a, tgt, m, src.UID)}})
		}
	}
	entries, next, err := page(all, req.GetStartingToken(), req.GetMaxEntries())
	if err != nil {
		return nil, err
	}
	return &csi.ListSnapshotsResponse{Entries: entries, NextToken: next}, nil
}

// GetSnapshot reports one snapshot or NotFound.
func (s *Server) GetSnapshot(ctx context.Context, req *csi.GetSnapshotRequest) (*csi.GetSnapshotResponse, error) {
	if req.GetSnapshotId() == "" {
		return nil, status.Error(codes.InvalidArgument, "snapshot id is missing")
	}
	id, err := volumeid.ParseSnapshot(req.GetSnapshotId())
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	a, err := s.array(id.Storage, codes.NotFound)
	if err != nil {
		return nil, err
	}
	v, err := mustVDisk(ctx, a.Client, id.UID, "snapshot "+req.GetSnapshotId())
	if err != nil {
		return nil, err
	}
	maps, err := lcmapsOf(ctx, a.Client, "target_vdisk_name", v.Name)
	if err != nil {
		return nil, err
	}
	m, ok := snapshotMapOf(maps, v.Name)
	if !ok {
		return nil, status.Errorf(codes.NotFound, "vdisk %s is not a snapshot", v.Name)
	}
	srcRows, err := volumeRows(ctx, a.Client, m.SourceName)
	if err != nil {
		return nil, err
	}
	src, _ := masterOf(srcRows, m.SourceName)
	return &csi.GetSnapshotResponse{Snapshot: snapshotOf(a, v, m, src.UID)}, nil
}

// GetCapacity reports free space in whole GiB, the unit volumes are made
// in (§6.10): in the StorageClass pool (the smaller of both pools for
// mirror and aa), or in all pools of the array when no pool is named.
func (s *Server) GetCapacity(ctx context.Context, req *csi.GetCapacityRequest) (*csi.GetCapacityResponse, error) {
	for _, c := range req.GetVolumeCapabilities() {
		if checkCapability(c) != nil {
			return &csi.GetCapacityResponse{AvailableCapacity: 0}, nil
		}
	}
	if len(req.GetParameters()) == 0 {
		a, err := s.array("", codes.InvalidArgument)
		if err != nil {
			return nil, err
		}
		pools, err := a.Client.LsMDiskGrps(ctx)
		if err != nil {
			return nil, toStatus(err, "listing pools")
		}
		var free int64
		for _, p := range pools {
			free += p.Free / giB * giB
		}
		return &csi.GetCapacityResponse{AvailableCapacity: free}, nil
	}
	p, err := ParseVolumeParams(req.GetParameters())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	a, err := s.array(p.Storage, codes.InvalidArgument)
	if err != nil {
		return nil, err
	}
	free := int64(-1)
	for _, name := range []string{p.Pool, p.AuxPool} {
		if name == "" {
			continue
		}
		pool, err := a.Client.LsMDiskGrp(ctx, name)
		if err != nil {
			if array.IsNotFound(err) {
				return nil, status.Errorf(codes.InvalidArgument, "pool %s does not exist on storage %s", name, a.Config.Name)
			}
			return nil, toStatus(err, "reading pool "+name)
		}
		if f := pool.Free / giB * giB; free < 0 || f < free {
			free = f
		}
	}
	return &csi.GetCapacityResponse{AvailableCapacity: max(free, 0)}, nil
}
