package array

import (
	"context"
	"fmt"
	"strconv"
)

const giB = int64(1) << 30

func vdiskFrom(r *record) VDisk {
	return VDisk{
		ID: r.get("id"), Name: r.get("name"), UID: r.get("vdisk_UID"),
		IOGroupID: r.get("IO_group_id"), IOGroupName: r.get("IO_group_name"),
		Status: r.get("status"),
		PoolID: r.get("mdisk_grp_id"), PoolName: r.get("mdisk_grp_name"),
		Capacity:   r.int64("capacity"),
		LCMapCount: r.int("lc_map_count"), CopyCount: r.int("copy_count"),
		RCID: r.get("RC_id"), RCName: r.get("RC_name"),
		Formatting: r.bool("formatting"),
		VolumeID:   r.get("volume_id"), VolumeName: r.get("volume_name"),
		Function: r.get("function"),
	}
}

func copyFrom(r *record) VDiskCopy {
	thin := r.bool("se_copy")
	if !r.has("se_copy") {
		// Copy sections without se_copy: thick copies print autoexpand
		// empty, thin ones on|off (§4.2).
		thin = r.get("autoexpand") != ""
	}
	return VDiskCopy{
		CopyID: r.get("copy_id"), Status: r.get("status"),
		Primary: r.bool("primary"), Sync: r.bool("sync"),
		PoolID: r.get("mdisk_grp_id"), PoolName: r.get("mdisk_grp_name"),
		UsedCapacity: r.int64("used_capacity"), RealCapacity: r.int64("real_capacity"),
		FreeCapacity: r.int64("free_capacity"),
		Thin:         thin || r.bool("compressed_copy"), Compressed: r.bool("compressed_copy"),
		AutoExpand: r.bool("autoexpand"),
		Warning:    r.int("warning"), GrainSize: r.int("grainsize"),
		InTier: r.get("in_tier"),
	}
}

// LsVDisks is `lsvdisk -bytes -delim ! [-filtervalue a=v]` (§4.2).
func (c *CLI) LsVDisks(ctx context.Context, filter *Filter) ([]VDisk, error) {
	if err := checkFilter(filter); err != nil {
		return nil, err
	}
	argv := []string{"lsvdisk", "-bytes", "-delim", delim}
	if filter != nil {
		argv = append(argv, "-filtervalue", filter.Attr+"="+filter.Value)
	}
	out, err := c.query(ctx, argv...)
	if err != nil {
		return nil, err
	}
	var res []VDisk
	for i, r := range parseList(out) {
		v := vdiskFrom(r)
		if err := r.err(fmt.Sprintf("lsvdisk row %d", i)); err != nil {
			return nil, err
		}
		res = append(res, v)
	}
	return res, nil
}

// LsVDisk is the detail view: section 0 is the vdisk, then one section per
// copy (§2.3).
func (c *CLI) LsVDisk(ctx context.Context, nameOrID string) (VDiskDetail, error) {
	if err := checkNameOrID("vdisk", nameOrID); err != nil {
		return VDiskDetail{}, err
	}
	out, err := c.query(ctx, "lsvdisk", "-bytes", "-delim", delim, nameOrID)
	if err != nil {
		return VDiskDetail{}, err
	}
	secs := parseDetail(out)
	if len(secs) == 0 {
		return VDiskDetail{}, fmt.Errorf("%w: lsvdisk %s printed nothing", ErrUnexpectedOutput, nameOrID)
	}
	d := VDiskDetail{VDisk: vdiskFrom(secs[0]), PreferredNodeID: secs[0].get("preferred_node_id")}
	if err := secs[0].err("lsvdisk " + nameOrID); err != nil {
		return VDiskDetail{}, err
	}
	for i, s := range secs[1:] {
		cp := copyFrom(s)
		if err := s.err(fmt.Sprintf("lsvdisk %s copy section %d", nameOrID, i)); err != nil {
			return VDiskDetail{}, err
		}
		d.Copies = append(d.Copies, cp)
	}
	return d, nil
}

// sizeArgs sends whole GiB as `-size N -unit gb` ([G] form), anything else
// as exact bytes `-size N -unit b` ([C] form for copies), §4.4.
func sizeArgs(field string, bytes int64) ([]string, error) {
	if bytes <= 0 {
		return nil, invalidf("%s %d: must be positive", field, bytes)
	}
	if bytes%giB == 0 {
		return []string{"-size", strconv.FormatInt(bytes/giB, 10), "-unit", "gb"}, nil
	}
	return []string{"-size", strconv.FormatInt(bytes, 10), "-unit", "b"}, nil
}

// MkVDisk builds mkvdisk in [G]'s parameter order (§4.4):
// -name -size -unit [-copies 2] -mdiskgrp P[:AP] [-accessiogrp g] [-iogrp g]
// [-rsize r% [-warning w%] [-autoexpand] (-compressed | [-grainsize g])] -intier on|off
func (c *CLI) MkVDisk(ctx context.Context, a MkVDiskArgs) (string, error) {
	if err := checkName("vdisk name", a.Name); err != nil {
		return "", err
	}
	size, err := sizeArgs("vdisk size", a.SizeBytes)
	if err != nil {
		return "", err
	}
	if err := checkNameOrID("pool", a.Pool); err != nil {
		return "", err
	}
	argv := append([]string{"mkvdisk", "-name", a.Name}, size...)
	pool := a.Pool
	if a.AuxPool != "" {
		if err := checkNameOrID("aux pool", a.AuxPool); err != nil {
			return "", err
		}
		argv = append(argv, "-copies", "2")
		pool += ":" + a.AuxPool
	}
	argv = append(argv, "-mdiskgrp", pool)
	if a.AccessIOGrp != "" {
		if err := checkNameOrID("access iogrp", a.AccessIOGrp); err != nil {
			return "", err
		}
		argv = append(argv, "-accessiogrp", a.AccessIOGrp)
	}
	if a.IOGroup != "" {
		if err := checkNameOrID("iogrp", a.IOGroup); err != nil {
			return "", err
		}
		argv = append(argv, "-iogrp", a.IOGroup)
	}
	if a.Thin || a.Compressed {
		thin, err := thinArgs("-rsize", a.RSizePct, a.ExplicitRSize, a.WarningPct, a.GrainSize, a.Compressed)
		if err != nil {
			return "", err
		}
		argv = append(argv, thin[:2]...)
		if a.WarningPct != 0 {
			argv = append(argv, "-warning", pct(a.WarningPct))
		}
		if a.AutoExpand {
			argv = append(argv, "-autoexpand")
		}
		argv = append(argv, thin[2:]...)
	} else if a.WarningPct != 0 || a.GrainSize != 0 || a.AutoExpand || a.ExplicitRSize {
		return "", invalidf("vdisk %s: rsize/warning/grainsize/autoexpand apply only to thin or compressed vdisks", a.Name)
	}
	intier := "off"
	if a.InTier {
		intier = "on"
	}
	argv = append(argv, "-intier", intier)
	return c.create(ctx, argv...)
}

// thinArgs validates the thin knobs shared by mkvdisk and mkvolume and
// returns [flag, r%, then -compressed | -grainsize g]. Warning and
// autoexpand go between them and are added by the caller.
func thinArgs(flag string, rsize int, explicit bool, warning, grain int, compressed bool) ([]string, error) {
	if rsize == 0 && !explicit {
		rsize = 2 // §4.4 default
	}
	if err := checkPercent(flag, rsize, 0, 100); err != nil {
		return nil, err
	}
	if warning != 0 {
		if err := checkPercent("warning", warning, 1, 99); err != nil {
			return nil, err
		}
	}
	if err := checkGrainSize(grain); err != nil {
		return nil, err
	}
	res := []string{flag, pct(rsize)}
	if compressed {
		res = append(res, "-compressed") // grain size does not apply (§6.2)
	} else if grain != 0 {
		res = append(res, "-grainsize", strconv.Itoa(grain))
	}
	return res, nil
}

// MkVolume is the active-active mkvolume (§4.4):
// -name -size -unit gb -pool P:AP -iogrp g:ag [-buffersize r% [-warning w%]
// [-noautoexpand] (-compressed | -thin [-grainsize g])]
func (c *CLI) MkVolume(ctx context.Context, a MkVolumeArgs) (string, error) {
	if err := checkName("volume name", a.Name); err != nil {
		return "", err
	}
	if a.SizeBytes <= 0 || a.SizeBytes%giB != 0 {
		// mkvolume is only described with -unit gb (§4.4).
		return "", invalidf("active-active volume size %d: must be a positive whole number of GiB", a.SizeBytes)
	}
	for _, f := range []struct{ field, v string }{
		{"pool", a.Pool}, {"aux pool", a.AuxPool}, {"iogrp", a.IOGroup}, {"aux iogrp", a.AuxIOGroup},
	} {
		if err := checkNameOrID(f.field, f.v); err != nil {
			return "", err
		}
	}
	argv := []string{"mkvolume", "-name", a.Name, "-size", strconv.FormatInt(a.SizeBytes/giB, 10), "-unit", "gb",
		"-pool", a.Pool + ":" + a.AuxPool, "-iogrp", a.IOGroup + ":" + a.AuxIOGroup}
	if a.Thin || a.Compressed {
		thin, err := thinArgs("-buffersize", a.BufferSizePct, false, a.WarningPct, a.GrainSize, a.Compressed)
		if err != nil {
			return "", err
		}
		argv = append(argv, thin[:2]...)
		if a.WarningPct != 0 {
			argv = append(argv, "-warning", pct(a.WarningPct))
		}
		if !a.AutoExpand {
			argv = append(argv, "-noautoexpand")
		}
		if a.Compressed {
			argv = append(argv, "-compressed")
		} else {
			argv = append(argv, "-thin")
			argv = append(argv, thin[2:]...)
		}
	} else if a.BufferSizePct != 0 || a.WarningPct != 0 || a.GrainSize != 0 {
		return "", invalidf("volume %s: buffersize/warning/grainsize apply only to thin or compressed volumes", a.Name)
	}
	return c.create(ctx, argv...)
}

// RmVDisk is `rmvdisk [-force] <vdisk>` (§4.4); -force also removes its
// host mappings and lcmaps.
func (c *CLI) RmVDisk(ctx context.Context, vdisk string, force bool) error {
	if err := checkNameOrID("vdisk", vdisk); err != nil {
		return err
	}
	argv := []string{"rmvdisk"}
	if force {
		argv = append(argv, "-force")
	}
	return c.op(ctx, append(argv, vdisk)...)
}

// RmVolume removes an active-active volume with all five flags [G] sends.
func (c *CLI) RmVolume(ctx context.Context, volume string) error {
	if err := checkNameOrID("volume", volume); err != nil {
		return err
	}
	return c.op(ctx, "rmvolume", "-removehostmappings", "-removercrelationships", "-removelcmaps",
		"-discardimage", "-cancelbackup", volume)
}

// ExpandVDiskSize grows a vdisk by deltaBytes (-size is the increment, §4.4).
func (c *CLI) ExpandVDiskSize(ctx context.Context, vdisk string, deltaBytes int64) error {
	if err := checkNameOrID("vdisk", vdisk); err != nil {
		return err
	}
	size, err := sizeArgs("expand delta", deltaBytes)
	if err != nil {
		return err
	}
	return c.op(ctx, append(append([]string{"expandvdisksize"}, size...), vdisk)...)
}

// AddVDiskAccess adds an I/O group to the vdisk's access set (§4.4).
func (c *CLI) AddVDiskAccess(ctx context.Context, vdisk, iogrp string) error {
	if err := checkNameOrID("vdisk", vdisk); err != nil {
		return err
	}
	if err := checkNameOrID("iogrp", iogrp); err != nil {
		return err
	}
	return c.op(ctx, "addvdiskaccess", "-iogrp", iogrp, vdisk)
}
