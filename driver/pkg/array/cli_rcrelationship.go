package array

import (
	"context"
)

// LsRCRelationships is `lsrcrelationship -delim ! [-filtervalue a=v]` (§4.7).
func (c *CLI) LsRCRelationships(ctx context.Context, filter *Filter) ([]RCRelationship, error) {
	if err := checkFilter(filter); err != nil {
		return nil, err
	}
	argv := []string{"lsrcrelationship", "-delim", delim}
	if filter != nil {
		argv = append(argv, "-filtervalue", filter.Attr+"="+filter.Value)
	}
	out, err := c.query(ctx, argv...)
	if err != nil {
		return nil, err
	}
	var res []RCRelationship
	for _, r := range parseList(out) {
		res = append(res, RCRelationship{
			ID: r.get("id"), Name: r.get("name"),
			MasterName: r.get("master_vdisk_name"), AuxName: r.get("aux_vdisk_name"),
			State: r.get("state"), CopyType: r.get("copy_type"),
		})
	}
	return res, nil
}

// MkRCRelationship is `mkrcrelationship -master m -aux a -cluster c [-sync]
// [-activeactive]` ([G] form, §4.7); the new id equals the master's id.
func (c *CLI) MkRCRelationship(ctx context.Context, a MkRCRelationshipArgs) (string, error) {
	if err := checkNameOrID("master vdisk", a.Master); err != nil {
		return "", err
	}
	if err := checkNameOrID("aux vdisk", a.Aux); err != nil {
		return "", err
	}
	if err := checkNameOrID("cluster", a.Cluster); err != nil {
		return "", err
	}
	argv := []string{"mkrcrelationship", "-master", a.Master, "-aux", a.Aux, "-cluster", a.Cluster}
	if a.Sync {
		argv = append(argv, "-sync")
	}
	if a.ActiveActive {
		argv = append(argv, "-activeactive")
	}
	return c.create(ctx, argv...)
}

// RmRCRelationship is `rmrcrelationship <id>` ([G], no -force).
func (c *CLI) RmRCRelationship(ctx context.Context, id string) error {
	if err := checkNameOrID("rcrelationship", id); err != nil {
		return err
	}
	return c.op(ctx, "rmrcrelationship", id)
}

// ChRCRelationship sets one change volume: exactly one of masterChange and
// auxChange (`-masterchange <cv> <id>` or `-auxchange <cv> <id>`, §4.7).
func (c *CLI) ChRCRelationship(ctx context.Context, id, masterChange, auxChange string) error {
	if err := checkNameOrID("rcrelationship", id); err != nil {
		return err
	}
	switch {
	case masterChange != "" && auxChange == "":
		if err := checkNameOrID("master change vdisk", masterChange); err != nil {
			return err
		}
		return c.op(ctx, "chrcrelationship", "-masterchange", masterChange, id)
	case auxChange != "" && masterChange == "":
		if err := checkNameOrID("aux change vdisk", auxChange); err != nil {
			return err
		}
		return c.op(ctx, "chrcrelationship", "-auxchange", auxChange, id)
	}
	return invalidf("chrcrelationship %s: exactly one of masterChange or auxChange is required", id)
}
