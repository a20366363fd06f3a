package cli

import (
	"github.com/instorage-csi/instorage-csi/emulator/model"
)

func init() {
	register("mcsinq", "lsvdisk", objOptional, lsFlags(), nil, lsvdisk)
	register("mcsinq", "lsvdiskcopy", objOptional, lsFlags("-copy"), nil, lsvdiskcopy)
	register("mcsinq", "lsvdisksyncprogress", objOptional, lsFlags("-copy"), nil, lsvdisksyncprogress)
	register("mcsinq", "lsvdiskhostmap", objRequired, lsFlags(), nil, lsvdiskhostmap)
	register("mcsinq", "lshostvdiskmap", objOptional, lsFlags(), nil, lshostvdiskmap)
	register("mcsinq", "lsvdisklcmappings", objRequired, lsFlags(), nil, lsvdisklcmappings)
}

// The 30 columns of the real-array capture in [G]'s test (mcs-cli.md §4.2).
var vdiskHeader = []string{"id", "name", "IO_group_id", "IO_group_name", "status", "mdisk_grp_id",
	"mdisk_grp_name", "capacity", "type", "LC_id", "LC_name", "RC_id", "RC_name", "vdisk_UID", "lc_map_count",
	"copy_count", "fast_write_state", "se_copy_count", "RC_change", "compressed_copy_count",
	"parent_mdisk_grp_id", "parent_mdisk_grp_name", "formatting", "encrypt", "volume_id", "volume_name",
	"function", "ica", "ica_bypass", "ica_pid"}

func vdiskType(v *model.VDiskView) string {
	if v.CopyCount > 1 {
		return "many"
	}
	return "striped"
}

func vdiskRow(v *model.VDiskView, o *outOpts) []string {
	return []string{itoa(v.ID), v.Name, itoa(v.IOGrpID), v.IOGrpName, v.Status, v.PoolID, v.PoolName,
		o.size(v.Capacity), vdiskType(v), v.LCID, v.LCName, v.RCID, v.RCName, v.UID, itoa(v.LCMapCount),
		itoa(v.CopyCount), "empty", itoa(v.SECopyCount), yesNo(v.RCChange), itoa(v.CompressedCopyCount),
		v.PoolID, v.PoolName, "no", "no", itoa(v.VolumeID), v.VolumeName, v.Function, "off", "off", ""}
}

func lsvdisk(c *CLI, a *args) ([]byte, error) {
	o, err := outOptions(a)
	if err != nil {
		return nil, err
	}
	if a.hasObj {
		v, err := c.a.VDisk(a.obj)
		if err != nil {
			return nil, err
		}
		return vdiskDetail(&v, o).render(o), nil
	}
	var sel model.VDiskSelector
	if len(o.filters) > 0 && !o.filters[0].prefix {
		sel = model.VDiskSelector{Attr: o.filters[0].attr, Value: o.filters[0].value}
	}
	vs := c.a.VDisks(sel)
	t := &table{header: vdiskHeader, rows: make([][]string, 0, len(vs))}
	for i := range vs {
		t.add(vdiskRow(&vs[i], o)...)
	}
	if err := t.applyFilters(o.filters); err != nil {
		return nil, err
	}
	return t.render(o), nil
}

// vdiskDetail is section 0, then a blank line and one section per copy
// (§2.3: 2 sections for one copy, 3 for two).
func vdiskDetail(v *model.VDiskView, o *outOpts) *detail {
	d := &detail{}
	d.kv("id", itoa(v.ID))
	d.kv("name", v.Name)
	d.kv("IO_group_id", itoa(v.IOGrpID))
	d.kv("IO_group_name", v.IOGrpName)
	d.kv("status", v.Status)
	d.kv("mdisk_grp_id", v.PoolID)
	d.kv("mdisk_grp_name", v.PoolName)
	d.kv("capacity", o.size(v.Capacity))
	d.kv("type", vdiskType(v))
	d.kv("formatted", yesNo(v.Formatted))
	d.kv("formatting", "no")
	d.kv("mdisk_id", "")
	d.kv("mdisk_name", "")
	d.kv("LC_id", v.LCID)
	d.kv("LC_name", v.LCName)
	d.kv("RC_id", v.RCID)
	d.kv("RC_name", v.RCName)
	d.kv("vdisk_UID", v.UID)
	d.kv("throttling", itoa(v.Rate))
	d.kv("preferred_node_id", itoa(v.PreferredNodeID))
	d.kv("fast_write_state", "empty")
	d.kv("cache", "readwrite")
	d.kv("udid", "")
	d.kv("lc_map_count", itoa(v.LCMapCount))
	d.kv("sync_rate", "50")
	d.kv("copy_count", itoa(v.CopyCount))
	d.kv("se_copy_count", itoa(v.SECopyCount))
	d.kv("mirror_write_priority", "latency")
	d.kv("RC_change", yesNo(v.RCChange))
	d.kv("compressed_copy_count", itoa(v.CompressedCopyCount))
	d.kv("access_IO_group_count", itoa(len(v.AccessIOGrps)))
	d.kv("volume_id", itoa(v.VolumeID))
	d.kv("volume_name", v.VolumeName)
	d.kv("function", v.Function)
	for i := range v.Copies {
		cp := &v.Copies[i]
		d.section()
		d.kv("copy_id", itoa(cp.CopyID))
		d.kv("status", cp.Status)
		d.kv("sync", yesNo(cp.Sync))
		d.kv("primary", yesNo(cp.Primary))
		d.kv("mdisk_grp_id", itoa(cp.PoolID))
		d.kv("mdisk_grp_name", cp.PoolName)
		d.kv("type", "striped")
		d.kv("used_capacity", o.size(cp.Used))
		d.kv("real_capacity", o.size(cp.Real))
		d.kv("free_capacity", o.size(cp.Free))
		d.kv("overallocation", overalloc(cp))
		copyThinFields(d, cp)
		d.kv("se_copy", yesNo(cp.Thin))
		d.kv("compressed_copy", yesNo(cp.Compressed))
		d.kv("in_tier", cp.InTier)
		d.kv("in_tier_status", "inactive")
	}
	return d
}

// copyThinFields prints autoexpand/warning/grainsize: empty for thick
// copies (§4.2; Cinder's manage_existing relies on it).
func copyThinFields(d *detail, cp *model.CopyView) {
	if cp.Thin || cp.Compressed {
		d.kv("autoexpand", onOffStr(cp.AutoExpand))
		d.kv("warning", itoa(cp.WarningPct))
		if cp.Thin {
			d.kv("grainsize", itoa(cp.GrainSize))
		} else {
			d.kv("grainsize", "")
		}
		return
	}
	d.kv("autoexpand", "")
	d.kv("warning", "")
	d.kv("grainsize", "")
}

func overalloc(cp *model.CopyView) string {
	if cp.Real == 0 {
		return "0"
	}
	return itoa(int(cp.Capacity * 100 / cp.Real))
}

func copyType(cp *model.CopyView) string { return "striped" }

func lsvdiskcopy(c *CLI, a *args) ([]byte, error) {
	o, err := outOptions(a)
	if err != nil {
		return nil, err
	}
	var vs []model.VDiskView
	if a.hasObj {
		v, err := c.a.VDisk(a.obj)
		if err != nil {
			return nil, mErr("CMMVC5804E", "The action failed because an object that was specified in the command does not exist.")
		}
		vs = []model.VDiskView{v}
	} else {
		vs = c.a.VDisks(model.VDiskSelector{})
	}
	if a.has("-copy") {
		if !a.hasObj {
			return nil, mErr("CMMVC5707E", "Required parameters are missing.")
		}
		id, err := a.intFlag("-copy", 0)
		if err != nil {
			return nil, err
		}
		for i := range vs[0].Copies {
			cp := &vs[0].Copies[i]
			if cp.CopyID != id {
				continue
			}
			d := &detail{}
			d.kv("vdisk_id", itoa(cp.VDiskID))
			d.kv("vdisk_name", cp.VDiskName)
			d.kv("capacity", o.size(cp.Capacity))
			d.kv("copy_id", itoa(cp.CopyID))
			d.kv("status", cp.Status)
			d.kv("sync", yesNo(cp.Sync))
			d.kv("primary", yesNo(cp.Primary))
			d.kv("mdisk_grp_id", itoa(cp.PoolID))
			d.kv("mdisk_grp_name", cp.PoolName)
			d.kv("type", copyType(cp))
			d.kv("used_capacity", o.size(cp.Used))
			d.kv("real_capacity", o.size(cp.Real))
			d.kv("free_capacity", o.size(cp.Free))
			d.kv("overallocation", overalloc(cp))
			copyThinFields(d, cp)
			d.kv("se_copy", yesNo(cp.Thin))
			d.kv("in_tier", cp.InTier)
			d.kv("in_tier_status", "inactive")
			d.kv("compressed_copy", yesNo(cp.Compressed))
			return d.render(o), nil
		}
		return nil, mErr("CMMVC6353E", "The command failed because the copy specified does not exist.")
	}
	t := &table{header: []string{"vdisk_id", "vdisk_name", "copy_id", "status", "sync", "primary", "mdisk_grp_id",
		"mdisk_grp_name", "capacity", "type", "se_copy", "in_tier", "in_tier_status", "compressed_copy"}}
	for i := range vs {
		for j := range vs[i].Copies {
			cp := &vs[i].Copies[j]
			t.add(itoa(cp.VDiskID), cp.VDiskName, itoa(cp.CopyID), cp.Status, yesNo(cp.Sync), yesNo(cp.Primary),
				itoa(cp.PoolID), cp.PoolName, o.size(cp.Capacity), copyType(cp), yesNo(cp.Thin), cp.InTier,
				"inactive", yesNo(cp.Compressed))
		}
	}
	if err := t.applyFilters(o.filters); err != nil {
		return nil, err
	}
	return t.render(o), nil
}

func lsvdisksyncprogress(c *CLI, a *args) ([]byte, error) {
	var vs []model.VDiskView
	if a.hasObj {
		v, err := c.a.VDisk(a.obj)
		if err != nil {
			return nil, mErr("CMMVC5804E", "The action failed because an object that was specified in the command does not exist.")
		}
		vs = []model.VDiskView{v}
	} else {
		vs = c.a.VDisks(model.VDiskSelector{})
	}
	want := -1
	if a.has("-copy") {
		n, err := a.intFlag("-copy", 0)
		if err != nil {
			return nil, err
		}
		want = n
	}
	t := &table{header: []string{"vdisk_id", "vdisk_name", "copy_id", "progress", "estimated_completion_time"}}
	found := false
	for i := range vs {
		for _, cp := range vs[i].Copies {
			if want >= 0 && cp.CopyID != want {
				continue
			}
			found = true
			if !a.hasObj && cp.Sync {
				continue // unfiltered list shows copies still synchronising
			}
			t.add(itoa(cp.VDiskID), cp.VDiskName, itoa(cp.CopyID), itoa(cp.SyncProgress), "")
		}
	}
	if want >= 0 && !found {
		return nil, mErr("CMMVC6353E", "The command failed because the copy specified does not exist.")
	}
	return list(a, t)
}

var hostMapHeader = []string{"id", "name", "SCSI_id", "host_id", "host_name", "vdisk_UID", "IO_group_id", "IO_group_name"}

func lsvdiskhostmap(c *CLI, a *args) ([]byte, error) {
	rows, err := c.a.VDiskHostMaps(a.obj)
	if err != nil {
		return nil, err
	}
	t := &table{header: hostMapHeader}
	for _, m := range rows {
		t.add(itoa(m.VDiskID), m.VDiskName, itoa(m.SCSIID), itoa(m.HostID), m.HostName, m.VDiskUID,
			itoa(m.IOGrpID), m.IOGrpName)
	}
	return list(a, t)
}

func lshostvdiskmap(c *CLI, a *args) ([]byte, error) {
	var rows []model.HostMapView
	if a.hasObj {
		r, err := c.a.HostVDiskMaps(a.obj)
		if err != nil {
			return nil, err
		}
		rows = r
	} else {
		for _, h := range c.a.Hosts() {
			r, _ := c.a.HostVDiskMaps(itoa(h.ID))
			rows = append(rows, r...)
		}
	}
	t := &table{header: []string{"id", "name", "SCSI_id", "vdisk_id", "vdisk_name", "vdisk_UID", "IO_group_id", "IO_group_name"}}
	for _, m := range rows {
		t.add(itoa(m.HostID), m.HostName, itoa(m.SCSIID), itoa(m.VDiskID), m.VDiskName, m.VDiskUID,
			itoa(m.IOGrpID), m.IOGrpName)
	}
	return list(a, t)
}

func lsvdisklcmappings(c *CLI, a *args) ([]byte, error) {
	maps, err := c.a.VDiskLCMaps(a.obj)
	if err != nil {
		return nil, mErr("CMMVC5707E", "Required parameters are missing.")
	}
	t := &table{header: []string{"id", "name"}}
	for _, m := range maps {
		t.add(itoa(m.ID), m.Name)
	}
	return list(a, t)
}
