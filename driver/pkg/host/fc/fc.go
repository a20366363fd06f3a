// Package fc reads the node's Fibre Channel HBAs and remote ports from sysfs
// and issues the rescans the config's fcScanLevel asks for.
package fc

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host/scsi"
)

// Scan levels (manual table 3-1: host.fcScanLevel).
const (
	ScanLUN = "lun" // "- - L" on every FC host: only the mapped LUN is probed (default)
	ScanCTL = "ctl" // "C T L" for each remote port of a target WWPN
	ScanAll = "all" // "- - -" on every FC host
)

// HBA is one local FC port.
type HBA struct {
	Host int
	WWPN string // 16 uppercase hex digits, as the array prints (mcs-cli.md §3.4)
}

// NormalizeWWPN strips 0x and colons and uppercases.
func NormalizeWWPN(w string) string {
	w = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(w)), "0x")
	return strings.ToUpper(strings.ReplaceAll(w, ":", ""))
}

// HBAs lists /sys/class/fc_host/host*.
func HBAs(sys *scsi.Sysfs) ([]HBA, error) {
	names, err := scsi.ListDir(sys.Sys("class", "fc_host"))
	if err != nil {
		return nil, err
	}
	var out []HBA
	for _, n := range names {
		h, err := strconv.Atoi(strings.TrimPrefix(n, "host"))
		if err != nil {
			continue
		}
		w, err := sys.Read(sys.Sys("class", "fc_host", n, "port_name"))
		if err != nil {
			continue
		}
		out = append(out, HBA{Host: h, WWPN: NormalizeWWPN(w)})
	}
	return out, nil
}

// RemotePort is one target port seen by a local HBA.
type RemotePort struct {
	Host, Channel, Target int
	WWPN                  string
}

// RemotePorts lists /sys/class/fc_remote_ports with a SCSI target id.
func RemotePorts(sys *scsi.Sysfs) ([]RemotePort, error) {
	names, err := scsi.ListDir(sys.Sys("class", "fc_remote_ports"))
	if err != nil {
		return nil, err
	}
	var out []RemotePort
	for _, n := range names {
		var h, c, i int
		if _, err := fmt.Sscanf(n, "rport-%d:%d-%d", &h, &c, &i); err != nil {
			continue
		}
		d := sys.Sys("class", "fc_remote_ports", n)
		w, err1 := sys.Read(filepath.Join(d, "port_name"))
		t, err2 := sys.Read(filepath.Join(d, "scsi_target_id"))
		tid, err3 := strconv.Atoi(t)
		if err1 != nil || err2 != nil || err3 != nil || tid < 0 {
			continue
		}
		out = append(out, RemotePort{Host: h, Channel: c, Target: tid, WWPN: NormalizeWWPN(w)})
	}
	return out, nil
}

// Rescan probes the LUNs on the FC hosts according to level. targets are
// the array's WWPNs (used by ScanCTL), luns the mapped LUN numbers.
func Rescan(sys *scsi.Sysfs, level string, targets []string, luns []int) error {
	hbas, err := HBAs(sys)
	if err != nil {
		return err
	}
	if len(hbas) == 0 {
		return fmt.Errorf("no FC HBA in %s", sys.Sys("class", "fc_host"))
	}
	var first error
	note := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	switch level {
	case ScanAll:
		for _, h := range hbas {
			note(sys.Scan(h.Host, -1, -1, -1))
		}
	case ScanCTL:
		want := map[string]bool{}
		for _, t := range targets {
			want[NormalizeWWPN(t)] = true
		}
		rports, err := RemotePorts(sys)
		if err != nil {
			return err
		}
		for _, r := range rports {
			if !want[r.WWPN] {
				continue
			}
			for _, l := range uniq(luns) {
				note(sys.Scan(r.Host, r.Channel, r.Target, l))
			}
		}
	case ScanLUN, "":
		for _, h := range hbas {
			for _, l := range uniq(luns) {
				note(sys.Scan(h.Host, -1, -1, l))
			}
		}
	default:
		return fmt.Errorf("fcScanLevel %q: want lun, ctl or all", level)
	}
	return first
}

func uniq(in []int) []int {
	seen := map[int]bool{}
	var out []int
	for _, v := range in {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
