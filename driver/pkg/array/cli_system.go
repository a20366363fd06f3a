package array

import (
	"context"
	"fmt"
)

// Topology queries: lssystem, lsiogrp, lsnode, lsportip, lsportfc, lsfabric
// (mcs-cli.md §4.1), each sent exactly as [G] sends it.

func (c *CLI) LsSystem(ctx context.Context) (System, error) {
	out, err := c.query(ctx, "lssystem", "-delim", delim)
	if err != nil {
		return System{}, err
	}
	secs := parseDetail(out)
	if len(secs) == 0 {
		return System{}, fmt.Errorf("%w: lssystem printed nothing", ErrUnexpectedOutput)
	}
	r := secs[0]
	return System{ID: r.get("id"), Name: r.get("name"), CodeLevel: r.get("code_level")}, nil
}

func (c *CLI) LsIOGrp(ctx context.Context) ([]IOGroup, error) {
	out, err := c.query(ctx, "lsiogrp", "-delim", delim)
	if err != nil {
		return nil, err
	}
	var res []IOGroup
	for i, r := range parseList(out) {
		g := IOGroup{
			ID: r.get("id"), Name: r.get("name"),
			NodeCount: r.int("node_count"), VDiskCount: r.int("vdisk_count"),
			SiteID: r.get("site_id"), SiteName: r.get("site_name"),
		}
		if err := r.err(fmt.Sprintf("lsiogrp row %d", i)); err != nil {
			return nil, err
		}
		res = append(res, g)
	}
	return res, nil
}

func (c *CLI) LsNode(ctx context.Context) ([]Node, error) {
	out, err := c.query(ctx, "lsnode", "-delim", delim)
	if err != nil {
		return nil, err
	}
	var res []Node
	for _, r := range parseList(out) {
		res = append(res, Node{
			ID: r.get("id"), Name: r.get("name"), Status: r.get("status"),
			IOGroupID: r.get("IO_group_id"), IOGroupName: r.get("IO_group_name"),
			ISCSIName: r.get("iscsi_name"),
			SiteID:    r.get("site_id"), SiteName: r.get("site_name"),
		})
	}
	return res, nil
}

func (c *CLI) LsPortIP(ctx context.Context) ([]PortIP, error) {
	out, err := c.query(ctx, "lsportip", "-delim", delim)
	if err != nil {
		return nil, err
	}
	var res []PortIP
	for _, r := range parseList(out) {
		p := PortIP{
			ID: r.get("id"), NodeID: r.get("node_id"), NodeName: r.get("node_name"),
			IPAddress: r.get("IP_address"), IPAddress6: r.get("IP_address_6"),
			State: r.get("state"), LinkState: r.get("link_state"),
		}
		// Usable rule of §4.1 ([G]); an optional "host" column set to
		// "no" marks a replication-only port.
		up := (p.State == "configured" && p.LinkState == "active") || p.State == "online"
		p.HostPort = up && (p.IPAddress != "" || p.IPAddress6 != "") && r.get("host") != "no"
		res = append(res, p)
	}
	return res, nil
}

func (c *CLI) LsPortFC(ctx context.Context) ([]PortFC, error) {
	out, err := c.query(ctx, "lsportfc", "-delim", delim)
	if err != nil {
		return nil, err
	}
	var res []PortFC
	for _, r := range parseList(out) {
		res = append(res, PortFC{
			ID: r.get("id"), NodeID: r.get("node_id"), NodeName: r.get("node_name"),
			WWPN: r.get("WWPN"), Status: r.get("status"), Type: r.get("type"),
		})
	}
	return res, nil
}

func (c *CLI) LsFabric(ctx context.Context, wwpn, host string) ([]Fabric, error) {
	var argv []string
	switch {
	case wwpn != "" && host == "":
		if err := checkWWPN(wwpn); err != nil {
			return nil, err
		}
		argv = []string{"lsfabric", "-delim", delim, "-wwpn", wwpn}
	case host != "" && wwpn == "":
		if err := checkNameOrID("host", host); err != nil {
			return nil, err
		}
		argv = []string{"lsfabric", "-delim", delim, "-host", host}
	default:
		return nil, invalidf("lsfabric needs exactly one of wwpn or host")
	}
	out, err := c.query(ctx, argv...)
	if err != nil {
		return nil, err
	}
	var res []Fabric
	for _, r := range parseList(out) {
		res = append(res, Fabric{
			RemoteWWPN: r.get("remote_wwpn"), LocalWWPN: r.get("local_wwpn"),
			NodeName: r.get("node_name"), HostName: r.get("name"), State: r.get("state"),
		})
	}
	return res, nil
}
