// Package array is the driver's only way to the storage array: a typed layer
// over the MCS CLI (mcsinq/mcsop) carried by an SSH transport. Method names
// are the CLI's own nouns so the code reads next to docs/mcs-cli reference
// (../shared/reference/mcs-cli.md §4). Nothing above this package builds or
// sees a command string.
package array

import (
	"context"
	"time"
)

// Client is one array. Implementations: *CLI (real, over SSH) and the
// in-memory fake in package arraytest. All methods honour ctx deadlines and
// return *CLIError for array-side failures (see errors.go) or an error
// wrapping ErrTransport when the command may not have reached the array.
type Client interface {
	// --- queries (mcsinq) ---
	LsSystem(ctx context.Context) (System, error)
	LsIOGrp(ctx context.Context) ([]IOGroup, error)
	LsNode(ctx context.Context) ([]Node, error)
	LsPortIP(ctx context.Context) ([]PortIP, error)
	LsPortFC(ctx context.Context) ([]PortFC, error)
	// LsFabric lists logins; exactly one of wwpn or host is set.
	LsFabric(ctx context.Context, wwpn, host string) ([]Fabric, error)
	// LsMDiskGrp returns the pool by name; ErrNotFound-like *CLIError if absent.
	LsMDiskGrp(ctx context.Context, name string) (Pool, error)
	LsMDiskGrps(ctx context.Context) ([]Pool, error)
	// LsVDisks lists vdisks, optionally filtered by one column (attr=value).
	LsVDisks(ctx context.Context, filter *Filter) ([]VDisk, error)
	// LsVDisk is the detail view of one vdisk (by name or id), with copies.
	LsVDisk(ctx context.Context, nameOrID string) (VDiskDetail, error)
	LsVDiskHostMap(ctx context.Context, vdisk string) ([]HostMap, error)
	LsHostVDiskMap(ctx context.Context, host string) ([]HostMap, error)
	LsHosts(ctx context.Context) ([]Host, error)
	LsHost(ctx context.Context, nameOrID string) (Host, error)
	// LsISCSIAuth lists every host's iSCSI authentication; its output holds
	// CHAP secrets and is never logged.
	LsISCSIAuth(ctx context.Context) ([]ISCSIAuth, error)
	LsLCMaps(ctx context.Context, filter *Filter) ([]LCMap, error)
	LsRCRelationships(ctx context.Context, filter *Filter) ([]RCRelationship, error)

	// --- operations (mcsop) ---
	MkVDisk(ctx context.Context, a MkVDiskArgs) (id string, err error)
	MkVolume(ctx context.Context, a MkVolumeArgs) (id string, err error)
	RmVDisk(ctx context.Context, vdisk string, force bool) error
	RmVolume(ctx context.Context, volume string) error
	ExpandVDiskSize(ctx context.Context, vdisk string, deltaBytes int64) error
	AddVDiskAccess(ctx context.Context, vdisk, iogrp string) error
	MkHost(ctx context.Context, a MkHostArgs) (id string, err error)
	AddHostPort(ctx context.Context, host string, iqn, wwpn string) error
	ChHostCHAPSecret(ctx context.Context, host, secret string) error
	RmHost(ctx context.Context, host string) error
	MkVDiskHostMap(ctx context.Context, host, vdisk string) (id string, err error)
	RmVDiskHostMap(ctx context.Context, host, vdisk string) error
	MkLCMap(ctx context.Context, a MkLCMapArgs) (id string, err error)
	StartLCMap(ctx context.Context, id string, prep bool) error
	StopLCMap(ctx context.Context, id string, force bool) error
	RmLCMap(ctx context.Context, id string, force bool) error
	MkRCRelationship(ctx context.Context, a MkRCRelationshipArgs) (id string, err error)
	RmRCRelationship(ctx context.Context, id string) error
	ChRCRelationship(ctx context.Context, id, masterChange, auxChange string) error
}

// Filter is one -filtervalue attr=value; values are validated before use.
type Filter struct{ Attr, Value string }

type System struct {
	ID, Name, CodeLevel string
}

type IOGroup struct {
	ID, Name         string
	NodeCount        int
	VDiskCount       int
	SiteID, SiteName string
}

type Node struct {
	ID, Name               string
	Status                 string // online | offline
	IOGroupID, IOGroupName string
	ISCSIName              string // target IQN
	SiteID, SiteName       string
}

type PortIP struct {
	ID, NodeID, NodeName  string
	IPAddress, IPAddress6 string
	State                 string // configured | online | …
	LinkState             string // active | inactive
	HostPort              bool   // usable for host I/O (§4.1)
}

type PortFC struct {
	ID, NodeID, NodeName, WWPN, Status, Type string
}

type Fabric struct {
	RemoteWWPN, LocalWWPN, NodeName, HostName, State string
}

type Pool struct {
	ID, Name, Status              string
	Capacity, Free, Virtual, Real int64 // bytes
	InTier                        string
}

// VDisk is one lsvdisk list row.
type VDisk struct {
	ID, Name               string
	UID                    string // vdisk_UID, 32 hex chars (NAA 6)
	IOGroupID, IOGroupName string
	Status                 string
	PoolID, PoolName       string // "many" for two copies
	Capacity               int64  // bytes
	LCMapCount             int
	CopyCount              int
	RCID, RCName           string
	Formatting             bool
	VolumeID, VolumeName   string
	Function               string // "", master, aux, master_change, aux_change
}

// VDiskDetail is lsvdisk <vdisk>: section 0 plus one entry per copy.
type VDiskDetail struct {
	VDisk
	PreferredNodeID string
	Copies          []VDiskCopy
}

type VDiskCopy struct {
	CopyID                                   string
	Status                                   string
	Primary, Sync                            bool
	PoolID, PoolName                         string
	UsedCapacity, RealCapacity, FreeCapacity int64
	Thin, Compressed                         bool
	AutoExpand                               bool
	Warning                                  int
	GrainSize                                int
	InTier                                   string
}

type HostMap struct {
	VDiskID, VDiskName, VDiskUID string
	SCSIID                       int
	HostID, HostName             string
	IOGroupID, IOGroupName       string
}

type Host struct {
	ID, Name         string
	Status           string
	SiteID, SiteName string
	ISCSINames       []string
	WWPNs            []string
}

// ISCSIAuth is one lsiscsiauth row (§4.3): Method "chap" with its Secret,
// or "none".
type ISCSIAuth struct {
	Type, ID, Name string
	Method, Secret string
}

type LCMap struct {
	ID, Name             string
	SourceID, SourceName string
	TargetID, TargetName string
	GroupID, GroupName   string
	Status               string // idle_or_copied, preparing, prepared, copying, stopping, stopped, suspended
	Progress             int
	CopyRate             int
	StartTime            time.Time // zero when not started
	RCControlled         bool
}

type RCRelationship struct {
	ID, Name, MasterName, AuxName, State, CopyType string
}

// MkVDiskArgs is mkvdisk (§4.4). Size is sent in whole GiB when
// SizeBytes is a multiple of 1 GiB, else in bytes (-unit b).
type MkVDiskArgs struct {
	Name        string
	SizeBytes   int64
	Pool        string // -mdiskgrp; name or id
	AuxPool     string // mirror: -copies 2 -mdiskgrp Pool:AuxPool
	IOGroup     string // -iogrp; empty → array default
	AccessIOGrp string // mirror: -accessiogrp
	Thin        bool   // -rsize/-autoexpand/-warning/-grainsize
	Compressed  bool
	RSizePct    int // default 2
	// ExplicitRSize sends RSizePct even when it is 0: snapshot targets are
	// created with -rsize 0% (§6.4). Added to the contract by the client.
	ExplicitRSize bool
	WarningPct    int // 0 → omitted
	AutoExpand    bool
	GrainSize     int  // 0 → omitted
	InTier        bool // -intier on|off
}

// MkVolumeArgs is mkvolume (active-active, §4.4).
type MkVolumeArgs struct {
	Name                string
	SizeBytes           int64
	Pool, AuxPool       string
	IOGroup, AuxIOGroup string
	Thin, Compressed    bool
	BufferSizePct       int
	WarningPct          int
	AutoExpand          bool
	GrainSize           int
}

type MkHostArgs struct {
	Name string
	IQN  string // exactly one of IQN, WWPN
	WWPN string
	Site string
}

type MkLCMapArgs struct {
	Source, Target string
	CopyRate       int
	CleanRate      int
	AutoDelete     bool
}

type MkRCRelationshipArgs struct {
	Master, Aux, Cluster string
	Sync, ActiveActive   bool
}
