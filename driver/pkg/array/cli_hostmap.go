package array

import (
	"context"
	"fmt"
)

// LsVDiskHostMap lists a vdisk's mappings: one row per (host, I/O group in
// the vdisk's access set), all with the same SCSI_id (§3.7, §4.2). The
// list's id/name columns are the vdisk's.
func (c *CLI) LsVDiskHostMap(ctx context.Context, vdisk string) ([]HostMap, error) {
	if err := checkNameOrID("vdisk", vdisk); err != nil {
		return nil, err
	}
	out, err := c.query(ctx, "lsvdiskhostmap", "-delim", delim, vdisk)
	if err != nil {
		return nil, err
	}
	var res []HostMap
	for i, r := range parseList(out) {
		m := HostMap{
			VDiskID: r.get("id"), VDiskName: r.get("name"), VDiskUID: r.get("vdisk_UID"),
			SCSIID: r.int("SCSI_id"), HostID: r.get("host_id"), HostName: r.get("host_name"),
			IOGroupID: r.get("IO_group_id"), IOGroupName: r.get("IO_group_name"),
		}
		if err := r.err(fmt.Sprintf("lsvdiskhostmap %s row %d", vdisk, i)); err != nil {
			return nil, err
		}
		res = append(res, m)
	}
	return res, nil
}

// LsHostVDiskMap lists a host's mappings; here id/name are the host's.
func (c *CLI) LsHostVDiskMap(ctx context.Context, host string) ([]HostMap, error) {
	if err := checkNameOrID("host", host); err != nil {
		return nil, err
	}
	out, err := c.query(ctx, "lshostvdiskmap", "-delim", delim, host)
	if err != nil {
		return nil, err
	}
	var res []HostMap
	for i, r := range parseList(out) {
		m := HostMap{
			HostID: r.get("id"), HostName: r.get("name"), SCSIID: r.int("SCSI_id"),
			VDiskID: r.get("vdisk_id"), VDiskName: r.get("vdisk_name"), VDiskUID: r.get("vdisk_UID"),
			IOGroupID: r.get("IO_group_id"), IOGroupName: r.get("IO_group_name"),
		}
		if err := r.err(fmt.Sprintf("lshostvdiskmap %s row %d", host, i)); err != nil {
			return nil, err
		}
		res = append(res, m)
	}
	return res, nil
}

// MkVDiskHostMap is `mkvdiskhostmap -force -host <h> <vdisk>`; the array
// picks the LUN, read it back with LsVDiskHostMap (§4.5).
func (c *CLI) MkVDiskHostMap(ctx context.Context, host, vdisk string) (string, error) {
	if err := checkNameOrID("host", host); err != nil {
		return "", err
	}
	if err := checkNameOrID("vdisk", vdisk); err != nil {
		return "", err
	}
	return c.create(ctx, "mkvdiskhostmap", "-force", "-host", host, vdisk)
}

func (c *CLI) RmVDiskHostMap(ctx context.Context, host, vdisk string) error {
	if err := checkNameOrID("host", host); err != nil {
		return err
	}
	if err := checkNameOrID("vdisk", vdisk); err != nil {
		return err
	}
	return c.op(ctx, "rmvdiskhostmap", "-host", host, vdisk)
}
