package host

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host/iscsi"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/multipath"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/scsi"
	"k8s.io/klog/v2"
	utilsexec "k8s.io/utils/exec"
)

// Errors the node service maps to gRPC codes.
var (
	// ErrNoDevice: no path device carrying the volume's WWID appeared in time.
	ErrNoDevice = errors.New("no device for the volume appeared")
	// ErrLogin: no iSCSI session could be established to any portal.
	ErrLogin = errors.New("iscsi login failed on every portal")
	// ErrMultipath: multipath was required but no usable map exists.
	ErrMultipath = errors.New("multipath map unavailable")
	// ErrStaleInUse: a device at the mapped LUN belongs to another volume and is in use.
	ErrStaleInUse = errors.New("stale device in use at the mapped LUN")
	// ErrBusy: a device could not be released (e.g. multipath -f refused).
	ErrBusy = errors.New("device busy")
	// ErrRemapped: the LU behind a path of the volume is no longer the volume
	// (the array unmapped it and gave its LUN number to another vdisk).
	ErrRemapped = errors.New("LUN remapped to another vdisk")
)

// Connector runs the host flows. Construct with New.
type Connector struct {
	Exec      utilsexec.Interface
	Sys       *scsi.Sysfs
	ISCSI     *iscsi.Initiator
	Multipath *multipath.Client
	Settings  Settings
	// Sleep waits d or until ctx ends; tests replace it to run without delays.
	Sleep func(ctx context.Context, d time.Duration) error
}

// New wires a Connector over one exec seam and one sysfs view.
func New(e utilsexec.Interface, sys *scsi.Sysfs, s Settings) *Connector {
	return &Connector{
		Exec:      e,
		Sys:       sys,
		ISCSI:     &iscsi.Initiator{Exec: e, Sys: sys},
		Multipath: &multipath.Client{Exec: e, Sys: sys},
		Settings:  s,
		Sleep:     sleepCtx,
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Attach makes the volume's device appear and returns it, verified by WWID.
func (c *Connector) Attach(ctx context.Context, v Volume, chap *iscsi.CHAP) (Attachment, error) {
	if err := v.Validate(); err != nil {
		return Attachment{}, err
	}
	var paths []string
	var err error
	switch v.Link {
	case LinkISCSI:
		paths, err = c.attachISCSI(ctx, v, chap)
	case LinkFC:
		paths, err = c.attachFC(ctx, v)
	}
	if err != nil {
		return Attachment{}, err
	}
	return c.assemble(ctx, v, paths)
}

// checkDisk verifies that disk d at the mapped LUN is the volume's. The
// kernel keeps the VPD 0x83 it read when it probed a device, so a disk that
// was there before this attach (preexisting) may describe a LU the array
// has since replaced at this LUN number (unmapped A, then B mapped at the
// same SCSI id): such a disk is rescanned, which re-reads VPD 0x83, unless
// something holds it. A disk is used only if both its cached and its
// re-read WWID are uid and no other volume's map holds it. Anything else is
// a leftover: deleted when nothing holds it (deleted reports that, so the
// caller scans at once and the LU is probed afresh, with no cached pages of
// the old one), ErrStaleInUse when something does; it is never used.
func (c *Connector) checkDisk(d scsi.Disk, uid string, preexisting bool) (ok, deleted bool, err error) {
	cached, err := c.Sys.WWID(d.Name)
	if err != nil {
		return false, false, nil // not ready yet (VPD not read); poll again
	}
	// Only a disk we may rescan or delete is asked whether it is in use: the
	// O_EXCL probe briefly claims the disk, and multipathd taking a fresh
	// disk into its map at that instant would get EBUSY.
	var holder string
	if preexisting || cached != uid {
		if holder, err = c.Sys.InUse(d.Name); err != nil {
			return false, false, err
		}
	}
	fresh := cached
	if preexisting && holder == "" {
		if err := c.Sys.RescanDisk(d.Name); err != nil {
			klog.InfoS("Rescan of an existing device failed; judging it by its cached WWID", "device", d.Name, "hctl", d.HCTL.String(), "err", err)
		} else if w, err := c.Sys.WWID(d.Name); err == nil {
			fresh = w
		}
	}
	if cached == uid && fresh == uid {
		if dm, err := c.Multipath.MapHolding(d.Name); err != nil {
			return false, false, err
		} else if dm != "" {
			if w := c.Multipath.WWIDOf(dm); w != uid {
				return false, false, fmt.Errorf("%w: %s at %s has WWID %s but belongs to map %s of WWID %s", ErrStaleInUse, d.Name, d.HCTL, uid, dm, w)
			}
		}
		return true, false, nil
	}
	klog.InfoS("Stale device at mapped LUN", "device", d.Name, "hctl", d.HCTL.String(), "wwid", cached, "rescannedWWID", fresh, "want", uid, "heldBy", holder)
	if holder != "" {
		return false, false, fmt.Errorf("%w: %s at %s has WWID %s (held by %s), want %s", ErrStaleInUse, d.Name, d.HCTL, cached, holder, uid)
	}
	if err := c.Sys.DeleteDisk(d.Name); err != nil {
		return false, false, fmt.Errorf("delete stale device %s: %w", d.Name, err)
	}
	return false, true, nil
}

// assemble picks the device to use among verified paths: the multipath map
// if one holds them (or is required), else the single path.
func (c *Connector) assemble(ctx context.Context, v Volume, paths []string) (Attachment, error) {
	a := Attachment{Paths: paths}
	want := c.Settings.ForceUseMultipath || len(paths) > 1
	dm, err := c.findMap(v.UID, paths)
	if err != nil {
		return a, err
	}
	if dm == "" && want {
		// multipathd builds the map from the paths' uevents (seconds on a
		// busy node). Only once half the budget is spent without a map, ask
		// whether multipathd answers at all (multipathd show status costs
		// seconds itself) and nudge multipath-tools (find_multipaths strict).
		nudged := false
		start := time.Now()
		nudgeAfter := time.Duration(c.Settings.MultipathSearchRetryTimes) * c.Settings.MultipathSearchWaitInterval / 2
		_, err := c.poll(ctx, c.Settings.MultipathSearchRetryTimes, c.Settings.MultipathSearchWaitInterval, func() (bool, error) {
			var err error
			if dm, err = c.findMap(v.UID, paths); err != nil || dm != "" {
				return true, err
			}
			if nudged || time.Since(start) < nudgeAfter {
				return false, nil
			}
			nudged = true
			if derr := c.Multipath.DaemonRunning(ctx); derr != nil {
				if c.Settings.ForceUseMultipath {
					return true, fmt.Errorf("%w: multipathd not reachable: %v", ErrMultipath, derr)
				}
				klog.InfoS("multipathd not reachable; using a single path", "uid", v.UID, "paths", paths, "err", derr)
				return true, nil
			}
			if err := c.Multipath.Nudge(ctx, v.UID, paths); err != nil {
				klog.InfoS("multipath nudge failed; still waiting for multipathd", "uid", v.UID, "err", err)
			}
			return false, nil
		})
		if err != nil {
			return a, err
		}
	}
	if dm == "" {
		if c.Settings.ForceUseMultipath {
			return a, fmt.Errorf("%w: no map for WWID %s over %v after %d tries", ErrMultipath, v.UID, paths, c.Settings.MultipathSearchRetryTimes)
		}
		a.Device = c.Sys.Dev(paths[0])
		return a, nil
	}
	// Every slave of the map must carry this volume's WWID.
	slaves, err := c.Multipath.Slaves(dm)
	if err != nil {
		return a, err
	}
	for _, s := range slaves {
		if w, err := c.Sys.WWID(s); err != nil || w != v.UID {
			return a, fmt.Errorf("%w: %s has path %s with WWID %q, want %s", ErrMultipath, dm, s, w, v.UID)
		}
	}
	a.Multipath, a.Device = dm, c.Sys.Dev(dm)
	return a, nil
}

// findMap returns the volume's map: the one holding any path, or the one
// by WWID. A map built for another WWID is never the volume's, even when
// one of the volume's paths sits under it.
func (c *Connector) findMap(uid string, paths []string) (string, error) {
	for _, p := range paths {
		dm, err := c.Multipath.MapHolding(p)
		if err != nil {
			return "", err
		}
		if dm != "" && c.Multipath.WWIDOf(dm) == scsi.NormalizeWWID(uid) {
			return dm, nil
		}
	}
	return c.Multipath.MapByWWID(uid)
}

// Find returns the volume's current devices by WWID, without scanning.
func (c *Connector) Find(v Volume) (Attachment, error) {
	all, err := c.Sys.DisksByWWID(v.UID)
	if err != nil {
		return Attachment{}, err
	}
	// A path under another volume's map belongs to that volume's teardown
	// (its LU was remapped under it): never flushed or deleted from here.
	var paths []string
	for _, p := range all {
		if dm, err := c.Multipath.MapHolding(p); err != nil {
			return Attachment{}, err
		} else if dm != "" && c.Multipath.WWIDOf(dm) != scsi.NormalizeWWID(v.UID) {
			klog.InfoS("Path with the volume's WWID is under another volume's map; leaving it", "device", p, "map", dm, "uid", v.UID)
			continue
		}
		paths = append(paths, p)
	}
	a := Attachment{Paths: paths}
	dm, err := c.findMap(v.UID, paths)
	if err != nil {
		return a, err
	}
	switch {
	case dm != "":
		a.Multipath, a.Device = dm, c.Sys.Dev(dm)
	case len(paths) > 0:
		a.Device = c.Sys.Dev(paths[0])
	}
	return a, nil
}
