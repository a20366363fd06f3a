package iscsi

import (
	"time"

	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/emulator/scsi"
)

// Task management functions and responses (RFC 7143 §11.5, §11.6).
const (
	tmfAbortTask    = 1
	tmfAbortTaskSet = 2
	tmfClearACA     = 3
	tmfClearTaskSet = 4
	tmfLUNReset     = 5
	tmfTargetWarm   = 6
	tmfTargetCold   = 7

	tmfRespComplete     = 0
	tmfRespNoTask       = 1
	tmfRespNoLUN        = 2
	tmfRespNotSupported = 5
)

// abortWait bounds how long a reset waits for aborted commands that are
// already executing (file I/O cannot be interrupted).
const abortWait = 20 * time.Second

func (c *conn) taskMgmt(p *PDU) error {
	c.acceptCmdSN(p)
	fn := p.flags() & 0x7f
	lunRaw := p.lun()
	lun := scsi.DecodeLUN(lunRaw)
	resp := byte(tmfRespComplete)
	var wait []*task
	cold := false
	switch fn {
	case tmfAbortTask:
		ref := p.u32(20)
		c.tmu.Lock()
		t := c.tasks[ref]
		if t == nil {
			resp = tmfRespNoTask
		} else {
			wait = append(wait, c.abortLocked(t))
		}
		c.tmu.Unlock()
	case tmfAbortTaskSet, tmfClearTaskSet:
		wait = c.abortWhere(func(t *task) bool { return t.lun == lun })
	case tmfLUNReset:
		dev := c.sess.nexus.DeviceFor(lun)
		if dev == nil {
			resp = tmfRespNoLUN
			break
		}
		// The task set of the LU spans every nexus that maps it.
		c.srv.forEachConn(func(o *conn) {
			if o.sess == nil || o.sess.nexus == nil {
				return
			}
			on := o.sess.nexus
			wait = append(wait, o.abortWhere(func(t *task) bool { return on.DeviceFor(t.lun) == dev })...)
			// SAM-5 §7.6: the reset is reported to every nexus, issuer included.
			on.AddUA(dev, scsi.ResetUA)
		})
		dev.ResetLegacy()
	case tmfTargetWarm, tmfTargetCold:
		klog.InfoS("iSCSI target reset", "initiator", c.sess.initiator, "target", c.node.IQN, "cold", fn == tmfTargetCold)
		c.srv.forEachConn(func(o *conn) {
			if o.sess == nil || o.sess.nexus == nil || o.node.ID != c.node.ID {
				return
			}
			wait = append(wait, o.abortWhere(func(*task) bool { return true })...)
			o.sess.nexus.AddUAAll(scsi.ResetUA)
			for _, l := range o.sess.nexus.LUNs() {
				if d := o.sess.nexus.DeviceFor(l); d != nil {
					d.ResetLegacy()
				}
			}
		})
		cold = fn == tmfTargetCold
	case tmfClearACA:
		resp = tmfRespNotSupported // NACA is never set: no ACA to clear
	default:
		resp = tmfRespNotSupported
	}
	deadline := time.After(abortWait)
	for _, t := range wait {
		if t == nil {
			continue
		}
		select {
		case <-t.done:
		case <-deadline:
		}
	}
	r := &PDU{}
	r.BHS[0] = opTMFResp
	r.BHS[1] = 0x80
	r.BHS[2] = resp
	r.setU32(16, p.itt())
	if err := c.send(r, snAdvance); err != nil {
		return err
	}
	if cold {
		return errLogout // a cold reset drops the connection
	}
	return nil
}

// abortLocked marks t aborted; c.tmu is held. Returns t if it is running
// (to be waited for), nil if it was only collecting data.
func (c *conn) abortLocked(t *task) *task {
	t.aborted = true
	if t.running {
		return t
	}
	delete(c.tasks, t.itt)
	close(t.done)
	return nil
}

func (c *conn) abortWhere(match func(*task) bool) []*task {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	var out []*task
	for _, t := range c.tasks {
		if match(t) {
			if w := c.abortLocked(t); w != nil {
				out = append(out, w)
			}
		}
	}
	return out
}
