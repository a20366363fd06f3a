package volumeid

import (
	"encoding/json"
	"fmt"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host"
)

// Publish context keys set by ControllerPublishVolume for NodeStageVolume.
const (
	PublishLink    = "link"         // iscsi | fc
	PublishUID     = "vdiskUID"     // vdisk_UID, as the array prints it
	PublishISCSI   = "iscsiTargets" // JSON [{"portal","iqn","lun"}]
	PublishFC      = "fcTargets"    // JSON [{"wwpn","lun"}]
	PublishStorage = "storage"      // storage[].name
)

// EncodePublishContext is the controller half of the publish contract.
func EncodePublishContext(storage string, v host.Volume) (map[string]string, error) {
	pc := map[string]string{PublishLink: v.Link, PublishUID: v.UID, PublishStorage: storage}
	switch v.Link {
	case host.LinkISCSI:
		b, err := json.Marshal(v.ISCSI)
		if err != nil {
			return nil, err
		}
		pc[PublishISCSI] = string(b)
	case host.LinkFC:
		b, err := json.Marshal(v.FC)
		if err != nil {
			return nil, err
		}
		pc[PublishFC] = string(b)
	default:
		return nil, fmt.Errorf("unknown link type %q", v.Link)
	}
	return pc, nil
}

// DecodePublishContext is the node half: it returns a validated host.Volume.
func DecodePublishContext(pc map[string]string) (host.Volume, error) {
	v := host.Volume{Link: pc[PublishLink], UID: pc[PublishUID]}
	switch v.Link {
	case host.LinkISCSI:
		if err := json.Unmarshal([]byte(pc[PublishISCSI]), &v.ISCSI); err != nil {
			return host.Volume{}, fmt.Errorf("publish context %s: %w", PublishISCSI, err)
		}
	case host.LinkFC:
		if err := json.Unmarshal([]byte(pc[PublishFC]), &v.FC); err != nil {
			return host.Volume{}, fmt.Errorf("publish context %s: %w", PublishFC, err)
		}
	default:
		return host.Volume{}, fmt.Errorf("publish context: unknown %s %q", PublishLink, v.Link)
	}
	if err := v.Validate(); err != nil {
		return host.Volume{}, fmt.Errorf("publish context: %w", err)
	}
	return v, nil
}
