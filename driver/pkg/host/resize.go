package host

import (
	"context"
	"fmt"
)

// Resize makes the node see the vdisk's new size after the array expanded
// it: rescan every path, then let multipathd resize the map (after the
// configured delay, so all paths report the new size first).
func (c *Connector) Resize(ctx context.Context, v Volume) (Attachment, error) {
	if err := v.Validate(); err != nil {
		return Attachment{}, err
	}
	a, err := c.Find(v)
	if err != nil {
		return a, err
	}
	if len(a.Paths) == 0 {
		return a, fmt.Errorf("%w: WWID %s has no path on this node", ErrNoDevice, v.UID)
	}
	for _, p := range a.Paths {
		if err := c.Sys.RescanDisk(p); err != nil {
			return a, fmt.Errorf("rescan %s: %w", p, err)
		}
		// The rescan re-read VPD 0x83: growing a filesystem onto a LU the
		// array has given to another vdisk would overwrite that vdisk.
		if w, err := c.Sys.WWID(p); err == nil && w != v.UID {
			return a, fmt.Errorf("%w: path %s now reads WWID %s, want %s", ErrRemapped, p, w, v.UID)
		}
	}
	if a.Multipath != "" {
		if err := c.Sleep(ctx, c.Settings.MultipathResizeDelay); err != nil {
			return a, err
		}
		if err := c.Multipath.Resize(ctx, a.Multipath); err != nil {
			return a, fmt.Errorf("%w: %w", ErrMultipath, err)
		}
	}
	return a, nil
}
