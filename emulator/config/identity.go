package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/instorage-csi/instorage-csi/emulator/model"
)

const (
	// ClusterIDAuto as clusterID (or --cluster-id) draws the id on first start.
	ClusterIDAuto = "auto"
	// ClusterIDFile, in the state dir, records the cluster id the array state
	// was created under.
	ClusterIDFile = "cluster-id"
	// clusterIDPrefix is the fixed head of a drawn id; vdisk_UIDs use characters
	// 8–16 (mcs-cli.md §3.2), so the nine drawn hex digits all reach the WWID.
	clusterIDPrefix = "0000020"
)

// ClusterIdentity returns the cluster id to open the array state with, given
// the resolved topology's id, and records it in the state dir on first use.
//
// A state dir keeps the id it was created under: every vdisk_UID embeds it, so
// opening the same vdisks under another id would change the WWIDs hosts have
// mapped. An explicit id that differs from the recorded one is therefore an
// error, and "auto" reuses the recorded one. A state dir that predates the
// record keeps the topology's id (the one it was created under).
func (c *Config) ClusterIdentity(topologyID string) (string, error) {
	path := filepath.Join(c.StateDir, ClusterIDFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		id := strings.TrimSpace(string(b))
		if !validClusterID(id) {
			return "", fmt.Errorf("%s: %q is not a 16-hex-digit cluster id", path, id)
		}
		if c.ClusterID != ClusterIDAuto && !strings.EqualFold(id, topologyID) {
			return "", fmt.Errorf("state dir %s was created as cluster id %s, but the topology says %s: "+
				"vdisk_UIDs embed the id, so hosts would see their disks change identity; "+
				"use clusterID %s (or auto), or a fresh state dir", c.StateDir, id, topologyID, id)
		}
		return id, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", err
	}
	id := topologyID
	if c.ClusterID == ClusterIDAuto {
		existing, err := model.HasState(filepath.Join(c.StateDir, ArrayDir))
		if err != nil {
			return "", err
		}
		if !existing {
			var r [5]byte
			if _, err := rand.Read(r[:]); err != nil {
				return "", err
			}
			id = clusterIDPrefix + strings.ToUpper(hex.EncodeToString(r[:]))[:16-len(clusterIDPrefix)]
		}
	}
	if err := os.MkdirAll(c.StateDir, 0o700); err != nil {
		return "", err
	}
	if err := model.WriteFileAtomic(path, []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("record cluster id: %w", err)
	}
	return id, nil
}

func validClusterID(id string) bool {
	if len(id) != 16 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}
