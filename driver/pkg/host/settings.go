// Package host attaches, detaches and resizes array volumes on this node:
// iSCSI or FC paths found by WWID, optional dm-multipath, and a teardown
// that flushes before it removes anything. It only sees the host through
// hostexec (commands) and scsi.Sysfs (sysfs and /dev).
package host

import (
	"time"

	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/hostexec"
)

// Settings are the host knobs as durations and counts (mcs-cli.md §8.1 defaults).
type Settings struct {
	Link                        string
	ForceUseMultipath           bool
	SCSIScanRetryTimes          int
	SCSIScanWaitInterval        time.Duration
	ISCSIPathCheckRetryTimes    int
	ISCSIPathCheckWaitInterval  time.Duration
	MultipathSearchRetryTimes   int
	MultipathSearchWaitInterval time.Duration
	MultipathResizeDelay        time.Duration
	FCScanLevel                 string
	CommandTimeout              time.Duration
}

// SettingsFrom converts config.Host, filling defaults for zero values.
func SettingsFrom(h config.Host) Settings {
	n := func(v, d int) int {
		if v <= 0 {
			return d
		}
		return v
	}
	sec := func(v, d int) time.Duration { return time.Duration(n(v, d)) * time.Second }
	s := Settings{
		Link:                        h.Link,
		ForceUseMultipath:           h.ForceUseMultipath,
		SCSIScanRetryTimes:          n(h.SCSIScanRetryTimes, 3),
		SCSIScanWaitInterval:        sec(h.SCSIScanWaitInterval, 1),
		ISCSIPathCheckRetryTimes:    n(h.ISCSIPathCheckRetryTimes, 3),
		ISCSIPathCheckWaitInterval:  sec(h.ISCSIPathCheckWaitInterval, 1),
		MultipathSearchRetryTimes:   n(h.MultipathSearchRetryTimes, 3),
		MultipathSearchWaitInterval: sec(h.MultipathSearchWaitInterval, 1),
		MultipathResizeDelay:        sec(h.MultipathResizeDelay, 1),
		FCScanLevel:                 h.FCScanLevel,
		CommandTimeout:              sec(h.HostCommandTimeout, int(hostexec.DefaultTimeout/time.Second)),
	}
	if s.Link == "" {
		s.Link = LinkISCSI
	}
	if s.FCScanLevel == "" {
		s.FCScanLevel = "lun"
	}
	return s
}
