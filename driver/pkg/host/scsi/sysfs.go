// Package scsi reads and drives the kernel's SCSI layer through sysfs: the
// targeted scan of one H:C:T:L, the block device behind it, its WWID (VPD
// page 0x83), and path removal. Roots are configurable so the flows run on
// a fake tree in tests.
package scsi

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Sysfs is the sysfs and /dev view of the host.
type Sysfs struct {
	SysRoot string // "/sys"
	DevRoot string // "/dev"
	// Notify, when set, is called after every successful sysfs write. Tests
	// use it to play the kernel (create a disk on scan, drop it on delete).
	Notify func(path, value string)
}

// Default is the real host.
func Default() *Sysfs { return &Sysfs{SysRoot: "/sys", DevRoot: "/dev"} }

// Sys joins elem under the sysfs root.
func (s *Sysfs) Sys(elem ...string) string {
	return filepath.Join(append([]string{s.SysRoot}, elem...)...)
}

// Dev joins elem under the /dev root.
func (s *Sysfs) Dev(elem ...string) string {
	return filepath.Join(append([]string{s.DevRoot}, elem...)...)
}

// Write writes value to an existing sysfs attribute (never creates one).
func (s *Sysfs) Write(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(value)
	cerr := f.Close()
	if werr != nil {
		return fmt.Errorf("write %q to %s: %w", value, path, werr)
	}
	if cerr != nil {
		return fmt.Errorf("write %q to %s: %w", value, path, cerr)
	}
	if s.Notify != nil {
		s.Notify(path, value)
	}
	return nil
}

// Read returns a sysfs attribute without surrounding whitespace.
func (s *Sysfs) Read(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// HCTL is a SCSI address; Channel/Target may be -1 meaning "any" in a scan.
type HCTL struct{ Host, Channel, Target, LUN int }

func (a HCTL) String() string { return fmt.Sprintf("%d:%d:%d:%d", a.Host, a.Channel, a.Target, a.LUN) }

// ParseHCTL parses "H:C:T:L".
func ParseHCTL(s string) (HCTL, error) {
	p := strings.Split(s, ":")
	if len(p) != 4 {
		return HCTL{}, fmt.Errorf("not an H:C:T:L address: %q", s)
	}
	var n [4]int
	for i, f := range p {
		v, err := strconv.Atoi(f)
		if err != nil || v < 0 {
			return HCTL{}, fmt.Errorf("not an H:C:T:L address: %q", s)
		}
		n[i] = v
	}
	return HCTL{n[0], n[1], n[2], n[3]}, nil
}

func scanField(v int) string {
	if v < 0 {
		return "-"
	}
	return strconv.Itoa(v)
}

// Scan asks host H to probe exactly channel/target/lun (-1 = wildcard),
// i.e. writes "C T L" to /sys/class/scsi_host/hostH/scan.
func (s *Sysfs) Scan(host, channel, target, lun int) error {
	return s.Write(s.Sys("class", "scsi_host", "host"+strconv.Itoa(host), "scan"),
		scanField(channel)+" "+scanField(target)+" "+scanField(lun))
}

// Disk is one SCSI block device (a path).
type Disk struct {
	Name string // sdX
	HCTL HCTL
}

// DisksAt lists the block devices at host H and LUN L (any channel/target).
func (s *Sysfs) DisksAt(host, lun int) ([]Disk, error) {
	pattern := s.Sys("bus", "scsi", "devices", fmt.Sprintf("%d:*:*:%d", host, lun), "block", "*")
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	var out []Disk
	for _, m := range matches {
		addr, err := ParseHCTL(filepath.Base(filepath.Dir(filepath.Dir(m))))
		if err != nil || addr.Host != host || addr.LUN != lun {
			continue
		}
		out = append(out, Disk{Name: filepath.Base(m), HCTL: addr})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// AddressOf returns the H:C:T:L of block device name (sdX).
func (s *Sysfs) AddressOf(name string) (HCTL, error) {
	target, err := filepath.EvalSymlinks(s.Sys("block", name, "device"))
	if err != nil {
		return HCTL{}, err
	}
	return ParseHCTL(filepath.Base(target))
}

// NormalizeWWID turns the forms a WWID comes in — sysfs "naa.6005…",
// scsi_id "36005…", the array's "6005…" — into the array's lowercase 32-hex
// vdisk_UID form (see mcs-cli.md §3.2). Other designators are returned
// lowercased as they are, so they never equal a vdisk UID.
func NormalizeWWID(w string) string {
	w = strings.ToLower(strings.TrimSpace(w))
	switch {
	case strings.HasPrefix(w, "naa."):
		return strings.TrimPrefix(w, "naa.")
	case len(w) == 33 && w[0] == '3':
		return w[1:]
	}
	return w
}

// WWID returns the normalised VPD 0x83 identifier of sdX from sysfs.
func (s *Sysfs) WWID(name string) (string, error) {
	w, err := s.Read(s.Sys("block", name, "device", "wwid"))
	if err != nil {
		return "", err
	}
	return NormalizeWWID(w), nil
}

// Holders lists the devices stacked on name (e.g. dm-3).
func (s *Sysfs) Holders(name string) ([]string, error) {
	return listDir(s.Sys("block", name, "holders"))
}

// InUse reports what holds the block device name, or "" if nothing does:
// its holders (a dm map, md…), else "exclusive open refused" when the
// kernel refuses O_EXCL because a mounted filesystem or another claimer has
// it. Only a device nothing holds may be rescanned into a new identity or
// deleted without pulling it from under someone.
func (s *Sysfs) InUse(name string) (string, error) {
	hs, err := s.Holders(name)
	if err != nil {
		return "", err
	}
	if len(hs) > 0 {
		return strings.Join(hs, ","), nil
	}
	// O_EXCL on a block device (without O_CREAT) claims it exclusively; it
	// fails with EBUSY while it is mounted or claimed. Read-only, so closing
	// it triggers no udev "change" event.
	fd, err := unix.Open(s.Dev(name), unix.O_RDONLY|unix.O_EXCL|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	switch {
	case errors.Is(err, unix.EBUSY):
		return "exclusive open refused (mounted or claimed)", nil
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENXIO), errors.Is(err, unix.ENODEV):
		return "", nil // gone meanwhile
	case err != nil:
		return "", fmt.Errorf("open %s: %w", s.Dev(name), err)
	}
	_ = unix.Close(fd)
	return "", nil
}

// Exists reports whether the block device name is present.
func (s *Sysfs) Exists(name string) bool {
	_, err := os.Stat(s.Sys("block", name))
	return err == nil
}

// DeleteDisk removes the SCSI device behind sdX from the kernel. A device
// that is already gone is not an error.
func (s *Sysfs) DeleteDisk(name string) error {
	err := s.Write(s.Sys("block", name, "device", "delete"), "1")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// RescanDisk makes the kernel re-read the capacity and the VPD pages of sdX
// (scsi_rescan_device → scsi_attach_vpd), so device/wwid afterwards is what
// the LU at that address says now, not what it said when it was probed.
func (s *Sysfs) RescanDisk(name string) error {
	return s.Write(s.Sys("block", name, "device", "rescan"), "1")
}

// DisksByWWID lists every sd device whose WWID equals uid (any form).
// It is how teardown finds paths after a restart renamed them.
func (s *Sysfs) DisksByWWID(uid string) ([]string, error) {
	want := NormalizeWWID(uid)
	names, err := listDir(s.Sys("block"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if !strings.HasPrefix(n, "sd") {
			continue
		}
		if w, err := s.WWID(n); err == nil && w == want {
			out = append(out, n)
		}
	}
	return out, nil
}

// SizeBytes returns the size of a block device from sysfs (512-byte sectors).
func (s *Sysfs) SizeBytes(name string) (int64, error) {
	v, err := s.Read(s.Sys("block", name, "size"))
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", name, err)
	}
	return n * 512, nil
}

func listDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out, nil
}

// ListDir lists a sysfs directory; a missing one is empty.
func ListDir(dir string) ([]string, error) { return listDir(dir) }
