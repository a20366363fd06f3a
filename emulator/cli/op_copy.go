package cli

import "github.com/instorage-csi/instorage-csi/emulator/model"

func init() {
	register("mcsop", "mklcmap", objNone, opFlags("-source", "-target", "-copyrate", "-cleanrate", "-autodelete?",
		"-consistgrp", "-name", "-grainsize", "-incremental?"), []string{"-source", "-target"}, mklcmap)
	register("mcsop", "prestartlcmap", objRequired, opFlags("-restore?"), nil, prestartlcmap)
	register("mcsop", "startlcmap", objRequired, opFlags("-prep?", "-restore?"), nil, startlcmap)
	register("mcsop", "stoplcmap", objRequired, opFlags("-force?", "-split?"), nil, stoplcmap)
	register("mcsop", "rmlcmap", objRequired, opFlags("-force?"), nil, rmlcmap)
	register("mcsop", "chlcmap", objRequired, opFlags("-copyrate", "-cleanrate", "-autodelete", "-name"), nil, chlcmap)
	register("mcsop", "mklcconsistgrp", objNone, opFlags("-name", "-autodelete?"), nil, mklcconsistgrp)
	register("mcsop", "prestartlcconsistgrp", objRequired, opFlags("-restore?"), nil, prestartlcconsistgrp)
	register("mcsop", "startlcconsistgrp", objRequired, opFlags("-prep?", "-restore?"), nil, startlcconsistgrp)
	register("mcsop", "stoplcconsistgrp", objRequired, opFlags("-force?", "-split?"), nil, stoplcconsistgrp)
	register("mcsop", "rmlcconsistgrp", objRequired, opFlags("-force?"), nil, rmlcconsistgrp)

	register("mcsop", "mkrcrelationship", objNone, opFlags("-master", "-aux", "-cluster", "-name", "-async?",
		"-sync?", "-activeactive?", "-consistgrp"), []string{"-master", "-aux", "-cluster"}, mkrcrelationship)
	register("mcsop", "chrcrelationship", objRequired, opFlags("-masterchange", "-auxchange"), nil, chrcrelationship)
	register("mcsop", "rmrcrelationship", objRequired, opFlags("-force?"), nil, rmrcrelationship)
	register("mcsop", "startrcrelationship", objRequired, opFlags("-force?", "-primary", "-clean?"), nil, startrcrelationship)
	register("mcsop", "stoprcrelationship", objRequired, opFlags("-access?"), nil, stoprcrelationship)
	register("mcsop", "switchrcrelationship", objRequired, opFlags("-primary"), []string{"-primary"}, switchrcrelationship)

	register("mcsop", "mkfcpartnership", objRequired, opFlags("-linkbandwidthmbits", "-backgroundcopyrate"), nil, mkfcpartnership)
	register("mcsop", "mkippartnership", objNone, opFlags("-type", "-clusterip", "-linkbandwidthmbits",
		"-backgroundcopyrate", "-chapsecret"), []string{"-clusterip"}, mkippartnership)
	register("mcsop", "chpartnership", objRequired, opFlags("-start?", "-stop?"), nil, chpartnership)
}

func mklcmap(c *CLI, a *args) ([]byte, error) {
	if a.has("-incremental") {
		return nil, errUnsupported("-incremental")
	}
	r := model.MkLCMapReq{Name: a.str("-name"), Source: a.str("-source"), Target: a.str("-target"),
		AutoDelete: a.has("-autodelete"), ConsistGrp: a.str("-consistgrp"), CopyRate: -1, CleanRate: -1}
	var err error
	if a.has("-copyrate") {
		if r.CopyRate, err = a.intFlag("-copyrate", 0); err != nil {
			return nil, err
		}
	}
	if a.has("-cleanrate") {
		if r.CleanRate, err = a.intFlag("-cleanrate", 0); err != nil {
			return nil, err
		}
	}
	id, err := c.a.MkLCMap(r)
	if err != nil {
		return nil, err
	}
	return created("LocalCopy Mapping", id), nil
}

func prestartlcmap(c *CLI, a *args) ([]byte, error) { return nil, c.a.PrestartLCMap(a.obj) }

func startlcmap(c *CLI, a *args) ([]byte, error) { return nil, c.a.StartLCMap(a.obj, a.has("-prep")) }

func stoplcmap(c *CLI, a *args) ([]byte, error) { return nil, c.a.StopLCMap(a.obj, a.has("-force")) }

func rmlcmap(c *CLI, a *args) ([]byte, error) { return nil, c.a.RmLCMap(a.obj, a.has("-force")) }

func chlcmap(c *CLI, a *args) ([]byte, error) {
	var r model.ChLCMapReq
	if a.has("-copyrate") {
		v, err := a.intFlag("-copyrate", 0)
		if err != nil {
			return nil, err
		}
		r.CopyRate = &v
	}
	if a.has("-cleanrate") {
		v, err := a.intFlag("-cleanrate", 0)
		if err != nil {
			return nil, err
		}
		r.CleanRate = &v
	}
	if v, ok, err := a.onOff("-autodelete"); err != nil {
		return nil, err
	} else if ok {
		r.AutoDelete = &v
	}
	if v, ok := a.flags["-name"]; ok {
		r.Name = &v
	}
	return nil, c.a.ChLCMap(a.obj, r)
}

func mklcconsistgrp(c *CLI, a *args) ([]byte, error) {
	if a.has("-name") && a.str("-name") == "" {
		return nil, errInvalidParam("-name")
	}
	id, err := c.a.MkLCConsistGrp(a.str("-name"), a.has("-autodelete"))
	if err != nil {
		return nil, err
	}
	return created("LocalCopy Consistency Group", id), nil
}

func prestartlcconsistgrp(c *CLI, a *args) ([]byte, error) {
	return nil, c.a.PrestartLCConsistGrp(a.obj)
}

func startlcconsistgrp(c *CLI, a *args) ([]byte, error) {
	return nil, c.a.StartLCConsistGrp(a.obj, a.has("-prep"))
}

func stoplcconsistgrp(c *CLI, a *args) ([]byte, error) { return nil, c.a.StopLCConsistGrp(a.obj) }

func rmlcconsistgrp(c *CLI, a *args) ([]byte, error) {
	return nil, c.a.RmLCConsistGrp(a.obj, a.has("-force"))
}

func mkrcrelationship(c *CLI, a *args) ([]byte, error) {
	if a.has("-async") && a.has("-activeactive") {
		return nil, errInvalidParam("-async")
	}
	if a.has("-consistgrp") {
		return nil, errUnsupported("-consistgrp")
	}
	id, err := c.a.MkRCRelationship(model.MkRCRelReq{Master: a.str("-master"), Aux: a.str("-aux"),
		Cluster: a.str("-cluster"), Name: a.str("-name"), Async: a.has("-async"), Sync: a.has("-sync"),
		ActiveActive: a.has("-activeactive")})
	if err != nil {
		return nil, err
	}
	return created("RC Relationship", id), nil
}

func chrcrelationship(c *CLI, a *args) ([]byte, error) {
	if a.has("-masterchange") && a.has("-auxchange") {
		return nil, errInvalidParam("-auxchange")
	}
	return nil, c.a.ChRCRelationship(a.obj, a.str("-masterchange"), a.str("-auxchange"))
}

func rmrcrelationship(c *CLI, a *args) ([]byte, error) { return nil, c.a.RmRCRelationship(a.obj) }

func startrcrelationship(c *CLI, a *args) ([]byte, error) {
	return nil, c.a.StartRCRelationship(a.obj, a.str("-primary"))
}

func stoprcrelationship(c *CLI, a *args) ([]byte, error) {
	return nil, c.a.StopRCRelationship(a.obj, a.has("-access"))
}

func switchrcrelationship(c *CLI, a *args) ([]byte, error) {
	return nil, c.a.SwitchRCRelationship(a.obj, a.str("-primary"))
}

func mkfcpartnership(c *CLI, a *args) ([]byte, error) {
	return nil, c.a.MkPartnership(a.obj, "fc", "")
}

func mkippartnership(c *CLI, a *args) ([]byte, error) {
	typ := a.str("-type")
	if typ == "" {
		typ = "ipv4"
	}
	if typ != "ipv4" && typ != "ipv6" {
		return nil, errInvalidParam("-type")
	}
	return nil, c.a.MkPartnership("", typ, a.str("-clusterip"))
}

func chpartnership(c *CLI, a *args) ([]byte, error) {
	if a.has("-start") == a.has("-stop") {
		return nil, mErr("CMMVC5707E", "Required parameters are missing.")
	}
	return nil, c.a.ChPartnership(a.obj, a.has("-start"))
}
