package cli

import "github.com/instorage-csi/instorage-csi/emulator/model"

func init() {
	register("mcsop", "mkhost", objNone, opFlags("-name", "-iscsiname", "-hbawwpn", "-force?", "-site", "-type",
		"-iogrp"), nil, mkhost)
	register("mcsop", "addhostport", objRequired, opFlags("-iscsiname", "-hbawwpn", "-force?"), nil, addhostport)
	register("mcsop", "chhost", objRequired, opFlags("-chapsecret", "-nochapsecret?", "-name", "-site", "-type"),
		nil, chhost)
	register("mcsop", "rmhost", objRequired, opFlags(), nil, rmhost)
	register("mcsop", "mkvdiskhostmap", objRequired, opFlags("-host", "-scsi", "-force?"), []string{"-host"}, mkvdiskhostmap)
	register("mcsop", "rmvdiskhostmap", objRequired, opFlags("-host"), []string{"-host"}, rmvdiskhostmap)
}

func mkhost(c *CLI, a *args) ([]byte, error) {
	if a.has("-name") && a.str("-name") == "" {
		return nil, errInvalidParam("-name")
	}
	if t, ok := a.flags["-type"]; ok && t != "generic" {
		return nil, errInvalidParam("-type")
	}
	id, err := c.a.MkHost(model.MkHostReq{Name: a.str("-name"), IQNs: commaList(a.str("-iscsiname")),
		WWPNs: colonList(a.str("-hbawwpn")), Site: a.str("-site")})
	if err != nil {
		return nil, err
	}
	return created("Host", id), nil
}

func addhostport(c *CLI, a *args) ([]byte, error) {
	return nil, c.a.AddHostPort(a.obj, commaList(a.str("-iscsiname")), colonList(a.str("-hbawwpn")))
}

func chhost(c *CLI, a *args) ([]byte, error) {
	var r model.ChHostReq
	if v, ok := a.flags["-chapsecret"]; ok {
		r.CHAPSecret = &v
	}
	r.NoCHAPSecret = a.has("-nochapsecret")
	if v, ok := a.flags["-name"]; ok {
		r.Name = &v
	}
	if v, ok := a.flags["-site"]; ok {
		r.Site = &v
	}
	if r.CHAPSecret != nil && r.NoCHAPSecret {
		return nil, errInvalidParam("-nochapsecret")
	}
	return nil, c.a.ChHost(a.obj, r)
}

func rmhost(c *CLI, a *args) ([]byte, error) { return nil, c.a.RmHost(a.obj) }

func mkvdiskhostmap(c *CLI, a *args) ([]byte, error) {
	scsi := -1
	if a.has("-scsi") {
		n, err := a.intFlag("-scsi", 0)
		if err != nil {
			return nil, err
		}
		scsi = n
	}
	id, err := c.a.MkVDiskHostMap(a.str("-host"), a.obj, scsi, a.has("-force"))
	if err != nil {
		return nil, err
	}
	return created("Virtual Disk to Host map", id), nil
}

func rmvdiskhostmap(c *CLI, a *args) ([]byte, error) {
	return nil, c.a.RmVDiskHostMap(a.str("-host"), a.obj)
}
