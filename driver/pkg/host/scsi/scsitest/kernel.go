// Package scsitest is a fake kernel for unit tests: a sysfs and /dev tree in
// a temp dir laid out like the real one (class/scsi_host, bus/scsi/devices,
// block/sdX/device → H:C:T:L, iscsi_session, fc_host, dm-N/slaves), which
// reacts to the driver's writes like the kernel would: a targeted scan
// creates the disk the target exposes at that LUN, a delete drops it, and a
// disk that already exists keeps its old WWID (the stale-LUN case) until
// it is rescanned, which re-reads the WWID the target now presents there.
package scsitest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host/scsi"
)

// Kernel is the fake host.
type Kernel struct {
	t   testing.TB
	Sys *scsi.Sysfs

	mu      sync.Mutex
	exposed map[[2]int]string // {host, lun} → WWID (32 hex) the target presents
	nextSd  int
	// AutoMultipath makes a dm map appear (or grow) whenever a disk appears,
	// as multipathd would; dm numbers start at 0.
	AutoMultipath bool
	// Scans records every scan write as "hostH: C T L".
	Scans []string
	// Writes records every sysfs write as "path=value" (path relative to sys).
	Writes []string
}

// New builds an empty tree under t.TempDir().
func New(t testing.TB) *Kernel {
	t.Helper()
	root := t.TempDir()
	k := &Kernel{t: t, Sys: &scsi.Sysfs{SysRoot: filepath.Join(root, "sys"), DevRoot: filepath.Join(root, "dev")}, exposed: map[[2]int]string{}}
	for _, d := range []string{"class/scsi_host", "block", "bus/scsi/devices", "devices", "class/iscsi_session", "class/iscsi_connection", "class/fc_host", "class/fc_remote_ports"} {
		k.mkdir(filepath.Join(k.Sys.SysRoot, d))
	}
	k.mkdir(filepath.Join(k.Sys.DevRoot, "mapper"))
	k.Sys.Notify = k.onWrite
	return k
}

func (k *Kernel) mkdir(p string) {
	if err := os.MkdirAll(p, 0o755); err != nil {
		k.t.Fatal(err)
	}
}

func (k *Kernel) write(p, v string) {
	k.mkdir(filepath.Dir(p))
	if err := os.WriteFile(p, []byte(v+"\n"), 0o644); err != nil {
		k.t.Fatal(err)
	}
}

func (k *Kernel) symlink(target, link string) {
	k.mkdir(filepath.Dir(link))
	_ = os.Remove(link)
	if err := os.Symlink(target, link); err != nil {
		k.t.Fatal(err)
	}
}

// AddHost creates scsi_host hostH with its scan attribute.
func (k *Kernel) AddHost(h int) {
	k.write(k.Sys.Sys("class", "scsi_host", "host"+strconv.Itoa(h), "scan"), "")
}

// ExposeLUN makes the target behind host h present a LUN with this WWID;
// the disk appears only when the driver scans for it.
func (k *Kernel) ExposeLUN(h, lun int, wwid string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.exposed[[2]int{h, lun}] = strings.ToLower(wwid)
}

// HideLUN withdraws a LUN from the target (unmap); existing disks stay.
func (k *Kernel) HideLUN(h, lun int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.exposed, [2]int{h, lun})
}

// AddDisk creates a disk at addr with this WWID right away and returns sdX.
func (k *Kernel) AddDisk(addr scsi.HCTL, wwid string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.addDiskLocked(addr, wwid)
}

func (k *Kernel) addDiskLocked(addr scsi.HCTL, wwid string) string {
	name := "sd" + string(rune('a'+k.nextSd%26))
	if k.nextSd >= 26 {
		name += strconv.Itoa(k.nextSd / 26)
	}
	k.nextSd++
	dev := k.Sys.Sys("devices", "fake", "host"+strconv.Itoa(addr.Host), addr.String())
	k.write(filepath.Join(dev, "wwid"), "naa."+strings.ToLower(wwid))
	k.write(filepath.Join(dev, "delete"), "")
	k.write(filepath.Join(dev, "rescan"), "")
	k.write(filepath.Join(dev, "block", name, "size"), "2097152")
	k.mkdir(filepath.Join(dev, "block", name, "holders"))
	k.symlink("../..", filepath.Join(dev, "block", name, "device"))
	k.symlink(dev, k.Sys.Sys("bus", "scsi", "devices", addr.String()))
	k.symlink(filepath.Join(dev, "block", name), k.Sys.Sys("block", name))
	k.write(k.Sys.Dev(name), "")
	if k.AutoMultipath {
		k.addToMapLocked(strings.ToLower(wwid), name)
	}
	return name
}

// RemoveDisk drops sdX as the kernel does on delete.
func (k *Kernel) RemoveDisk(name string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.removeDiskLocked(name)
}

func (k *Kernel) removeDiskLocked(name string) {
	dev, err := filepath.EvalSymlinks(k.Sys.Sys("block", name, "device"))
	if err != nil {
		return
	}
	// multipathd drops a deleted path from its map (table reload).
	holders, _ := scsi.ListDir(k.Sys.Sys("block", name, "holders"))
	for _, h := range holders {
		_ = os.Remove(k.Sys.Sys("block", h, "slaves", name))
	}
	_ = os.RemoveAll(dev)
	_ = os.Remove(k.Sys.Sys("bus", "scsi", "devices", filepath.Base(dev)))
	_ = os.Remove(k.Sys.Sys("block", name))
	_ = os.Remove(k.Sys.Dev(name))
}

// Disks lists the sd devices present.
func (k *Kernel) Disks() []string {
	names, _ := scsi.ListDir(k.Sys.Sys("block"))
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, "sd") {
			out = append(out, n)
		}
	}
	return out
}

// AddISCSISession creates session sid on scsi host h, logged in to iqn at ip:port.
func (k *Kernel) AddISCSISession(sid, h int, ip string, port int, iqn string) {
	k.AddHost(h)
	s := strconv.Itoa(sid)
	dev := k.Sys.Sys("devices", "platform", "host"+strconv.Itoa(h), "session"+s)
	k.write(filepath.Join(dev, "iscsi_session", "session"+s, "targetname"), iqn)
	k.symlink(filepath.Join(dev, "iscsi_session", "session"+s), k.Sys.Sys("class", "iscsi_session", "session"+s))
	k.symlink(dev, filepath.Join(dev, "iscsi_session", "session"+s, "device"))
	conn := filepath.Join(dev, "connection"+s+":0", "iscsi_connection", "connection"+s+":0")
	k.write(filepath.Join(conn, "persistent_address"), ip)
	k.write(filepath.Join(conn, "persistent_port"), strconv.Itoa(port))
	k.symlink(conn, k.Sys.Sys("class", "iscsi_connection", "connection"+s+":0"))
}

// RemoveISCSISession drops session sid (logout).
func (k *Kernel) RemoveISCSISession(sid int) {
	s := strconv.Itoa(sid)
	if dev, err := filepath.EvalSymlinks(k.Sys.Sys("class", "iscsi_session", "session"+s, "device")); err == nil {
		_ = os.RemoveAll(dev)
	}
	_ = os.Remove(k.Sys.Sys("class", "iscsi_session", "session"+s))
	_ = os.Remove(k.Sys.Sys("class", "iscsi_connection", "connection"+s+":0"))
}

// Sessions lists the iSCSI session ids present.
func (k *Kernel) Sessions() []string {
	names, _ := scsi.ListDir(k.Sys.Sys("class", "iscsi_session"))
	return names
}

// AddFCHost creates fc_host hostH with a port WWPN (16 hex digits).
func (k *Kernel) AddFCHost(h int, wwpn string) {
	k.AddHost(h)
	k.write(k.Sys.Sys("class", "fc_host", "host"+strconv.Itoa(h), "port_name"), "0x"+strings.ToLower(wwpn))
}

// AddFCRemotePort creates rport-H:C-N for a target WWPN at SCSI target id t.
func (k *Kernel) AddFCRemotePort(h, c, n int, wwpn string, t int) {
	d := k.Sys.Sys("class", "fc_remote_ports", fmt.Sprintf("rport-%d:%d-%d", h, c, n))
	k.write(filepath.Join(d, "port_name"), "0x"+strings.ToLower(wwpn))
	k.write(filepath.Join(d, "scsi_target_id"), strconv.Itoa(t))
}

// AddMultipath creates dm-N named name for wwid over the given slaves.
func (k *Kernel) AddMultipath(n int, name, wwid string, slaves ...string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.addMapLocked(n, name, wwid, slaves)
}

func (k *Kernel) addMapLocked(n int, name, wwid string, slaves []string) {
	dm := "dm-" + strconv.Itoa(n)
	d := k.Sys.Sys("devices", "virtual", "block", dm)
	k.write(filepath.Join(d, "dm", "uuid"), "mpath-3"+strings.ToLower(wwid))
	k.write(filepath.Join(d, "dm", "name"), name)
	k.write(filepath.Join(d, "size"), "2097152")
	k.mkdir(filepath.Join(d, "slaves"))
	k.mkdir(filepath.Join(d, "holders"))
	k.symlink(d, k.Sys.Sys("block", dm))
	k.write(k.Sys.Dev(dm), "")
	k.symlink("../"+dm, k.Sys.Dev("mapper", name))
	for _, s := range slaves {
		k.symlink(k.Sys.Sys("block", s), filepath.Join(d, "slaves", s))
		k.symlink(d, k.Sys.Sys("block", s, "holders", dm))
	}
}

func (k *Kernel) addToMapLocked(wwid, disk string) {
	maps, _ := scsi.ListDir(k.Sys.Sys("block"))
	for _, m := range maps {
		if !strings.HasPrefix(m, "dm-") {
			continue
		}
		u, _ := os.ReadFile(k.Sys.Sys("block", m, "dm", "uuid"))
		if strings.TrimSpace(string(u)) == "mpath-3"+wwid {
			n, _ := strconv.Atoi(strings.TrimPrefix(m, "dm-"))
			k.addMapLocked(n, "3"+wwid, wwid, []string{disk})
			return
		}
	}
	n := 0
	for ; ; n++ {
		if _, err := os.Stat(k.Sys.Sys("block", "dm-"+strconv.Itoa(n))); err != nil {
			break
		}
	}
	k.addMapLocked(n, "3"+wwid, wwid, []string{disk})
}

// RemoveMultipath drops dm-N (multipath -f).
func (k *Kernel) RemoveMultipath(dm string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.removeMapLocked(dm)
}

func (k *Kernel) removeMapLocked(dm string) {
	slaves, _ := scsi.ListDir(k.Sys.Sys("block", dm, "slaves"))
	for _, s := range slaves {
		_ = os.Remove(k.Sys.Sys("block", s, "holders", dm))
	}
	name, _ := os.ReadFile(k.Sys.Sys("block", dm, "dm", "name"))
	if d, err := filepath.EvalSymlinks(k.Sys.Sys("block", dm)); err == nil {
		_ = os.RemoveAll(d)
	}
	_ = os.Remove(k.Sys.Sys("block", dm))
	_ = os.Remove(k.Sys.Dev(dm))
	_ = os.Remove(k.Sys.Dev("mapper", strings.TrimSpace(string(name))))
}

// RemoveMultipathByName drops the map whose dm/name is name; false if none.
func (k *Kernel) RemoveMultipathByName(name string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	maps, _ := scsi.ListDir(k.Sys.Sys("block"))
	for _, m := range maps {
		n, _ := os.ReadFile(k.Sys.Sys("block", m, "dm", "name"))
		if strings.HasPrefix(m, "dm-") && strings.TrimSpace(string(n)) == name {
			k.removeMapLocked(m)
			return true
		}
	}
	return false
}

// Maps lists the dm devices present.
func (k *Kernel) Maps() []string {
	names, _ := scsi.ListDir(k.Sys.Sys("block"))
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, "dm-") {
			out = append(out, n)
		}
	}
	return out
}

func (k *Kernel) onWrite(path, value string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	rel, _ := filepath.Rel(k.Sys.SysRoot, path)
	k.Writes = append(k.Writes, rel+"="+value)
	switch filepath.Base(path) {
	case "scan":
		host, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(filepath.Dir(path)), "host"))
		if err != nil {
			return
		}
		k.Scans = append(k.Scans, fmt.Sprintf("host%d: %s", host, value))
		f := strings.Fields(value)
		if len(f) != 3 {
			return
		}
		for key, wwid := range k.exposed {
			if key[0] != host || (f[2] != "-" && f[2] != strconv.Itoa(key[1])) {
				continue
			}
			addr := scsi.HCTL{Host: host, LUN: key[1]}
			addr.Channel, _ = strconv.Atoi(f[0]) // "-" → 0: one channel, one target
			addr.Target, _ = strconv.Atoi(f[1])
			if _, err := os.Stat(k.Sys.Sys("bus", "scsi", "devices", addr.String())); err == nil {
				continue // an existing device is not re-identified by a scan
			}
			k.addDiskLocked(addr, wwid)
		}
	case "rescan":
		// scsi_rescan_device re-reads VPD 0x83: the device now describes
		// whatever LU the target presents at its address (if any).
		dev, err := filepath.EvalSymlinks(filepath.Dir(path))
		if err != nil {
			return
		}
		addr, err := scsi.ParseHCTL(filepath.Base(dev))
		if err != nil {
			return
		}
		if w, ok := k.exposed[[2]int{addr.Host, addr.LUN}]; ok {
			k.write(filepath.Join(dev, "wwid"), "naa."+w)
		}
	case "delete":
		dev := filepath.Dir(path)
		ents, _ := os.ReadDir(filepath.Join(dev, "block"))
		for _, e := range ents {
			k.removeDiskLocked(e.Name())
		}
	}
}
