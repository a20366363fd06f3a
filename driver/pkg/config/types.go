// Package config holds the instorage.yaml schema. It keeps the vendor plugin's
// documented layout (V2.2.0 manual §3.3, table 3-1) so existing files load
// unchanged; see docs/configuration.md for every field.
package config

// Config is the whole instorage.yaml document.
type Config struct {
	Log     Log       `json:"log"`
	Host    Host      `json:"host"`
	Storage []Storage `json:"storage"`
	Task    Task      `json:"task"`
}

// Log is accepted for compatibility; the driver logs through klog flags.
type Log struct {
	Enabled          bool   `json:"enabled"`
	LogDir           string `json:"logdir"`
	Level            string `json:"level"`
	LogRotateMaxSize int    `json:"logrotatemaxsize"`
}

// Host configures the node side (§8.1 of mcs-cli.md). Intervals are seconds.
type Host struct {
	Link                        string `json:"link"` // iscsi | fc
	ForceUseMultipath           bool   `json:"forceUseMultipath"`
	SCSIScanRetryTimes          int    `json:"scsiScanRetryTimes"`
	SCSIScanWaitInterval        int    `json:"scsiScanWaitInterval"`
	ISCSIPathCheckRetryTimes    int    `json:"iscsiPathCheckRetryTimes"`
	ISCSIPathCheckWaitInterval  int    `json:"iscsiPathCheckWaitInterval"`
	MultipathSearchRetryTimes   int    `json:"multipathSearchRetryTimes"`
	MultipathSearchWaitInterval int    `json:"multipathSearchWaitInterval"`
	MultipathResizeDelay        int    `json:"multipathResizeDelay"`
	AttachExtendFileLockPath    string `json:"attachExtendFileLockPath"`
	FCScanLevel                 string `json:"fcScanLevel"` // lun | ctl | all
	HostnamePrefix              string `json:"hostnamePrefix"`
	HostCommandTimeout          int    `json:"hostCommandTimeout"` // seconds; 0 → 300
}

// Storage is one array.
type Storage struct {
	Name           string      `json:"name"`
	Type           string      `json:"type"` // AS18000
	Host           string      `json:"host"` // ip:port of the array's SSH service
	Username       string      `json:"username"`
	Password       string      `json:"password"`
	Shadow         string      `json:"shadow"`
	DeviceUsername string      `json:"deviceUsername"`
	DevicePassword string      `json:"devicePassword"`
	DeviceShadow   string      `json:"deviceShadow"`
	BarrierPath    string      `json:"barrierPath"`
	PortalTable    PortalTable `json:"portalTable"`
	// Extensions of this project (not in the vendor schema).
	KnownHostsFile            string `json:"knownHostsFile,omitempty"`            // OpenSSH known_hosts
	HostKeyFingerprint        string `json:"hostKeyFingerprint,omitempty"`        // SHA256:… pinned key
	InsecureSkipHostKeyVerify bool   `json:"insecureSkipHostKeyVerify,omitempty"` // demos only
	SecretDir                 string `json:"secretDir,omitempty"`                 // mounted Secret with username/password
	Task                      *Task  `json:"task,omitempty"`                      // per-array override of the top-level task
}

// PortalTable maps a Kubernetes node ID to the portals it should use.
type PortalTable struct {
	Table   map[string][]string `json:"table"`
	Default []string            `json:"default"`
}

// Task bounds concurrent operations per array. 0 means the default, 4.
type Task struct {
	MaxCreateVolumeNumber    int `json:"maxCreateVolumeNumber"`
	MaxDeleteVolumeNumber    int `json:"maxDeleteVolumeNumber"`
	MaxPublishVolumeNumber   int `json:"maxPublishVolumeNumber"`
	MaxUnpublishVolumeNumber int `json:"maxUnpublishVolumeNumber"`
	MaxStageVolumeNumber     int `json:"maxStageVolumeNumber"`
	MaxUnstageVolumeNumber   int `json:"maxUnstageVolumeNumber"`
	MaxCreateSnapshotNumber  int `json:"maxCreateSnapshotNumber"`
	MaxDeleteSnapshotNumber  int `json:"maxDeleteSnapshotNumber"`
	MaxExpandVolumeNumber    int `json:"maxExpandVolumeNumber"`
}
