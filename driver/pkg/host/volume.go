package host

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host/fc"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/iscsi"
)

// Link types.
const (
	LinkISCSI = "iscsi"
	LinkFC    = "fc"
)

// ISCSIPath is one (portal, target IQN, LUN) triple of a mapping.
type ISCSIPath struct {
	Portal string `json:"portal"` // ip:port
	IQN    string `json:"iqn"`
	LUN    int    `json:"lun"`
}

// FCPath is one (target WWPN, LUN) pair.
type FCPath struct {
	WWPN string `json:"wwpn"`
	LUN  int    `json:"lun"`
}

// Volume is what the node needs to find a mapped vdisk: its UID and paths.
// It is persisted at stage time, so it must stay JSON-stable.
type Volume struct {
	Link  string      `json:"link"`
	UID   string      `json:"uid"` // vdisk_UID, lowercase 32 hex
	ISCSI []ISCSIPath `json:"iscsi,omitempty"`
	FC    []FCPath    `json:"fc,omitempty"`
}

var uidRE = regexp.MustCompile(`^6[0-9a-f]{31}$`)

// iqnRE accepts iqn./eui./naa. names (RFC 3720 §3.2.6) without whitespace.
var iqnRE = regexp.MustCompile(`^(iqn\.\d{4}-\d{2}\.[^\s]+|eui\.[0-9A-Fa-f]{16}|naa\.[0-9A-Fa-f]{16,32})$`)

// Validate checks and normalises v in place.
func (v *Volume) Validate() error {
	v.UID = strings.ToLower(strings.TrimSpace(v.UID))
	if !uidRE.MatchString(v.UID) {
		return fmt.Errorf("vdisk UID %q: want 32 hex digits starting with 6 (NAA 6)", v.UID)
	}
	switch v.Link {
	case LinkISCSI:
		if len(v.ISCSI) == 0 {
			return fmt.Errorf("iscsi volume has no target paths")
		}
		for i := range v.ISCSI {
			p := &v.ISCSI[i]
			np, err := iscsi.NormalizePortal(p.Portal)
			if err != nil {
				return err
			}
			p.Portal = np
			if !iqnRE.MatchString(p.IQN) {
				return fmt.Errorf("target IQN %q is not a valid iSCSI name", p.IQN)
			}
			if p.LUN < 0 || p.LUN > 16383 {
				return fmt.Errorf("LUN %d out of range", p.LUN)
			}
		}
	case LinkFC:
		if len(v.FC) == 0 {
			return fmt.Errorf("fc volume has no target paths")
		}
		for i := range v.FC {
			p := &v.FC[i]
			p.WWPN = fc.NormalizeWWPN(p.WWPN)
			if !regexp.MustCompile(`^[0-9A-F]{16}$`).MatchString(p.WWPN) {
				return fmt.Errorf("target WWPN %q: want 16 hex digits", p.WWPN)
			}
			if p.LUN < 0 || p.LUN > 16383 {
				return fmt.Errorf("LUN %d out of range", p.LUN)
			}
		}
	default:
		return fmt.Errorf("link type %q: want iscsi or fc", v.Link)
	}
	return nil
}

// Attachment is where a volume shows up on this node.
type Attachment struct {
	Device    string   // /dev/dm-N or /dev/sdX: the node to format/mount
	Multipath string   // dm-N, or "" for a single path
	Paths     []string // sdX path devices, all verified to carry the volume's WWID
}
