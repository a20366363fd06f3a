package cli

import "github.com/instorage-csi/instorage-csi/emulator/model"

func init() {
	register("mcsinq", "lshost", objOptional, lsFlags(), nil, lshost)
	register("mcsinq", "lsiscsiauth", objNone, lsFlags(), nil, lsiscsiauth)
	register("mcsinq", "lslcmap", objOptional, lsFlags(), nil, lslcmap)
	register("mcsinq", "lslcconsistgrp", objOptional, lsFlags(), nil, lslcconsistgrp)
	register("mcsinq", "lsrcrelationship", objOptional, lsFlags(), nil, lsrcrelationship)
}

func lshost(c *CLI, a *args) ([]byte, error) {
	if a.hasObj {
		o, err := outOptions(a)
		if err != nil {
			return nil, err
		}
		h, err := c.a.Host(a.obj)
		if err != nil {
			return nil, err
		}
		// One section, ports repeated, no blank lines (§4.3).
		d := &detail{}
		d.kv("id", itoa(h.ID))
		d.kv("name", h.Name)
		d.kv("port_count", itoa(h.PortCount))
		d.kv("type", "generic")
		d.kv("mask", "1111111111111111111111111111111111111111111111111111111111111111")
		d.kv("iogrp_count", itoa(h.IOGrpCount))
		d.kv("status", h.Status)
		d.kv("site_id", h.SiteID)
		d.kv("site_name", h.SiteName)
		for _, q := range h.IQNs {
			d.kv("iscsi_name", q)
			d.kv("node_logged_in_count", "0")
			d.kv("state", "active")
		}
		for _, w := range h.WWPNs {
			d.kv("WWPN", w)
			d.kv("node_logged_in_count", itoa(h.LoggedIn[w]))
			d.kv("state", "active")
		}
		return d.render(o), nil
	}
	t := &table{header: []string{"id", "name", "port_count", "iogrp_count", "status", "site_id", "site_name"}}
	for _, h := range c.a.Hosts() {
		t.add(itoa(h.ID), h.Name, itoa(h.PortCount), itoa(h.IOGrpCount), h.Status, h.SiteID, h.SiteName)
	}
	return list(a, t)
}

func lsiscsiauth(c *CLI, a *args) ([]byte, error) {
	t := &table{header: []string{"type", "id", "name", "iscsi_auth_method", "iscsi_chap_secret"}}
	for _, h := range c.a.Hosts() {
		method := "none"
		if h.CHAPSecret != "" {
			method = "chap"
		}
		t.add("host", itoa(h.ID), h.Name, method, h.CHAPSecret)
	}
	return list(a, t)
}

var lcmapHeader = []string{"id", "name", "source_vdisk_id", "source_vdisk_name", "target_vdisk_id",
	"target_vdisk_name", "group_id", "group_name", "status", "progress", "copy_rate", "clean_progress",
	"incremental", "partner_FC_id", "partner_FC_name", "restoring", "start_time", "rc_controlled"}

func lslcmap(c *CLI, a *args) ([]byte, error) {
	o, err := outOptions(a)
	if err != nil {
		return nil, err
	}
	if a.hasObj {
		m, err := c.a.LCMap(a.obj)
		if err != nil {
			return nil, err
		}
		d := &detail{}
		for i, v := range lcmapRow(m) {
			d.kv(lcmapHeader[i], v)
		}
		d.kv("autodelete", onOffStr(m.AutoDelete))
		d.kv("clean_rate", itoa(m.CleanRate))
		return d.render(o), nil
	}
	t := &table{header: lcmapHeader}
	for _, m := range c.a.LCMaps() {
		t.add(lcmapRow(m)...)
	}
	if err := t.applyFilters(o.filters); err != nil {
		return nil, err
	}
	return t.render(o), nil
}

func lcmapRow(m model.LCMapView) []string {
	gid := ""
	if m.GroupID >= 0 {
		gid = itoa(m.GroupID)
	}
	return []string{itoa(m.ID), m.Name, itoa(m.SourceID), m.SourceName, itoa(m.TargetID), m.TargetName, gid,
		m.GroupName, m.Status, itoa(m.Progress), itoa(m.CopyRate), "100", "off", "", "", "no", lcTime(m.StartTime),
		yesNo(m.RCControlled)}
}

func lslcconsistgrp(c *CLI, a *args) ([]byte, error) {
	o, err := outOptions(a)
	if err != nil {
		return nil, err
	}
	if a.hasObj {
		g, err := c.a.LCGroup(a.obj)
		if err != nil {
			return nil, err
		}
		d := &detail{}
		d.kv("id", itoa(g.ID))
		d.kv("name", g.Name)
		d.kv("status", g.Status)
		d.kv("autodelete", onOffStr(g.AutoDelete))
		d.kv("start_time", lcTime(g.StartTime))
		for _, m := range g.Maps {
			d.kv("FC_mapping_id", itoa(m.ID))
			d.kv("FC_mapping_name", m.Name)
		}
		return d.render(o), nil
	}
	t := &table{header: []string{"id", "name", "status", "start_time"}}
	for _, g := range c.a.LCGroups() {
		t.add(itoa(g.ID), g.Name, g.Status, lcTime(g.StartTime))
	}
	return list(a, t)
}

var rcHeader = []string{"id", "name", "master_cluster_id", "master_cluster_name", "master_vdisk_id",
	"master_vdisk_name", "aux_cluster_id", "aux_cluster_name", "aux_vdisk_id", "aux_vdisk_name",
	"consistency_group_id", "primary", "consistency_group_name", "state", "bg_copy_priority", "progress",
	"freeze_time", "status", "sync", "copy_type", "cycling_mode", "cycle_period_seconds",
	"master_change_vdisk_id", "master_change_vdisk_name", "aux_change_vdisk_id", "aux_change_vdisk_name"}

func lsrcrelationship(c *CLI, a *args) ([]byte, error) {
	o, err := outOptions(a)
	if err != nil {
		return nil, err
	}
	sys := c.a.System()
	t := &table{header: rcHeader}
	for _, r := range c.a.RCRelationships() {
		t.add(itoa(r.ID), r.Name, sys.ID, sys.Name, itoa(r.MasterID), r.MasterName, sys.ID, sys.Name,
			itoa(r.AuxID), r.AuxName, "", r.Primary, "", r.State, "50", r.Progress, "", "online", "", r.CopyType,
			"", "300", r.MasterChangeID, r.MasterChangeName, r.AuxChangeID, r.AuxChangeName)
	}
	if a.hasObj {
		for _, row := range t.rows {
			if row[0] == a.obj || row[1] == a.obj {
				d := &detail{}
				for i, v := range row {
					d.kv(rcHeader[i], v)
				}
				return d.render(o), nil
			}
		}
		return nil, notExist()
	}
	if err := t.applyFilters(o.filters); err != nil {
		return nil, err
	}
	return t.render(o), nil
}
