package config

// Defaults of the vendor schema (manual table 3-1, mcs-cli.md §8.1), all in
// one place. Zero or empty values in the file mean "use the default".
const (
	DefaultLink               = "iscsi"
	DefaultRetryTimes         = 3
	DefaultWaitIntervalSec    = 1
	DefaultResizeDelaySec     = 1
	DefaultFCScanLevel        = "lun"
	DefaultHostCommandTimeout = 300 // seconds
	DefaultTaskNumber         = 4
	DefaultStorageType        = "AS18000"
	// DefaultBarrierPath replaces the vendor's "next to the binary", which
	// is read-only in a container image.
	DefaultBarrierPath = "/var/lib/instorage-csi"
)

func orDefault(v *int, d int) {
	if *v == 0 {
		*v = d
	}
}

// ApplyDefaults fills every unset field. Per-storage task overrides inherit
// unset fields from the top-level task, and every storage ends with a
// non-nil Task.
func (c *Config) ApplyDefaults() {
	h := &c.Host
	if h.Link == "" {
		h.Link = DefaultLink
	}
	orDefault(&h.SCSIScanRetryTimes, DefaultRetryTimes)
	orDefault(&h.SCSIScanWaitInterval, DefaultWaitIntervalSec)
	orDefault(&h.ISCSIPathCheckRetryTimes, DefaultRetryTimes)
	orDefault(&h.ISCSIPathCheckWaitInterval, DefaultWaitIntervalSec)
	orDefault(&h.MultipathSearchRetryTimes, DefaultRetryTimes)
	orDefault(&h.MultipathSearchWaitInterval, DefaultWaitIntervalSec)
	orDefault(&h.MultipathResizeDelay, DefaultResizeDelaySec)
	orDefault(&h.HostCommandTimeout, DefaultHostCommandTimeout)
	if h.FCScanLevel == "" {
		h.FCScanLevel = DefaultFCScanLevel
	}
	c.Task.applyDefaults(nil)
	for i := range c.Storage {
		s := &c.Storage[i]
		if s.BarrierPath == "" {
			s.BarrierPath = DefaultBarrierPath
		}
		if s.PortalTable.Table == nil {
			s.PortalTable.Table = map[string][]string{}
		}
		t := c.Task
		if s.Task != nil {
			t = *s.Task
			t.applyDefaults(&c.Task)
		}
		s.Task = &t
	}
}

// applyDefaults sets zero fields from parent, or from DefaultTaskNumber.
func (t *Task) applyDefaults(parent *Task) {
	var p Task
	if parent != nil {
		p = *parent
	}
	fields := []struct{ v, p *int }{
		{&t.MaxCreateVolumeNumber, &p.MaxCreateVolumeNumber},
		{&t.MaxDeleteVolumeNumber, &p.MaxDeleteVolumeNumber},
		{&t.MaxPublishVolumeNumber, &p.MaxPublishVolumeNumber},
		{&t.MaxUnpublishVolumeNumber, &p.MaxUnpublishVolumeNumber},
		{&t.MaxStageVolumeNumber, &p.MaxStageVolumeNumber},
		{&t.MaxUnstageVolumeNumber, &p.MaxUnstageVolumeNumber},
		{&t.MaxCreateSnapshotNumber, &p.MaxCreateSnapshotNumber},
		{&t.MaxDeleteSnapshotNumber, &p.MaxDeleteSnapshotNumber},
		{&t.MaxExpandVolumeNumber, &p.MaxExpandVolumeNumber},
	}
	for _, f := range fields {
		if *f.v == 0 {
			*f.v = *f.p
		}
		orDefault(f.v, DefaultTaskNumber)
	}
}
