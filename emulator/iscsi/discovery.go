package iscsi

import (
	"strconv"
	"strings"
)

// text answers a Text Request; the only key we serve is SendTargets
// (RFC 7143 Appendix C). Other keys are answered NotUnderstood.
func (c *conn) text(p *PDU) error {
	c.acceptCmdSN(p)
	keys, err := parseText(p.Data)
	if err != nil {
		return c.reject(p, 0x09)
	}
	var resp []kv
	for _, k := range keys {
		if k.k != "SendTargets" {
			resp = append(resp, kv{k.k, "NotUnderstood"})
			continue
		}
		resp = append(resp, c.sendTargets(k.v)...)
	}
	data := encodeText(resp)
	if len(data) > c.maxXmit {
		// Two nodes never come close; refuse rather than send a partial list.
		return c.reject(p, 0x0a)
	}
	r := &PDU{}
	r.BHS[0] = opTextResp
	r.BHS[1] = 0x80
	copy(r.BHS[8:16], p.lun())
	r.setU32(16, p.itt())
	r.setU32(20, reservedTag)
	r.Data = data
	return c.send(r, snAdvance)
}

// sendTargets lists every node's target with the (advertised) addresses of
// its portals, TPGT = node id, so one discovery finds both nodes' paths.
// In a normal session an empty value means this session's target only.
func (c *conn) sendTargets(v string) []kv {
	var out []kv
	for _, n := range c.srv.backend.Nodes() {
		switch {
		case v == "All" && c.sess.discovery:
		case v == "" && !c.sess.discovery:
			if n.IQN != c.node.IQN {
				continue
			}
		case strings.EqualFold(v, n.IQN):
		default:
			continue
		}
		out = append(out, kv{"TargetName", n.IQN})
		for _, ip := range n.Portals {
			out = append(out, kv{"TargetAddress", c.srv.advertised(ip) + "," + strconv.Itoa(n.ID)})
		}
	}
	return out
}
