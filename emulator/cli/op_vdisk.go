package cli

import (
	"fmt"

	"github.com/instorage-csi/instorage-csi/emulator/model"
)

func init() {
	register("mcsop", "mkvdisk", objNone, opFlags("-name", "-size", "-unit", "-mdiskgrp", "-iogrp", "-copies",
		"-accessiogrp", "-rsize", "-warning", "-autoexpand?", "-grainsize", "-compressed?", "-intier", "-node",
		"-vtype", "-udid"), []string{"-mdiskgrp", "-size"}, mkvdisk)
	register("mcsop", "mkvolume", objNone, opFlags("-name", "-size", "-unit", "-pool", "-iogrp", "-buffersize",
		"-warning", "-noautoexpand?", "-thin?", "-compressed?", "-grainsize"), []string{"-pool", "-size"}, mkvolume)
	register("mcsop", "rmvdisk", objRequired, opFlags("-force?"), nil, rmvdisk)
	register("mcsop", "rmvolume", objRequired, opFlags("-removehostmappings?", "-removercrelationships?",
		"-removelcmaps?", "-discardimage?", "-cancelbackup?"), nil, rmvolume)
	register("mcsop", "chvdisk", objRequired, opFlags("-name", "-rate", "-warning", "-autoexpand", "-intier",
		"-unitmb?"), nil, chvdisk)
	register("mcsop", "expandvdisksize", objRequired, opFlags("-size", "-unit"), []string{"-size"}, expandvdisksize)
	register("mcsop", "movevdisk", objRequired, opFlags("-iogrp", "-node"), []string{"-iogrp"}, movevdisk)
	register("mcsop", "addvdiskaccess", objRequired, opFlags("-iogrp"), []string{"-iogrp"}, addvdiskaccess)
	register("mcsop", "rmvdiskaccess", objRequired, opFlags("-iogrp"), []string{"-iogrp"}, rmvdiskaccess)
	register("mcsop", "addvdiskcopy", objRequired, opFlags("-mdiskgrp", "-rsize", "-warning", "-autoexpand?",
		"-grainsize", "-compressed?", "-intier"), []string{"-mdiskgrp"}, addvdiskcopy)
	register("mcsop", "rmvdiskcopy", objRequired, opFlags("-copy"), []string{"-copy"}, rmvdiskcopy)
}

func created(what string, id int) []byte {
	return []byte(fmt.Sprintf("%s, id [%d], successfully created\n", what, id))
}

// thinParams reads -rsize/-warning/-autoexpand/-grainsize/-compressed/-intier.
func thinParams(a *args, r *model.MkVDiskReq) error {
	var err error
	r.RSizePct = 2 // compressed without -rsize
	if a.has("-rsize") {
		if r.RSizePct, err = a.pctFlag("-rsize", 2); err != nil {
			return err
		}
		r.Thin = true
	}
	if r.WarningPct, err = a.pctFlag("-warning", 0); err != nil {
		return err
	}
	if r.GrainSize, err = a.intFlag("-grainsize", 0); err != nil {
		return err
	}
	r.AutoExpand = a.has("-autoexpand")
	r.Compressed = a.has("-compressed")
	thin := r.Thin || r.Compressed
	if !thin && (a.has("-warning") || a.has("-autoexpand") || a.has("-grainsize")) {
		return mErr("CMMVC5707E", "Required parameters are missing.") // thin-only flags need -rsize
	}
	if v, ok := a.flags["-intier"]; ok {
		if v != "on" && v != "off" && v != "auto" {
			return errInvalidParam("-intier")
		}
		r.InTier = v
	}
	return nil
}

func mkvdisk(c *CLI, a *args) ([]byte, error) {
	size, err := a.sizeBytes()
	if err != nil {
		return nil, err
	}
	copies, err := a.intFlag("-copies", 0)
	if err != nil {
		return nil, err
	}
	r := model.MkVDiskReq{Name: a.str("-name"), SizeBytes: size, Pools: colonList(a.str("-mdiskgrp")),
		Copies: copies, IOGrp: a.str("-iogrp"), AccessIOGrps: colonList(a.str("-accessiogrp"))}
	if a.has("-name") && r.Name == "" {
		return nil, errInvalidParam("-name")
	}
	if err := thinParams(a, &r); err != nil {
		return nil, err
	}
	id, err := c.a.MkVDisk(r)
	if err != nil {
		return nil, err
	}
	return created("Virtual Disk", id), nil
}

func mkvolume(c *CLI, a *args) ([]byte, error) {
	size, err := a.sizeBytes()
	if err != nil {
		return nil, err
	}
	if !a.has("-name") || a.str("-name") == "" {
		return nil, mErr("CMMVC5707E", "Required parameters are missing.")
	}
	r := model.MkVolumeReq{Name: a.str("-name"), SizeBytes: size, Pools: colonList(a.str("-pool")),
		IOGrps: colonList(a.str("-iogrp")), Thin: a.has("-thin"), Compressed: a.has("-compressed"),
		AutoExpand: !a.has("-noautoexpand")}
	if r.Thin && r.Compressed {
		return nil, errInvalidParam("-compressed")
	}
	if r.BufferPct, err = a.pctFlag("-buffersize", 2); err != nil {
		return nil, err
	}
	if r.WarningPct, err = a.pctFlag("-warning", 0); err != nil {
		return nil, err
	}
	if r.GrainSize, err = a.intFlag("-grainsize", 0); err != nil {
		return nil, err
	}
	if !r.Thin && !r.Compressed && (a.has("-buffersize") || a.has("-grainsize") || a.has("-warning") || a.has("-noautoexpand")) {
		return nil, mErr("CMMVC5707E", "Required parameters are missing.")
	}
	if len(r.IOGrps) == 0 {
		return nil, mErr("CMMVC5707E", "Required parameters are missing.")
	}
	id, err := c.a.MkVolume(r)
	if err != nil {
		return nil, err
	}
	return created("Volume", id), nil
}

func rmvdisk(c *CLI, a *args) ([]byte, error) {
	return nil, c.a.RmVDisk(a.obj, a.has("-force"))
}

func rmvolume(c *CLI, a *args) ([]byte, error) {
	return nil, c.a.RmVolume(a.obj, model.RmVolumeReq{RemoveHostMappings: a.has("-removehostmappings"),
		RemoveRCRelationships: a.has("-removercrelationships"), RemoveLCMaps: a.has("-removelcmaps")})
}

func chvdisk(c *CLI, a *args) ([]byte, error) {
	var r model.ChVDiskReq
	n := 0
	if v, ok := a.flags["-name"]; ok {
		r.Name, n = &v, n+1
	}
	if a.has("-rate") {
		v, err := a.intFlag("-rate", 0)
		if err != nil {
			return nil, err
		}
		r.Rate, n = &v, n+1
	}
	if a.has("-warning") {
		v, err := a.pctFlag("-warning", 0)
		if err != nil {
			return nil, err
		}
		r.WarningPct, n = &v, n+1
	}
	if v, ok, err := a.onOff("-autoexpand"); err != nil {
		return nil, err
	} else if ok {
		r.AutoExpand, n = &v, n+1
	}
	if v, ok := a.flags["-intier"]; ok {
		if v != "on" && v != "off" && v != "auto" {
			return nil, errInvalidParam("-intier")
		}
		r.InTier, n = &v, n+1
	}
	if n != 1 {
		return nil, mErr("CMMVC5707E", "Required parameters are missing.")
	}
	return nil, c.a.ChVDisk(a.obj, r)
}

func expandvdisksize(c *CLI, a *args) ([]byte, error) {
	delta, err := a.sizeBytes()
	if err != nil {
		return nil, err
	}
	return nil, c.a.ExpandVDiskSize(a.obj, delta)
}

func movevdisk(c *CLI, a *args) ([]byte, error) {
	return nil, c.a.MoveVDisk(a.obj, a.str("-iogrp"))
}

func addvdiskaccess(c *CLI, a *args) ([]byte, error) {
	return nil, c.a.AddVDiskAccess(a.obj, a.str("-iogrp"))
}

func rmvdiskaccess(c *CLI, a *args) ([]byte, error) {
	return nil, c.a.RmVDiskAccess(a.obj, a.str("-iogrp"))
}

func addvdiskcopy(c *CLI, a *args) ([]byte, error) {
	r := model.MkVDiskReq{Pools: colonList(a.str("-mdiskgrp"))}
	if err := thinParams(a, &r); err != nil {
		return nil, err
	}
	vid, cid, err := c.a.AddVDiskCopy(a.obj, r)
	if err != nil {
		return nil, err
	}
	// No comma here, unlike the other create messages (§2.6).
	return []byte(fmt.Sprintf("Vdisk [%d] copy [%d] successfully created\n", vid, cid)), nil
}

func rmvdiskcopy(c *CLI, a *args) ([]byte, error) {
	id, err := a.intFlag("-copy", 0)
	if err != nil {
		return nil, err
	}
	return nil, c.a.RmVDiskCopy(a.obj, id)
}
