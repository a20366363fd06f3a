package volumeid

import (
	"fmt"
	"regexp"
	"strings"
)

// MaxNodeIDLen is the CSI limit on node_id.
const MaxNodeIDLen = 256

// Node is what NodeGetInfo reports and ControllerPublishVolume needs: the
// Kubernetes node name and the initiator ports the array host object must
// hold. Exactly one of IQN or WWPNs is set, or neither: then the node refers
// to a host object an administrator defined on the array beforehand (named
// ObjectName(prefix, Name)), and publishing fails with NotFound if it is absent.
type Node struct {
	Name  string
	IQN   string
	WWPNs []string // 16 hex digits, upper case
}

var (
	nodeNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`)
	// RFC 3720 §3.2.6: iqn.yyyy-mm.reversed-domain[:anything]; eui. form too.
	iqnRE  = regexp.MustCompile(`^(iqn\.[0-9]{4}-[0-9]{2}\.[a-z0-9.-]+(:[^\s,;]+)?|eui\.[0-9A-Fa-f]{16})$`)
	wwpnRE = regexp.MustCompile(`^[0-9A-F]{16}$`)
)

// String is the CSI node_id:
//
//	<name>                   pre-defined host object
//	<name>;iqn=<iqn>         iSCSI
//	<name>;wwpn=<w1>,<w2>    FC
func (n Node) String() string {
	switch {
	case n.IQN != "":
		return n.Name + ";iqn=" + n.IQN
	case len(n.WWPNs) > 0:
		return n.Name + ";wwpn=" + strings.Join(n.WWPNs, ",")
	default:
		return n.Name
	}
}

// Validate checks every field and the encoded length.
func (n Node) Validate() error {
	if !nodeNameRE.MatchString(n.Name) || len(n.Name) > 253 {
		return fmt.Errorf("node name %q is not a valid Kubernetes node name", n.Name)
	}
	if n.IQN != "" && len(n.WWPNs) > 0 {
		return fmt.Errorf("node %q: set either an IQN or WWPNs, not both", n.Name)
	}
	if n.IQN != "" && (!iqnRE.MatchString(n.IQN) || len(n.IQN) > 223) {
		return fmt.Errorf("node %q: invalid iSCSI name %q", n.Name, n.IQN)
	}
	for _, w := range n.WWPNs {
		if !wwpnRE.MatchString(w) {
			return fmt.Errorf("node %q: invalid WWPN %q (want 16 upper-case hex digits)", n.Name, w)
		}
	}
	if l := len(n.String()); l > MaxNodeIDLen {
		return fmt.Errorf("node id for %q is %d bytes, over the CSI limit of %d", n.Name, l, MaxNodeIDLen)
	}
	return nil
}

// ParseNode decodes a node_id produced by Node.String.
func ParseNode(id string) (Node, error) {
	name, ports, hasPorts := strings.Cut(id, ";")
	n := Node{Name: name}
	if hasPorts {
		key, val, ok := strings.Cut(ports, "=")
		switch {
		case !ok || val == "":
			return Node{}, fmt.Errorf("node id %q: want <name>;iqn=<iqn> or <name>;wwpn=<w>[,<w>]", id)
		case key == "iqn":
			n.IQN = val
		case key == "wwpn":
			n.WWPNs = strings.Split(strings.ToUpper(val), ",")
		default:
			return Node{}, fmt.Errorf("node id %q: unknown port kind %q", id, key)
		}
	}
	if err := n.Validate(); err != nil {
		return Node{}, fmt.Errorf("node id %q: %w", id, err)
	}
	return n, nil
}
