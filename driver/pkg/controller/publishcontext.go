package controller

import (
	"strconv"
	"strings"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host"
)

// Publish context keys, read by driver/pkg/node (publishcontext.go there);
// see README.md. Lists are comma-separated and parallel.
const (
	pcLinkType      = "linkType"      // iscsi | fc
	pcVDiskUID      = "vdiskUID"      // the volume's vdisk_UID
	pcTargetPortals = "targetPortals" // ip:port, one per path (iSCSI)
	pcTargetIQNs    = "targetIQNs"    // target IQN, one per path (iSCSI)
	pcTargetLUNs    = "targetLUNs"    // LUN, one per path
	pcTargetWWPNs   = "targetWWPNs"   // target WWPN, one per path (FC)
)

// secretCHAPSecret is the controller-publish secret key whose value
// ControllerPublishVolume sets as the node's host CHAP secret; the node reads
// the same key from its node-stage secret (driver/pkg/node SecretCHAPSecret).
// The secret itself never goes into the publish context, which is stored in
// the VolumeAttachment's status for anyone who can read it.
const secretCHAPSecret = "chapSecret"

// publishContext encodes a validated host.Volume.
func publishContext(v host.Volume) map[string]string {
	pc := map[string]string{pcLinkType: v.Link, pcVDiskUID: strings.ToUpper(v.UID)}
	var portals, iqns, luns, wwpns []string
	for _, p := range v.ISCSI {
		portals, iqns, luns = append(portals, p.Portal), append(iqns, p.IQN), append(luns, strconv.Itoa(p.LUN))
	}
	for _, p := range v.FC {
		wwpns, luns = append(wwpns, p.WWPN), append(luns, strconv.Itoa(p.LUN))
	}
	if v.Link == host.LinkISCSI {
		pc[pcTargetPortals], pc[pcTargetIQNs] = strings.Join(portals, ","), strings.Join(iqns, ",")
	} else {
		pc[pcTargetWWPNs] = strings.Join(wwpns, ",")
	}
	pc[pcTargetLUNs] = strings.Join(luns, ",")
	return pc
}
