package array

import (
	"context"
	"fmt"
)

func poolFrom(r *record) Pool {
	return Pool{
		ID: r.get("id"), Name: r.get("name"), Status: r.get("status"),
		Capacity: r.int64("capacity"), Free: r.int64("free_capacity"),
		Virtual: r.int64("virtual_capacity"), Real: r.int64("real_capacity"),
		InTier: r.get("in_tier"),
	}
}

// LsMDiskGrp is the detail view `lsmdiskgrp -bytes -delim ! <pool>` (§4.1,
// [C] form): a missing pool is CMMVC5754E from the array, and the pool may
// be named by id as well.
func (c *CLI) LsMDiskGrp(ctx context.Context, name string) (Pool, error) {
	if err := checkNameOrID("pool", name); err != nil {
		return Pool{}, err
	}
	out, err := c.query(ctx, "lsmdiskgrp", "-bytes", "-delim", delim, name)
	if err != nil {
		return Pool{}, err
	}
	secs := parseDetail(out)
	if len(secs) == 0 {
		return Pool{}, fmt.Errorf("%w: lsmdiskgrp %s printed nothing", ErrUnexpectedOutput, name)
	}
	p := poolFrom(secs[0])
	return p, secs[0].err("lsmdiskgrp " + name)
}

func (c *CLI) LsMDiskGrps(ctx context.Context) ([]Pool, error) {
	out, err := c.query(ctx, "lsmdiskgrp", "-bytes", "-delim", delim)
	if err != nil {
		return nil, err
	}
	var res []Pool
	for i, r := range parseList(out) {
		p := poolFrom(r)
		if err := r.err(fmt.Sprintf("lsmdiskgrp row %d", i)); err != nil {
			return nil, err
		}
		res = append(res, p)
	}
	return res, nil
}
