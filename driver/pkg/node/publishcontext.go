package node

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/iscsi"
	"github.com/instorage-csi/instorage-csi/driver/pkg/volumeid"
)

// Publish-context keys set by ControllerPublishVolume (see README.md).
const (
	CtxLinkType      = "linkType"      // iscsi | fc
	CtxVDiskUID      = "vdiskUID"      // must equal the volume ID's UID
	CtxTargetPortals = "targetPortals" // comma list, ip:port
	CtxTargetIQNs    = "targetIQNs"    // comma list, one per portal
	CtxTargetLUNs    = "targetLUNs"    // comma list, one per portal (iSCSI) or per WWPN (FC)
	CtxTargetWWPNs   = "targetWWPNs"   // comma list (FC)
	CtxCHAPUser      = "chapUser"      // optional; the secret comes from node-stage secrets
)

// Secret keys (csi.storage.k8s.io/node-stage-secret-*).
const (
	SecretCHAPUser   = "chapUser"
	SecretCHAPSecret = "chapSecret"
)

func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// volumeFrom builds the host.Volume for volumeID from the publish context.
func volumeFrom(volumeID string, pc map[string]string) (host.Volume, error) {
	id, err := volumeid.ParseVolume(volumeID)
	if err != nil {
		return host.Volume{}, err
	}
	v := host.Volume{Link: pc[CtxLinkType], UID: strings.ToLower(id.UID)}
	if u := pc[CtxVDiskUID]; u != "" && !strings.EqualFold(u, id.UID) {
		return host.Volume{}, fmt.Errorf("publish context %s=%s does not match volume ID %s", CtxVDiskUID, u, volumeID)
	}
	luns := splitList(pc[CtxTargetLUNs])
	lunAt := func(i int) (int, error) {
		n, err := strconv.Atoi(luns[i])
		if err != nil {
			return 0, fmt.Errorf("publish context %s[%d]=%q is not a number", CtxTargetLUNs, i, luns[i])
		}
		return n, nil
	}
	switch v.Link {
	case host.LinkISCSI:
		portals, iqns := splitList(pc[CtxTargetPortals]), splitList(pc[CtxTargetIQNs])
		if len(portals) == 0 || len(portals) != len(iqns) || len(portals) != len(luns) {
			return host.Volume{}, fmt.Errorf("publish context needs %s, %s and %s of equal non-zero length (got %d, %d, %d)",
				CtxTargetPortals, CtxTargetIQNs, CtxTargetLUNs, len(portals), len(iqns), len(luns))
		}
		for i := range portals {
			lun, err := lunAt(i)
			if err != nil {
				return host.Volume{}, err
			}
			v.ISCSI = append(v.ISCSI, host.ISCSIPath{Portal: portals[i], IQN: iqns[i], LUN: lun})
		}
	case host.LinkFC:
		wwpns := splitList(pc[CtxTargetWWPNs])
		if len(wwpns) == 0 || len(wwpns) != len(luns) {
			return host.Volume{}, fmt.Errorf("publish context needs %s and %s of equal non-zero length", CtxTargetWWPNs, CtxTargetLUNs)
		}
		for i := range wwpns {
			lun, err := lunAt(i)
			if err != nil {
				return host.Volume{}, err
			}
			v.FC = append(v.FC, host.FCPath{WWPN: wwpns[i], LUN: lun})
		}
	default:
		return host.Volume{}, fmt.Errorf("publish context %s=%q: want iscsi or fc", CtxLinkType, v.Link)
	}
	if err := v.Validate(); err != nil {
		return host.Volume{}, err
	}
	return v, nil
}

// chapFrom returns CHAP credentials from the stage secrets (preferred) or
// the publish context's user; nil when CHAP is not in use. User is empty when
// only the secret is given: the caller fills in the initiator IQN, the CHAP
// name the array expects for its host objects (mcs-cli.md, iSCSI attach step 6).
func chapFrom(pc, secrets map[string]string) (*iscsi.CHAP, error) {
	user := secrets[SecretCHAPUser]
	if user == "" {
		user = pc[CtxCHAPUser]
	}
	secret := secrets[SecretCHAPSecret]
	switch {
	case user == "" && secret == "":
		return nil, nil
	case secret == "":
		return nil, fmt.Errorf("CHAP user %q given without %s (node-stage secrets)", user, SecretCHAPSecret)
	}
	return &iscsi.CHAP{User: user, Secret: secret}, nil
}
