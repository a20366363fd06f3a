package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host/iscsi"
	"k8s.io/klog/v2"
)

// attachISCSI logs in to every portal (manual scan), scans exactly the
// mapped LUN on each session's SCSI host and returns the verified paths.
// A portal that fails is logged and skipped while at least one path works.
func (c *Connector) attachISCSI(ctx context.Context, v Volume, chap *iscsi.CHAP) ([]string, error) {
	var paths []string
	var errs []error
	logins := 0
	for _, p := range v.ISCSI {
		if err := c.ISCSI.EnsureNode(ctx, p.Portal, p.IQN, chap); err != nil {
			errs = append(errs, fmt.Errorf("node record %s %s: %w", p.Portal, p.IQN, err))
			continue
		}
		if err := c.ISCSI.Login(ctx, p.Portal, p.IQN); err != nil {
			errs = append(errs, fmt.Errorf("login %s %s: %w", p.Portal, p.IQN, err))
			continue
		}
		logins++
		disk, err := c.scanISCSIPath(ctx, v.UID, p)
		if err != nil {
			if errors.Is(err, ErrStaleInUse) || ctx.Err() != nil {
				return nil, err
			}
			errs = append(errs, err)
			continue
		}
		paths = append(paths, disk)
	}
	if len(paths) > 0 {
		if len(errs) > 0 {
			klog.InfoS("Volume attached on some paths only", "uid", v.UID, "paths", paths, "errors", errors.Join(errs...).Error())
		}
		return paths, nil
	}
	if logins == 0 {
		return nil, fmt.Errorf("%w: %w", ErrLogin, errors.Join(errs...))
	}
	return nil, fmt.Errorf("%w: %w", ErrNoDevice, errors.Join(errs...))
}

// scanISCSIPath finds the session's SCSI host, writes "C T L" to its scan
// attribute and waits for a disk with the volume's WWID at that LUN.
func (c *Connector) scanISCSIPath(ctx context.Context, uid string, p ISCSIPath) (string, error) {
	var s iscsi.Session
	found := false
	for i := 0; i < c.Settings.ISCSIPathCheckRetryTimes && !found; i++ {
		var err error
		if s, found, err = c.ISCSI.FindSession(p.Portal, p.IQN); err != nil {
			return "", err
		}
		if !found {
			if err := c.Sleep(ctx, c.Settings.ISCSIPathCheckWaitInterval); err != nil {
				return "", err
			}
		}
	}
	if !found {
		return "", fmt.Errorf("%w: no session in sysfs for %s %s after login", ErrNoDevice, p.Portal, p.IQN)
	}
	for scan := 0; scan < c.Settings.SCSIScanRetryTimes; scan++ {
		ch, tg := c.ISCSI.TargetAddress(s)
		if err := c.Sys.Scan(s.Host, ch, tg, p.LUN); err != nil {
			return "", fmt.Errorf("scan host%d for LUN %d: %w", s.Host, p.LUN, err)
		}
		for check := 0; check < c.Settings.ISCSIPathCheckRetryTimes; check++ {
			disks, err := c.Sys.DisksAt(s.Host, p.LUN)
			if err != nil {
				return "", err
			}
			for _, d := range disks {
				ok, err := c.checkDisk(d, uid)
				if err != nil {
					return "", err
				}
				if ok {
					return d.Name, nil
				}
			}
			if err := c.Sleep(ctx, c.Settings.ISCSIPathCheckWaitInterval); err != nil {
				return "", err
			}
		}
		if err := c.Sleep(ctx, c.Settings.SCSIScanWaitInterval); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("%w: LUN %d on %s %s (host%d) after %d scans", ErrNoDevice, p.LUN, p.Portal, p.IQN, s.Host, c.Settings.SCSIScanRetryTimes)
}
