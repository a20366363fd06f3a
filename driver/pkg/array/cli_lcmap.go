package array

import (
	"context"
	"fmt"
	"strconv"
)

// LsLCMaps is `lslcmap -delim ! [-filtervalue a=v]` (§4.6).
func (c *CLI) LsLCMaps(ctx context.Context, filter *Filter) ([]LCMap, error) {
	if err := checkFilter(filter); err != nil {
		return nil, err
	}
	argv := []string{"lslcmap", "-delim", delim}
	if filter != nil {
		argv = append(argv, "-filtervalue", filter.Attr+"="+filter.Value)
	}
	out, err := c.query(ctx, argv...)
	if err != nil {
		return nil, err
	}
	var res []LCMap
	for i, r := range parseList(out) {
		m := LCMap{
			ID: r.get("id"), Name: r.get("name"),
			SourceID: r.get("source_vdisk_id"), SourceName: r.get("source_vdisk_name"),
			TargetID: r.get("target_vdisk_id"), TargetName: r.get("target_vdisk_name"),
			GroupID: r.get("group_id"), GroupName: r.get("group_name"),
			Status: r.get("status"), Progress: r.int("progress"), CopyRate: r.int("copy_rate"),
			StartTime: r.time("start_time"), RCControlled: r.bool("rc_controlled"),
		}
		if err := r.err(fmt.Sprintf("lslcmap row %d", i)); err != nil {
			return nil, err
		}
		res = append(res, m)
	}
	return res, nil
}

// MkLCMap is `mklcmap -copyrate r -cleanrate c -source s -target t [-autodelete]`
// ([G] form, §4.6).
func (c *CLI) MkLCMap(ctx context.Context, a MkLCMapArgs) (string, error) {
	if err := checkNameOrID("source vdisk", a.Source); err != nil {
		return "", err
	}
	if err := checkNameOrID("target vdisk", a.Target); err != nil {
		return "", err
	}
	if err := checkPercent("copy rate", a.CopyRate, 0, 100); err != nil {
		return "", err
	}
	if err := checkPercent("clean rate", a.CleanRate, 0, 100); err != nil {
		return "", err
	}
	argv := []string{"mklcmap", "-copyrate", strconv.Itoa(a.CopyRate), "-cleanrate", strconv.Itoa(a.CleanRate),
		"-source", a.Source, "-target", a.Target}
	if a.AutoDelete {
		argv = append(argv, "-autodelete")
	}
	return c.create(ctx, argv...)
}

// StartLCMap is `startlcmap [-prep] <id>`; with -prep the map is copying
// with start_time set when the command returns (§4.6).
func (c *CLI) StartLCMap(ctx context.Context, id string, prep bool) error {
	return c.lcmapOp(ctx, "startlcmap", "-prep", prep, id)
}

func (c *CLI) StopLCMap(ctx context.Context, id string, force bool) error {
	return c.lcmapOp(ctx, "stoplcmap", "-force", force, id)
}

func (c *CLI) RmLCMap(ctx context.Context, id string, force bool) error {
	return c.lcmapOp(ctx, "rmlcmap", "-force", force, id)
}

// lcmapOp sends lcmap commands by id, as both clients do.
func (c *CLI) lcmapOp(ctx context.Context, cmd, flag string, set bool, id string) error {
	if err := checkID("lcmap id", id); err != nil {
		return err
	}
	argv := []string{cmd}
	if set {
		argv = append(argv, flag)
	}
	return c.op(ctx, append(argv, id)...)
}
