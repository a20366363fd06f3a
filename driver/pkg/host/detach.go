package host

import (
	"context"
	"fmt"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host/hostexec"
	"k8s.io/klog/v2"
)

// Detach removes the volume from this node in the only safe order:
// flush buffers → multipath -f → delete each path device → log out of a
// target only when no LUN of it remains. Devices are found by WWID, so a
// restarted plugin (or renamed sdX after reboot) tears down the right ones;
// pieces already gone are skipped. The caller has unmounted everything.
func (c *Connector) Detach(ctx context.Context, v Volume) error {
	if err := v.Validate(); err != nil {
		return err
	}
	a, err := c.Find(v)
	if err != nil {
		return err
	}
	if a.Multipath != "" {
		// A map with no path left (Fence cut them) cannot be written:
		// flushing it would only fail.
		if slaves, err := c.Multipath.Slaves(a.Multipath); err != nil {
			return err
		} else if len(slaves) > 0 {
			if err := c.flushBuffers(ctx, a.Multipath); err != nil {
				return err
			}
		}
		if err := c.flushMap(ctx, a.Multipath); err != nil {
			return err
		}
		// Paths that joined the map after Find are gone with it; re-read.
		if a, err = c.Find(v); err != nil {
			return err
		}
		if a.Multipath != "" {
			return fmt.Errorf("%w: %s reappeared after multipath -f (multipathd re-created it?)", ErrBusy, a.Multipath)
		}
	}
	for _, p := range a.Paths {
		if a.Multipath == "" {
			if err := c.flushBuffers(ctx, p); err != nil {
				return err
			}
		}
		if err := c.Sys.DeleteDisk(p); err != nil {
			return fmt.Errorf("delete path %s: %w", p, err)
		}
		klog.V(4).InfoS("Deleted path device", "device", p, "uid", v.UID)
	}
	if v.Link == LinkISCSI {
		return c.logoutUnused(ctx, v)
	}
	return nil
}

// flushBuffers runs blockdev --flushbufs; a device already gone is fine.
func (c *Connector) flushBuffers(ctx context.Context, dev string) error {
	if _, err := hostexec.Run(ctx, c.Exec, "blockdev", "--flushbufs", c.Sys.Dev(dev)); err != nil {
		if !c.Sys.Exists(dev) {
			return nil
		}
		return fmt.Errorf("%w: flush %s: %w", ErrBusy, dev, err)
	}
	return nil
}

// flushMap retries multipath -f, which fails while anything holds the map
// (e.g. udev or a lingering opener); paths stay until it succeeds.
func (c *Connector) flushMap(ctx context.Context, dm string) error {
	var err error
	for i := 0; i < c.Settings.MultipathSearchRetryTimes; i++ {
		if err = c.Multipath.Flush(ctx, dm); err == nil {
			return nil
		}
		klog.InfoS("multipath -f failed; retrying", "map", dm, "attempt", i+1, "err", err)
		if serr := c.Sleep(ctx, c.Settings.MultipathSearchWaitInterval); serr != nil {
			return serr
		}
	}
	return fmt.Errorf("%w: multipath -f %s: %w", ErrBusy, dm, err)
}

// logoutUnused logs out of each of the volume's targets whose session no
// longer has any SCSI device (another volume's LUN keeps it logged in).
func (c *Connector) logoutUnused(ctx context.Context, v Volume) error {
	seen := map[ISCSIPath]bool{}
	for _, p := range v.ISCSI {
		key := ISCSIPath{Portal: p.Portal, IQN: p.IQN}
		if seen[key] {
			continue
		}
		seen[key] = true
		s, found, err := c.ISCSI.FindSession(p.Portal, p.IQN)
		if err != nil {
			return err
		}
		if found {
			busy, err := c.ISCSI.HasDevices(s)
			if err != nil {
				return err
			}
			if busy {
				klog.V(4).InfoS("Target still has LUNs on this node; staying logged in", "portal", p.Portal, "iqn", p.IQN)
				continue
			}
		}
		if err := c.ISCSI.Logout(ctx, p.Portal, p.IQN); err != nil {
			return fmt.Errorf("logout %s %s: %w", p.Portal, p.IQN, err)
		}
		if found {
			klog.InfoS("Logged out of iSCSI target", "portal", p.Portal, "iqn", p.IQN)
		}
	}
	return nil
}
