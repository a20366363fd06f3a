package host

import (
	"context"
	"fmt"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host/scsi"
	"k8s.io/klog/v2"
)

// remapped rescans each path (device/rescan re-reads VPD 0x83; the kernel
// otherwise keeps the WWID it read at probe time) and returns those whose
// LU no longer carries uid. A path whose rescan fails (its LU is gone, not
// replaced) keeps its cached identity and is not returned.
func (c *Connector) remapped(paths []string, uid string) []string {
	var out []string
	for _, p := range paths {
		if err := c.Sys.RescanDisk(p); err != nil {
			klog.V(4).InfoS("Rescan of path failed; keeping its cached WWID", "device", p, "err", err)
			continue
		}
		if w, err := c.Sys.WWID(p); err == nil && w != scsi.NormalizeWWID(uid) {
			klog.InfoS("Path now leads to another LU", "device", p, "wwid", w, "want", uid)
			out = append(out, p)
		}
	}
	return out
}

// Fence cuts the volume off every path whose LU is no longer the volume,
// before anything is unmounted or flushed: an unmount writes the
// superblock and journal, and through such a path they would land on the
// vdisk now mapped at that LUN number (measured on a real kernel: B's
// fresh LU carried A's superblock and failed fsck). A multipath map left
// with no path of its own first stops queueing (so the unmount fails its
// writes at once instead of waiting out no_path_retry); the foreign paths
// are then deleted. Returns the paths it cut off.
func (c *Connector) Fence(ctx context.Context, v Volume) ([]string, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	a, err := c.Find(v)
	if err != nil {
		return nil, err
	}
	paths := a.Paths
	if a.Multipath != "" {
		// The map's slaves are the paths the filesystem writes through,
		// whatever their WWID reads now.
		if paths, err = c.Multipath.Slaves(a.Multipath); err != nil {
			return nil, err
		}
	}
	cut := c.remapped(paths, v.UID)
	if len(cut) == 0 {
		return nil, nil
	}
	klog.ErrorS(ErrRemapped, "Volume's LUN now holds another vdisk; cutting those paths off before unmount so nothing of this volume is written there", "uid", v.UID, "paths", cut, "multipath", a.Multipath)
	pathless := a.Multipath != "" && len(cut) == len(paths)
	if pathless {
		c.disableQueueing(ctx, a.Multipath)
	}
	for _, p := range cut {
		if err := c.Sys.DeleteDisk(p); err != nil {
			return cut, fmt.Errorf("delete remapped path %s: %w", p, err)
		}
	}
	if pathless {
		// multipathd reloads the map as it drops each deleted path, and that
		// reload re-arms queue_if_no_path from the config (measured: the
		// unmount then waited out no_path_retry, 40 s). Once the map has no
		// path left, stop queueing again.
		if _, err := c.poll(ctx, c.Settings.MultipathSearchRetryTimes, c.Settings.MultipathSearchWaitInterval, func() (bool, error) {
			s, err := c.Multipath.Slaves(a.Multipath)
			return len(s) == 0, err
		}); err != nil {
			return cut, err
		}
		c.disableQueueing(ctx, a.Multipath)
	}
	return cut, nil
}

func (c *Connector) disableQueueing(ctx context.Context, dm string) {
	if err := c.Multipath.DisableQueueing(ctx, dm); err != nil {
		klog.InfoS("Could not stop queueing on the map; its I/O fails only after no_path_retry", "map", dm, "err", err)
	}
}
