package model

import "time"

// The persistent objects. Field names follow the CLI columns; JSON tags are
// the on-disk format of the journal and snapshot (keep them stable).

// VDisk is one virtual disk with one or two copies (mcs-cli.md §3.1).
type VDisk struct {
	ID              int          `json:"id"`
	Name            string       `json:"name"`
	Serial          uint64       `json:"serial"` // never reused; names the UID and the data file
	Capacity        int64        `json:"capacity"`
	IOGrpID         int          `json:"iogrp"`
	AccessIOGrps    []int        `json:"access"`
	PreferredNodeID int          `json:"prefNode"`
	Copies          []*VDiskCopy `json:"copies"`
	// Active-active grouping (§4.2): VolumeID is the master's id, Function
	// one of master, aux, master_change, aux_change; standalone: own id, "".
	VolumeID int    `json:"volID"`
	Function string `json:"function,omitempty"`
	RCID     int    `json:"rcID"` // -1: none
	RCChange bool   `json:"rcChange,omitempty"`
	Rate     int    `json:"rate,omitempty"` // chvdisk -rate (QoS), 0 = off
}

// VDiskCopy is one copy of a vdisk in one pool.
type VDiskCopy struct {
	ID         int       `json:"id"`
	PoolID     int       `json:"pool"`
	Primary    bool      `json:"primary"`
	SyncAt     time.Time `json:"syncAt,omitzero"` // zero: in sync; else in sync from this time
	Thin       bool      `json:"thin,omitempty"`
	Compressed bool      `json:"compressed,omitempty"`
	AutoExpand bool      `json:"autoexpand,omitempty"`
	RSizePct   int       `json:"rsize,omitempty"`
	WarningPct int       `json:"warning,omitempty"`
	GrainSize  int       `json:"grain,omitempty"`
	InTier     string    `json:"intier"`
	Real       int64     `json:"real"` // bytes taken from the pool
}

// Host is a host object with its initiator ports.
type Host struct {
	ID         int      `json:"id"`
	Name       string   `json:"name"`
	IQNs       []string `json:"iqns,omitempty"`
	WWPNs      []string `json:"wwpns,omitempty"` // uppercase
	SiteID     string   `json:"site,omitempty"`
	CHAPSecret string   `json:"chap,omitempty"`
}

// HostMap is one vdisk-to-host mapping; SCSIID is the LUN (§3.7).
type HostMap struct {
	ID      int `json:"id"`
	HostID  int `json:"host"`
	VDiskID int `json:"vdisk"`
	SCSIID  int `json:"scsi"`
}

// LCMap is a LocalCopy mapping (§4.6, state machine §5.1).
type LCMap struct {
	ID           int       `json:"id"`
	Name         string    `json:"name"`
	SourceID     int       `json:"src"`
	TargetID     int       `json:"tgt"`
	GroupID      int       `json:"grp"` // -1: none
	Status       string    `json:"status"`
	CopyRate     int       `json:"copyRate"`
	CleanRate    int       `json:"cleanRate"`
	AutoDelete   bool      `json:"autodelete,omitempty"`
	StartTime    time.Time `json:"start,omitzero"`
	Copied       int64     `json:"copied,omitempty"`   // bytes copied up to RateSince
	RateSince    time.Time `json:"since,omitzero"`     // when Copied was last computed
	PreparedAt   time.Time `json:"prepAt,omitzero"`    // preparing → prepared at this time
	RCControlled bool      `json:"rcCtl,omitempty"`    // active-active change-volume maps
	Progress     int       `json:"progress,omitempty"` // frozen progress when not copying
}

// LCConsistGrp is a LocalCopy consistency group (§4.6, §5.2).
type LCConsistGrp struct {
	ID         int       `json:"id"`
	Name       string    `json:"name"`
	AutoDelete bool      `json:"autodelete,omitempty"`
	StartTime  time.Time `json:"start,omitzero"`
}

// RCRel is a remote-copy relationship; id = master vdisk id (§3.6).
type RCRel struct {
	ID             int       `json:"id"`
	Name           string    `json:"name"`
	MasterID       int       `json:"master"`
	AuxID          int       `json:"aux"`
	MasterChangeID int       `json:"mcv"`      // -1: none
	AuxChangeID    int       `json:"acv"`      // -1: none
	CopyType       string    `json:"copyType"` // sync | async | activeactive
	State          string    `json:"state"`
	Primary        string    `json:"primary,omitempty"` // master | aux | ""
	SyncAt         time.Time `json:"syncAt,omitzero"`   // inconsistent_copying ends then
	AuxCluster     string    `json:"auxCluster,omitempty"`
}

// Partnership is a replication partnership with another system (§4.8).
type Partnership struct {
	ID        int    `json:"id"`
	Name      string `json:"name"`
	Type      string `json:"type"` // fc | ipv4 | ipv6
	ClusterIP string `json:"clusterIP,omitempty"`
	Stopped   bool   `json:"stopped,omitempty"`
}

// meta holds allocation counters that must survive restarts.
type meta struct {
	NextSerial uint64 `json:"nextSerial"`
}

// LC map statuses (§5.1).
const (
	lcIdle      = "idle_or_copied"
	lcPreparing = "preparing"
	lcPrepared  = "prepared"
	lcCopying   = "copying"
	lcStopping  = "stopping"
	lcStopped   = "stopped"
)

// RC relationship states (§5.3).
const (
	rcInconsistentStopped = "inconsistent_stopped"
	rcInconsistentCopying = "inconsistent_copying"
	rcConsistentSync      = "consistent_synchronized"
	rcConsistentStopped   = "consistent_stopped"
	rcIdling              = "idling"
)
