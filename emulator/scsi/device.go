package scsi

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"

	"golang.org/x/sys/unix"
)

// BlockSize is the logical block size of every vdisk (the array exports
// 512-byte sectors).
const BlockSize = 512

// LUNInfo describes one vdisk as one initiator sees it through one node.
type LUNInfo struct {
	LUN           uint64 // SCSI LUN (hostmap SCSI_id)
	VdiskID       int
	Name          string
	UID           string // vdisk_UID: 32 hex digits, NAA-6
	CapacityBytes uint64
	Path          string // sparse data file shared with the model
	Thin          bool
	// PreferredNode is the node id serving the vdisk active/optimized;
	// PartnerNode the other node of its I/O group (active/non-optimized).
	PreferredNode int
	PartnerNode   int
}

// Device is one vdisk: its data file and the state every I_T nexus shares
// (reservations). One Device exists per vdisk UID however many sessions map
// it, so multipath sessions see one consistent device.
type Device struct {
	uid  string
	path string
	f    *os.File

	mu   sync.RWMutex // guards info
	info LUNInfo

	// cawMu serialises COMPARE AND WRITE against itself (atomicity).
	cawMu sync.Mutex
	// gate is shared per data file: writes hold it shared, Quiesce holds
	// it exclusively while LocalCopy takes its point-in-time copy.
	gate *gate

	pr prState

	refs int // guarded by Registry.mu
}

// Info returns the current vdisk description.
func (d *Device) Info() LUNInfo {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.info
}

func (d *Device) blocks() uint64 {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.info.CapacityBytes / BlockSize
}

// Registry holds the open Devices, reference-counted by vdisk UID.
type Registry struct {
	mu    sync.Mutex
	devs  map[string]*Device
	gates map[string]*gate // by data file path
}

type gate struct {
	mu    sync.RWMutex
	users int // devices and quiesces holding this entry; guarded by Registry.mu
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{devs: map[string]*Device{}, gates: map[string]*gate{}}
}

func (r *Registry) gateFor(path string) *gate {
	g := r.gates[path]
	if g == nil {
		g = &gate{}
		r.gates[path] = g
	}
	g.users++
	return g
}

func (r *Registry) putGate(path string, g *gate) {
	g.users--
	if g.users == 0 {
		delete(r.gates, path)
	}
}

// Quiesce blocks new writes to the data files at paths and waits for the
// writes in flight; resume lets them continue. It implements the model's
// Quiescer so a LocalCopy snapshot is point-in-time.
func (r *Registry) Quiesce(paths []string) (resume func()) {
	ps := append([]string(nil), paths...)
	sort.Strings(ps) // one lock order for concurrent quiesces
	r.mu.Lock()
	var gs []*gate
	var held []string
	for i, p := range ps {
		if i > 0 && p == ps[i-1] {
			continue
		}
		gs = append(gs, r.gateFor(p))
		held = append(held, p)
	}
	r.mu.Unlock()
	for _, g := range gs {
		g.mu.Lock()
	}
	return func() {
		for _, g := range gs {
			g.mu.Unlock()
		}
		r.mu.Lock()
		for i, g := range gs {
			r.putGate(held[i], g)
		}
		r.mu.Unlock()
	}
}

// Acquire returns the Device for info.UID, opening its file on first use
// and refreshing its description (capacity, preferred node) otherwise.
func (r *Registry) Acquire(info LUNInfo) (*Device, error) {
	if len(info.UID) != 32 {
		return nil, fmt.Errorf("vdisk %q: UID %q is not 32 hex digits", info.Name, info.UID)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if d, ok := r.devs[info.UID]; ok {
		d.refs++
		d.update(info)
		return d, nil
	}
	f, err := os.OpenFile(info.Path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open vdisk %q data file: %w", info.Name, err)
	}
	d := &Device{uid: info.UID, path: info.Path, f: f, info: info, refs: 1, gate: r.gateFor(info.Path)}
	d.pr.init()
	r.devs[info.UID] = d
	return d, nil
}

// Release drops one reference; the file closes with the last one.
func (r *Registry) Release(d *Device) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d.refs--
	if d.refs == 0 {
		delete(r.devs, d.uid)
		r.putGate(d.path, d.gate)
		_ = d.f.Close()
	}
}

// Open reports how many devices are open (leak tests).
func (r *Registry) Open() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.devs)
}

func (d *Device) update(info LUNInfo) {
	d.mu.Lock()
	d.info.CapacityBytes = info.CapacityBytes
	d.info.PreferredNode = info.PreferredNode
	d.info.PartnerNode = info.PartnerNode
	d.info.Thin = info.Thin
	d.info.Name = info.Name
	d.mu.Unlock()
}

// readAt fills p from the file; bytes past the file's end read as zeros
// (the model may size the file lazily).
func (d *Device) readAt(p []byte, off int64) error {
	n, err := d.f.ReadAt(p, off)
	if errors.Is(err, io.EOF) {
		clear(p[n:])
		return nil
	}
	return err
}

func (d *Device) writeAt(p []byte, off int64, fua bool) error {
	d.gate.mu.RLock()
	_, err := d.f.WriteAt(p, off)
	d.gate.mu.RUnlock()
	if err != nil {
		return err
	}
	if fua {
		return d.sync()
	}
	return nil
}

// sync makes every completed write durable (SYNCHRONIZE CACHE, FUA).
func (d *Device) sync() error { return unix.Fdatasync(int(d.f.Fd())) }

// punch deallocates a byte range; it reads back as zeros (LBPRZ=1).
func (d *Device) punch(off, n int64) error {
	if n == 0 {
		return nil
	}
	d.gate.mu.RLock()
	defer d.gate.mu.RUnlock()
	err := unix.Fallocate(int(d.f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
	if errors.Is(err, unix.EOPNOTSUPP) {
		// Filesystems without hole punching: zero the range instead.
		_, err = d.f.WriteAt(make([]byte, n), off)
	}
	return err
}

// mapped reports whether the byte at off is backed by data and how many
// bytes from off share that state (SEEK_DATA/SEEK_HOLE), bounded by end.
func (d *Device) mapped(off, end int64) (bool, int64) {
	fd := int(d.f.Fd())
	dataOff, err := unix.Seek(fd, off, unix.SEEK_DATA)
	if err != nil || dataOff >= end { // ENXIO: no data after off
		return false, end - off
	}
	if dataOff > off {
		return false, dataOff - off
	}
	holeOff, err := unix.Seek(fd, off, unix.SEEK_HOLE)
	if err != nil || holeOff > end {
		holeOff = end
	}
	return true, holeOff - off
}
