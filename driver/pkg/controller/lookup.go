package controller

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
)

// vdisk functions in an active-active volume (mcs-cli.md §4.2 lsvdisk).
const (
	fnMaster       = "master"
	fnAux          = "aux"
	fnMasterChange = "master_change"
	fnAuxChange    = "aux_change"
)

// vdiskByUID finds the vdisk with this vdisk_UID; ok=false when none.
func vdiskByUID(ctx context.Context, c array.Client, uid string) (array.VDisk, bool, error) {
	rows, err := c.LsVDisks(ctx, &array.Filter{Attr: "vdisk_UID", Value: uid})
	if err != nil {
		if array.IsNotFound(err) {
			return array.VDisk{}, false, nil
		}
		return array.VDisk{}, false, toStatus(err, "looking up vdisk_UID "+uid)
	}
	for _, r := range rows {
		if r.UID == uid {
			return r, true, nil
		}
	}
	return array.VDisk{}, false, nil
}

// volumeRows returns the vdisks of the logical volume named name: one row
// for basic and mirror, four for active-active (§4.2 volume_name semantics).
func volumeRows(ctx context.Context, c array.Client, name string) ([]array.VDisk, error) {
	rows, err := c.LsVDisks(ctx, &array.Filter{Attr: "volume_name", Value: name})
	if err != nil {
		if array.IsNotFound(err) {
			return nil, nil
		}
		return nil, toStatus(err, "listing vdisks of volume "+name)
	}
	return rows, nil
}

// masterOf picks the row that carries the volume's name and UID.
func masterOf(rows []array.VDisk, name string) (array.VDisk, bool) {
	for _, r := range rows {
		if r.Name == name && (r.Function == "" || r.Function == fnMaster) {
			return r, true
		}
	}
	return array.VDisk{}, false
}

// isVolumeVDisk tells a vdisk that stands for a CSI volume from the aux and
// change vdisks of an active-active volume.
func isVolumeVDisk(v array.VDisk) bool { return v.Function == "" || v.Function == fnMaster }

// lcmapsOf lists lcmaps whose attr (source_vdisk_name / target_vdisk_name)
// is name.
func lcmapsOf(ctx context.Context, c array.Client, attr, name string) ([]array.LCMap, error) {
	maps, err := c.LsLCMaps(ctx, &array.Filter{Attr: attr, Value: name})
	if err != nil && !array.IsNotFound(err) {
		return nil, toStatus(err, "listing lcmaps with "+attr+"="+name)
	}
	return maps, nil
}

// snapshotMapOf returns the copy-rate-0 lcmap that makes target a snapshot
// (§6.4); ok=false if target is not a snapshot.
func snapshotMapOf(maps []array.LCMap, target string) (array.LCMap, bool) {
	for _, m := range maps {
		if m.TargetName == target && m.CopyRate == 0 && !m.RCControlled {
			return m, true
		}
	}
	return array.LCMap{}, false
}

// mustVolume resolves a volume's vdisk or fails NotFound.
func mustVDisk(ctx context.Context, c array.Client, uid, what string) (array.VDisk, error) {
	v, ok, err := vdiskByUID(ctx, c, uid)
	if err != nil {
		return array.VDisk{}, err
	}
	if !ok {
		return array.VDisk{}, status.Errorf(codes.NotFound, "%s: no vdisk with vdisk_UID %s", what, uid)
	}
	return v, nil
}
