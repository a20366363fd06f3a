package host

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host/iscsi"
	"k8s.io/klog/v2"
)

// attachISCSI logs in to every portal (manual scan), scans exactly the
// mapped LUN on each session's SCSI host and returns the verified paths.
// A portal that fails is logged and skipped while at least one path works.
func (c *Connector) attachISCSI(ctx context.Context, v Volume, chap *iscsi.CHAP) ([]string, error) {
	// Portals are independent (one session each): bring them up in parallel,
	// so a slow or dead portal costs its own timeout, not the sum.
	type result struct {
		disk   string
		err    error
		logged bool
	}
	results := make([]result, len(v.ISCSI))
	var wg sync.WaitGroup
	for i, p := range v.ISCSI {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[i]
			if err := c.ISCSI.EnsureNode(ctx, p.Portal, p.IQN, chap); err != nil {
				r.err = fmt.Errorf("node record %s %s: %w", p.Portal, p.IQN, err)
				return
			}
			if err := c.ISCSI.Login(ctx, p.Portal, p.IQN); err != nil {
				r.err = fmt.Errorf("login %s %s: %w", p.Portal, p.IQN, err)
				return
			}
			r.logged = true
			r.disk, r.err = c.scanISCSIPath(ctx, v.UID, p)
		}()
	}
	wg.Wait()
	var paths []string
	var errs []error
	logins := 0
	for _, r := range results {
		if r.logged {
			logins++
		}
		if r.err != nil {
			if errors.Is(r.err, ErrStaleInUse) {
				return nil, r.err
			}
			errs = append(errs, r.err)
			continue
		}
		if r.disk != "" && !slices.Contains(paths, r.disk) {
			paths = append(paths, r.disk)
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
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
	found, err := c.poll(ctx, c.Settings.ISCSIPathCheckRetryTimes, c.Settings.ISCSIPathCheckWaitInterval, func() (bool, error) {
		var ok bool
		var err error
		s, ok, err = c.ISCSI.FindSession(p.Portal, p.IQN)
		return ok, err
	})
	if err != nil {
		return "", err
	}
	if !found {
		return "", fmt.Errorf("%w: no session in sysfs for %s %s after login", ErrNoDevice, p.Portal, p.IQN)
	}
	// Disks at this LUN before our scan were probed for whatever the array
	// mapped here then: their cached WWID is re-read before it is trusted.
	before, err := c.Sys.DisksAt(s.Host, p.LUN)
	if err != nil {
		return "", err
	}
	preexisting := map[string]bool{}
	for _, d := range before {
		preexisting[d.Name] = true
	}
	for scan := 0; scan < c.Settings.SCSIScanRetryTimes; scan++ {
		ch, tg := c.ISCSI.TargetAddress(s)
		if err := c.Sys.Scan(s.Host, ch, tg, p.LUN); err != nil {
			return "", fmt.Errorf("scan host%d for LUN %d: %w", s.Host, p.LUN, err)
		}
		var disk string
		var deleted bool
		ok, err := c.poll(ctx, c.Settings.ISCSIPathCheckRetryTimes, c.Settings.ISCSIPathCheckWaitInterval, func() (bool, error) {
			disks, err := c.Sys.DisksAt(s.Host, p.LUN)
			if err != nil {
				return false, err
			}
			for _, d := range disks {
				ok, del, err := c.checkDisk(d, uid, preexisting[d.Name])
				if del {
					// A stale device was removed: scan again now (the kernel
					// probes the LU afresh) instead of waiting out the poll.
					delete(preexisting, d.Name)
					deleted = true
					return true, nil
				}
				if err != nil || ok {
					disk = d.Name
					return ok, err
				}
			}
			return false, nil
		})
		if err != nil {
			return "", err
		}
		if ok && !deleted {
			return disk, nil
		}
		if deleted {
			continue
		}
		if err := c.Sleep(ctx, c.Settings.SCSIScanWaitInterval); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("%w: LUN %d on %s %s (host%d) after %d scans", ErrNoDevice, p.LUN, p.Portal, p.IQN, s.Host, c.Settings.SCSIScanRetryTimes)
}
