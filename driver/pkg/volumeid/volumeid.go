// Package volumeid defines the identifiers the driver hands to the container
// orchestrator: volume IDs, snapshot IDs and node IDs, plus the rule that turns
// a CSI request name into an array object name. IDs name the array and the
// vdisk_UID (see mcs-cli.md §3.2), never a mutable vdisk name, so every lookup
// is `lsvdisk -filtervalue vdisk_UID=`.
package volumeid

import (
	"fmt"
	"regexp"
	"strings"
)

// snapshotTag separates snapshot IDs from volume IDs so a snapshot ID handed
// to DeleteVolume can never delete the snapshot's vdisk.
const snapshotTag = "snap"

// uidRE is an NAA-6 vdisk_UID as the array prints it (mcs-cli.md §3.2).
var uidRE = regexp.MustCompile(`^[0-9A-F]{32}$`)

// storageNameRE is what config.Storage.Name may hold; ':' is the ID separator.
var storageNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// ValidStorageName reports whether name can appear in an ID.
func ValidStorageName(name string) bool { return storageNameRE.MatchString(name) }

// ValidUID reports whether uid is a well-formed vdisk_UID.
func ValidUID(uid string) bool { return uidRE.MatchString(uid) }

// Volume identifies one CSI volume: the array (config storage[].name) and the
// vdisk_UID of its vdisk (the master vdisk for active-active).
type Volume struct {
	Storage string
	UID     string
}

// String is the CSI volume_id, "<storage>:<vdisk_UID>".
func (v Volume) String() string { return v.Storage + ":" + v.UID }

// Snapshot identifies one CSI snapshot by its target vdisk.
type Snapshot struct {
	Storage string
	UID     string
}

// String is the CSI snapshot_id, "<storage>:snap:<vdisk_UID>".
func (s Snapshot) String() string { return s.Storage + ":" + snapshotTag + ":" + s.UID }

// ParseVolume decodes a volume_id; the error says what is malformed.
func ParseVolume(id string) (Volume, error) {
	parts := strings.Split(id, ":")
	if len(parts) != 2 {
		return Volume{}, fmt.Errorf("volume id %q is not <storage>:<vdisk_UID>", id)
	}
	v := Volume{Storage: parts[0], UID: parts[1]}
	if !ValidStorageName(v.Storage) {
		return Volume{}, fmt.Errorf("volume id %q: invalid storage name", id)
	}
	if !ValidUID(v.UID) {
		return Volume{}, fmt.Errorf("volume id %q: invalid vdisk_UID", id)
	}
	return v, nil
}

// ParseSnapshot decodes a snapshot_id.
func ParseSnapshot(id string) (Snapshot, error) {
	parts := strings.Split(id, ":")
	if len(parts) != 3 || parts[1] != snapshotTag {
		return Snapshot{}, fmt.Errorf("snapshot id %q is not <storage>:snap:<vdisk_UID>", id)
	}
	s := Snapshot{Storage: parts[0], UID: parts[2]}
	if !ValidStorageName(s.Storage) {
		return Snapshot{}, fmt.Errorf("snapshot id %q: invalid storage name", id)
	}
	if !ValidUID(s.UID) {
		return Snapshot{}, fmt.Errorf("snapshot id %q: invalid vdisk_UID", id)
	}
	return s, nil
}
