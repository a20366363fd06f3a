package cli

import (
	"github.com/instorage-csi/instorage-csi/emulator/model"
)

func init() {
	register("mcsinq", "lssystem", objNone, lsFlags(), nil, lssystem)
	register("mcsinq", "lslicense", objNone, lsFlags(), nil, lslicense)
	register("mcsinq", "lsguicapabilities", objNone, lsFlags(), nil, lsguicapabilities)
	register("mcsinq", "lsnode", objOptional, lsFlags(), nil, lsnode)
	register("mcsinq", "lsiogrp", objOptional, lsFlags(), nil, lsiogrp)
	register("mcsinq", "lsportip", objNone, lsFlags(), nil, lsportip)
	register("mcsinq", "lsportfc", objNone, lsFlags(), nil, lsportfc)
	register("mcsinq", "lsfabric", objNone, lsFlags("-wwpn", "-host"), nil, lsfabric)
	register("mcsinq", "lsmdiskgrp", objOptional, lsFlags(), nil, lsmdiskgrp)
	register("mcsinq", "lspartnership", objOptional, lsFlags(), nil, lspartnership)
	register("mcsinq", "lspartnershipcandidate", objNone, lsFlags(), nil, lspartnershipcandidate)
}

// list renders t after filters.
func list(a *args, t *table) ([]byte, error) {
	o, err := outOptions(a)
	if err != nil {
		return nil, err
	}
	if err := t.applyFilters(o.filters); err != nil {
		return nil, err
	}
	return t.render(o), nil
}

func lssystem(c *CLI, a *args) ([]byte, error) {
	o, err := outOptions(a)
	if err != nil {
		return nil, err
	}
	s := c.a.System()
	d := &detail{}
	d.kv("id", s.ID)
	d.kv("name", s.Name)
	d.kv("location", "local")
	d.kv("partnership", "")
	d.kv("total_mdisk_capacity", o.size(s.TotalCapacity))
	d.kv("total_used_capacity", o.size(s.TotalCapacity-s.TotalFree))
	d.kv("total_free_space", o.size(s.TotalFree))
	d.kv("code_level", s.CodeLevel)
	d.kv("product_name", "Inspur InStorage MCS (emulated)")
	d.kv("topology", "standard")
	return d.render(o), nil
}

func lslicense(c *CLI, a *args) ([]byte, error) {
	o, err := outOptions(a)
	if err != nil {
		return nil, err
	}
	s := c.a.System()
	d := &detail{}
	d.kv("used_compression_capacity", "0.00")
	if s.Compression {
		d.kv("license_compression_capacity", "0")
		d.kv("license_compression_enclosures", "1")
	} else {
		d.kv("license_compression_capacity", "0")
		d.kv("license_compression_enclosures", "0")
	}
	return d.render(o), nil
}

func lsguicapabilities(c *CLI, a *args) ([]byte, error) {
	o, err := outOptions(a)
	if err != nil {
		return nil, err
	}
	d := &detail{}
	d.kv("license_scheme", "1813")
	d.kv("product_key", "1813")
	d.kv("compression", yesNo(c.a.System().Compression))
	return d.render(o), nil
}

func lsnode(c *CLI, a *args) ([]byte, error) {
	nodes := c.a.NodeViews()
	if a.hasObj {
		o, err := outOptions(a)
		if err != nil {
			return nil, err
		}
		for _, n := range nodes {
			if itoa(n.ID) == a.obj || n.Name == a.obj {
				d := &detail{}
				d.kv("id", itoa(n.ID))
				d.kv("name", n.Name)
				d.kv("WWNN", n.WWNN)
				d.kv("status", nodeStatus(n))
				d.kv("IO_group_id", itoa(n.IOGrpID))
				d.kv("IO_group_name", n.IOGrpName)
				d.kv("iscsi_name", n.TargetIQN)
				d.kv("site_id", n.SiteID)
				d.kv("site_name", n.SiteName)
				for i := range n.WWPNs {
					d.kv("port_id", n.WWPNs[i])
					d.kv("port_status", portStatus(n.Online))
					d.kv("port_speed", "16Gb")
				}
				return d.render(o), nil
			}
		}
		return nil, mErr("CMMVC5754E", "The specified object does not exist, or the name supplied does not meet the naming rules.")
	}
	t := &table{header: []string{"id", "name", "UPS_serial_number", "WWNN", "status", "IO_group_id", "IO_group_name",
		"config_node", "UPS_unique_id", "hardware", "iscsi_name", "iscsi_alias", "panel_name", "enclosure_id",
		"canister_id", "enclosure_serial_number", "site_id", "site_name"}}
	for _, n := range nodes {
		t.add(itoa(n.ID), n.Name, "", n.WWNN, nodeStatus(n), itoa(n.IOGrpID), n.IOGrpName, yesNo(n.ConfigNode),
			n.WWNN, "EMU", n.TargetIQN, "", "01-"+itoa(n.ID), "1", itoa(n.ID), "EMU0001", n.SiteID, n.SiteName)
	}
	return list(a, t)
}

func nodeStatus(n model.NodeView) string {
	if n.Online {
		return "online"
	}
	return "offline"
}

func portStatus(online bool) string {
	if online {
		return "active"
	}
	return "inactive"
}

func lsiogrp(c *CLI, a *args) ([]byte, error) {
	grps := c.a.IOGrps()
	if a.hasObj {
		o, err := outOptions(a)
		if err != nil {
			return nil, err
		}
		for _, g := range grps {
			if itoa(g.ID) == a.obj || g.Name == a.obj {
				d := &detail{}
				d.kv("id", itoa(g.ID))
				d.kv("name", g.Name)
				d.kv("node_count", itoa(g.NodeCount))
				d.kv("vdisk_count", itoa(g.VDiskCount))
				d.kv("host_count", itoa(g.HostCount))
				d.kv("site_id", g.SiteID)
				d.kv("site_name", g.SiteName)
				return d.render(o), nil
			}
		}
		return nil, notExist()
	}
	t := &table{header: []string{"id", "name", "node_count", "vdisk_count", "host_count", "site_id", "site_name"}}
	for _, g := range grps {
		t.add(itoa(g.ID), g.Name, itoa(g.NodeCount), itoa(g.VDiskCount), itoa(g.HostCount), g.SiteID, g.SiteName)
	}
	return list(a, t)
}

func notExist() error {
	return mErr("CMMVC5754E", "The specified object does not exist, or the name supplied does not meet the naming rules.")
}

func lsportip(c *CLI, a *args) ([]byte, error) {
	t := &table{header: []string{"id", "node_id", "node_name", "IP_address", "mask", "gateway", "IP_address_6",
		"prefix_6", "gateway_6", "MAC", "duplex", "state", "speed", "failover", "link_state", "host"}}
	for _, p := range c.a.PortIPs() {
		duplex, speed, prefix6, host := "", "", "", ""
		if p.State != "unconfigured" {
			duplex, speed, host = "Full", "10Gb/s", "yes"
			if p.IP6 != "" {
				prefix6 = "64"
			}
		}
		t.add(itoa(p.ID), itoa(p.NodeID), p.NodeName, p.IP, p.Mask, p.Gateway, p.IP6, prefix6, "", p.MAC, duplex,
			p.State, speed, yesNo(p.Failover), p.LinkState, host)
	}
	return list(a, t)
}

func lsportfc(c *CLI, a *args) ([]byte, error) {
	t := &table{header: []string{"id", "fc_io_port_id", "port_id", "type", "port_speed", "node_id", "node_name",
		"WWPN", "nportid", "status", "attachment"}}
	for _, p := range c.a.PortFCs() {
		t.add(itoa(p.ID), itoa(p.FCIOPortID), itoa(p.PortID), "fc", "16Gb", itoa(p.NodeID), p.NodeName, p.WWPN,
			p.NPortID, p.Status, "switch")
	}
	return list(a, t)
}

func lsfabric(c *CLI, a *args) ([]byte, error) {
	rows, err := c.a.Fabric(a.str("-wwpn"), a.str("-host"))
	if err != nil {
		return nil, err
	}
	name := c.a.System().Name
	t := &table{header: []string{"remote_wwpn", "remote_nportid", "id", "node_name", "local_wwpn", "local_port",
		"local_nportid", "state", "name", "cluster_name", "type"}}
	for _, r := range rows {
		typ := "host"
		if r.Host == "" {
			typ = "unknown"
		}
		t.add(r.RemoteWWPN, r.RemoteNPortID, itoa(r.ID), r.NodeName, r.LocalWWPN, itoa(r.LocalPort),
			r.LocalNPortID, r.State, r.Host, name, typ)
	}
	return list(a, t)
}

var poolHeader = []string{"id", "name", "status", "mdisk_count", "vdisk_count", "capacity", "extent_size",
	"free_capacity", "virtual_capacity", "used_capacity", "real_capacity", "overallocation", "warning", "in_tier",
	"in_tier_status"}

func poolFields(p model.PoolView, o *outOpts) []string {
	return []string{itoa(p.ID), p.Name, p.Status, itoa(p.MDiskCount), itoa(p.VDiskCount), o.size(p.Capacity),
		itoa(p.ExtentSizeMB), o.size(p.Free), o.size(p.Virtual), o.size(p.Used), o.size(p.Real),
		itoa(p.Overallocation), itoa(p.WarningPct), p.InTier, "inactive"}
}

func lsmdiskgrp(c *CLI, a *args) ([]byte, error) {
	o, err := outOptions(a)
	if err != nil {
		return nil, err
	}
	pools := c.a.Pools()
	if a.hasObj {
		for _, p := range pools {
			if itoa(p.ID) == a.obj || p.Name == a.obj {
				d := &detail{}
				for i, v := range poolFields(p, o) {
					d.kv(poolHeader[i], v)
				}
				return d.render(o), nil
			}
		}
		return nil, notExist()
	}
	t := &table{header: poolHeader}
	for _, p := range pools {
		t.add(poolFields(p, o)...)
	}
	return list(a, t)
}

func lspartnership(c *CLI, a *args) ([]byte, error) {
	ps := c.a.Partnerships()
	hdr := []string{"id", "name", "location", "partnership", "type", "cluster_ip", "event_log_sequence"}
	if a.hasObj {
		o, err := outOptions(a)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if p.ID == a.obj || p.Name == a.obj {
				d := &detail{}
				for i, v := range []string{p.ID, p.Name, p.Location, p.Partnership, p.Type, p.ClusterIP, ""} {
					d.kv(hdr[i], v)
				}
				return d.render(o), nil
			}
		}
		return nil, notExist()
	}
	t := &table{header: hdr}
	for _, p := range ps {
		t.add(p.ID, p.Name, p.Location, p.Partnership, p.Type, p.ClusterIP, "")
	}
	return list(a, t)
}

// lspartnershipcandidate: this emulator sees no other systems.
func lspartnershipcandidate(c *CLI, a *args) ([]byte, error) {
	return list(a, &table{header: []string{"id", "configured", "name"}})
}
