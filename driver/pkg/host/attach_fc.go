package host

import (
	"context"
	"fmt"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host/fc"
	"k8s.io/klog/v2"
)

// attachFC rescans per fcScanLevel, clears stale devices at the mapped LUN
// numbers and returns every disk carrying the volume's WWID.
func (c *Connector) attachFC(ctx context.Context, v Volume) ([]string, error) {
	var wwpns []string
	var luns []int
	for _, p := range v.FC {
		wwpns = append(wwpns, p.WWPN)
		luns = append(luns, p.LUN)
	}
	hbas, err := fc.HBAs(c.Sys)
	if err != nil {
		return nil, err
	}
	for i := 0; i < c.Settings.SCSIScanRetryTimes; i++ {
		// Stale leftovers at our LUN numbers block the probe of the new LUN.
		for _, h := range hbas {
			for _, l := range luns {
				disks, err := c.Sys.DisksAt(h.Host, l)
				if err != nil {
					return nil, err
				}
				for _, d := range disks {
					if _, _, err := c.checkDisk(d, v.UID, true); err != nil {
						return nil, err
					}
				}
			}
		}
		if err := fc.Rescan(c.Sys, c.Settings.FCScanLevel, wwpns, luns); err != nil {
			klog.InfoS("FC rescan incomplete", "uid", v.UID, "err", err)
		}
		if err := c.Sleep(ctx, c.Settings.SCSIScanWaitInterval); err != nil {
			return nil, err
		}
		paths, err := c.Sys.DisksByWWID(v.UID)
		if err != nil {
			return nil, err
		}
		if len(paths) > 0 {
			return paths, nil
		}
	}
	return nil, fmt.Errorf("%w: WWID %s on FC targets %v after %d scans", ErrNoDevice, v.UID, wwpns, c.Settings.SCSIScanRetryTimes)
}
