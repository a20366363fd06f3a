package node

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host"
)

// Stage record phases: written as "attaching" before any host change, so a
// crash mid-stage still leaves enough to tear down.
const (
	phaseAttaching = "attaching"
	phaseStaged    = "staged"
)

// stageRecord is what NodeUnstage (and a restarted plugin) needs.
type stageRecord struct {
	VolumeID    string      `json:"volumeID"`
	StagingPath string      `json:"stagingPath"`
	Block       bool        `json:"block"`
	FSType      string      `json:"fsType,omitempty"`
	Volume      host.Volume `json:"volume"`
	Phase       string      `json:"phase"`
	// Published lists target paths with their access mode; SINGLE_NODE_SINGLE_WRITER
	// allows one target only (CSI NodePublishVolume, FAILED_PRECONDITION).
	Published map[string]string `json:"published,omitempty"`
}

// stateStore keeps one JSON file per volume in dir.
type stateStore struct{ dir string }

func (s stateStore) path(volumeID string) string {
	sum := sha256.Sum256([]byte(volumeID))
	return filepath.Join(s.dir, hex.EncodeToString(sum[:16])+".json")
}

// load returns the record, or nil if the volume is not staged here.
func (s stateStore) load(volumeID string) (*stageRecord, error) {
	b, err := os.ReadFile(s.path(volumeID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r stageRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("stage record %s: %w", s.path(volumeID), err)
	}
	if r.VolumeID != volumeID {
		return nil, fmt.Errorf("stage record %s belongs to %q", s.path(volumeID), r.VolumeID)
	}
	return &r, nil
}

// save writes atomically (temp file, fsync, rename) so a crash never leaves half a record.
func (s stateStore) save(r *stageRecord) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	final := s.path(r.VolumeID)
	tmp, err := os.CreateTemp(s.dir, ".stage-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), final)
}

func (s stateStore) remove(volumeID string) error {
	err := os.Remove(s.path(volumeID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
