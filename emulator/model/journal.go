package model

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"
)

// Persistence: a snapshot (state.json) plus an append-only journal
// (journal.log) of per-transaction object images. Each record is
//   uint32 LE payload length | uint32 LE CRC-32C of payload | JSON payload
// and is fsynced before the command answers, so an acknowledged change
// survives kill -9. A torn or corrupt tail is cut off at load: what remains
// is a prefix of whole transactions, hence consistent. Every CompactEvery
// records the snapshot is rewritten (temp file, fsync, rename, fsync dir)
// and the journal restarted. Hand-written because no dependency in go.mod
// offers a journal; the format is small enough to audit here.

const (
	snapshotFile = "state.json"
	journalFile  = "journal.log"
	maxRecord    = 64 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// snapshotFormat is bumped on incompatible changes; newer files are refused.
const snapshotFormat = 1

type snapshot struct {
	Format int    `json:"format"`
	Seq    uint64 `json:"seq"`
	State  state  `json:"state"`
}

type record struct {
	Seq uint64  `json:"seq"`
	Ops []recOp `json:"ops"`
}

type recOp struct {
	Kind string          `json:"k"`
	ID   int             `json:"id"`
	Del  bool            `json:"del,omitempty"`
	V    json.RawMessage `json:"v,omitempty"`
}

type journal struct {
	dir          string
	f            *os.File
	seq          uint64
	records      int
	compactEvery int
	noSync       bool
	lock         *os.File // flock on the state directory, held while open
}

// loadState reads snapshot and journal, truncating a damaged journal tail.
func loadState(dir string, compactEvery int) (state, *journal, error) {
	if compactEvery <= 0 {
		compactEvery = 4096
	}
	st := newState()
	var seq uint64
	b, err := os.ReadFile(filepath.Join(dir, snapshotFile))
	switch {
	case err == nil:
		var snap snapshot
		snap.State = newState()
		if err := json.Unmarshal(b, &snap); err != nil {
			return st, nil, fmt.Errorf("snapshot %s: %w", snapshotFile, err)
		}
		if snap.Format > snapshotFormat {
			return st, nil, fmt.Errorf("snapshot %s has format %d; this emulator reads up to %d", snapshotFile, snap.Format, snapshotFormat)
		}
		st, seq = snap.State, snap.Seq
		fillNilMaps(&st)
	case errors.Is(err, os.ErrNotExist):
	default:
		return st, nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, journalFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return st, nil, err
	}
	good, n, lastSeq, err := replay(f, &st, seq)
	if err != nil {
		f.Close()
		return st, nil, err
	}
	if lastSeq > seq {
		seq = lastSeq
	}
	// Cut a torn tail so the next append starts on a record boundary.
	if err := f.Truncate(good); err != nil {
		f.Close()
		return st, nil, err
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return st, nil, err
	}
	return st, &journal{dir: dir, f: f, seq: seq, records: n, compactEvery: compactEvery}, nil
}

// replay applies whole records newer than afterSeq and returns the offset
// just past the last good record.
func replay(f *os.File, st *state, afterSeq uint64) (good int64, n int, lastSeq uint64, err error) {
	data, err := io.ReadAll(f)
	if err != nil {
		return 0, 0, 0, err
	}
	off := 0
	for {
		if len(data)-off < 8 {
			break
		}
		ln := int(binary.LittleEndian.Uint32(data[off:]))
		sum := binary.LittleEndian.Uint32(data[off+4:])
		if ln > maxRecord || len(data)-off-8 < ln {
			break
		}
		payload := data[off+8 : off+8+ln]
		if crc32.Checksum(payload, crcTable) != sum {
			break
		}
		var rec record
		if json.Unmarshal(payload, &rec) != nil {
			break
		}
		if rec.Seq > afterSeq {
			if err := applyRecord(st, &rec); err != nil {
				break
			}
		}
		lastSeq = rec.Seq
		off += 8 + ln
		n++
	}
	return int64(off), n, lastSeq, nil
}

func applyRecord(st *state, rec *record) error {
	// Decode everything first so a bad op cannot leave half a transaction.
	type put struct {
		op  recOp
		obj any
	}
	puts := make([]put, 0, len(rec.Ops))
	for _, op := range rec.Ops {
		if op.Del {
			puts = append(puts, put{op: op})
			continue
		}
		var obj any
		switch op.Kind {
		case kindVDisk:
			obj = &VDisk{}
		case kindHost:
			obj = &Host{}
		case kindHostMap:
			obj = &HostMap{}
		case kindLCMap:
			obj = &LCMap{}
		case kindLCGroup:
			obj = &LCConsistGrp{}
		case kindRCRel:
			obj = &RCRel{}
		case kindPartnership:
			obj = &Partnership{}
		case kindMeta:
			obj = &meta{}
		default:
			return fmt.Errorf("unknown kind %q", op.Kind)
		}
		if err := json.Unmarshal(op.V, obj); err != nil {
			return err
		}
		puts = append(puts, put{op: op, obj: obj})
	}
	for _, p := range puts {
		id := p.op.ID
		switch p.op.Kind {
		case kindVDisk:
			setOrDel(st.VDisks, id, p.obj)
		case kindHost:
			setOrDel(st.Hosts, id, p.obj)
		case kindHostMap:
			setOrDel(st.HostMaps, id, p.obj)
		case kindLCMap:
			setOrDel(st.LCMaps, id, p.obj)
		case kindLCGroup:
			setOrDel(st.LCGroups, id, p.obj)
		case kindRCRel:
			setOrDel(st.RCRels, id, p.obj)
		case kindPartnership:
			setOrDel(st.Partnerships, id, p.obj)
		case kindMeta:
			if p.obj != nil {
				st.Meta = *p.obj.(*meta)
			}
		}
	}
	return nil
}

func setOrDel[T any](m map[int]*T, id int, obj any) {
	if obj == nil {
		delete(m, id)
		return
	}
	m[id] = obj.(*T)
}

func fillNilMaps(st *state) {
	n := newState()
	if st.VDisks == nil {
		st.VDisks = n.VDisks
	}
	if st.Hosts == nil {
		st.Hosts = n.Hosts
	}
	if st.HostMaps == nil {
		st.HostMaps = n.HostMaps
	}
	if st.LCMaps == nil {
		st.LCMaps = n.LCMaps
	}
	if st.LCGroups == nil {
		st.LCGroups = n.LCGroups
	}
	if st.RCRels == nil {
		st.RCRels = n.RCRels
	}
	if st.Partnerships == nil {
		st.Partnerships = n.Partnerships
	}
	if st.Meta.NextSerial == 0 {
		st.Meta.NextSerial = 1
	}
}

// append writes one record and fsyncs it.
func (j *journal) append(ops []recOp) error {
	j.seq++
	payload, err := json.Marshal(record{Seq: j.seq, Ops: ops})
	if err != nil {
		return err
	}
	buf := make([]byte, 8, 8+len(payload))
	binary.LittleEndian.PutUint32(buf, uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[4:], crc32.Checksum(payload, crcTable))
	buf = append(buf, payload...)
	if _, err := j.f.Write(buf); err != nil {
		return err
	}
	if !j.noSync {
		if err := j.f.Sync(); err != nil {
			return err
		}
	}
	j.records++
	return nil
}

// compact writes a snapshot of st and starts an empty journal.
func (j *journal) compact(st *state) error {
	b, err := json.Marshal(snapshot{Format: snapshotFormat, Seq: j.seq, State: *st})
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(filepath.Join(j.dir, snapshotFile), b); err != nil {
		return err
	}
	if err := WriteFileAtomic(filepath.Join(j.dir, journalFile), nil); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(j.dir, journalFile), os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	j.f.Close()
	j.f, j.records = f, 0
	return nil
}

func (j *journal) close() error {
	if j == nil || j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	if j.lock != nil {
		j.lock.Close() // releases the flock
		j.lock = nil
	}
	return err
}

// lockDir takes an exclusive flock so two processes never share a state
// directory (each would overwrite the other's journal).
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("state directory %s is in use by another process: %w", dir, err)
	}
	return f, nil
}

// HasState reports whether dir already holds an array state (a snapshot or a
// journal), i.e. whether Open would load rather than create one.
func HasState(dir string) (bool, error) {
	for _, name := range []string{snapshotFile, journalFile} {
		_, err := os.Stat(filepath.Join(dir, name))
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
	}
	return false, nil
}

// WriteFileAtomic is write-temp, fsync, rename, fsync-dir: after a crash the
// file holds either the old or the new content.
func WriteFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, bytes.NewReader(data)); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Object kinds in journal records.
const (
	kindVDisk       = "vdisk"
	kindHost        = "host"
	kindHostMap     = "hostmap"
	kindLCMap       = "lcmap"
	kindLCGroup     = "lcgroup"
	kindRCRel       = "rcrel"
	kindPartnership = "partnership"
	kindMeta        = "meta"
)

type objKey struct {
	kind string
	id   int
}

// tx collects the objects a command touched; commit journals their images.
type tx struct {
	dirty  map[objKey]struct{}
	events []Event
	after  []func() // run after a successful commit (e.g. delete data files)
}

func (a *Array) begin() *tx { return &tx{dirty: map[objKey]struct{}{}} }

func (t *tx) touch(kind string, id int) { t.dirty[objKey{kind, id}] = struct{}{} }

func (t *tx) emit(e Event) { t.events = append(t.events, e) }

func (a *Array) commit(t *tx) error {
	if len(t.dirty) > 0 {
		keys := make([]objKey, 0, len(t.dirty))
		for k := range t.dirty {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].kind != keys[j].kind {
				return keys[i].kind < keys[j].kind
			}
			return keys[i].id < keys[j].id
		})
		ops := make([]recOp, 0, len(keys))
		for _, k := range keys {
			obj := a.lookup(k)
			if obj == nil {
				ops = append(ops, recOp{Kind: k.kind, ID: k.id, Del: true})
				continue
			}
			b, err := json.Marshal(obj)
			if err != nil {
				a.broken = err
				return err
			}
			ops = append(ops, recOp{Kind: k.kind, ID: k.id, V: b})
		}
		if err := a.jr.append(ops); err != nil {
			a.broken = err
			return err
		}
		if a.jr.records >= a.jr.compactEvery {
			if err := a.jr.compact(&a.st); err != nil {
				a.broken = err
				return err
			}
		}
	}
	for _, f := range t.after {
		f()
	}
	for _, e := range t.events {
		a.publish(e)
	}
	return nil
}

// lookup returns the current object for k, or nil when deleted.
func (a *Array) lookup(k objKey) any {
	switch k.kind {
	case kindVDisk:
		if v, ok := a.st.VDisks[k.id]; ok {
			return v
		}
	case kindHost:
		if v, ok := a.st.Hosts[k.id]; ok {
			return v
		}
	case kindHostMap:
		if v, ok := a.st.HostMaps[k.id]; ok {
			return v
		}
	case kindLCMap:
		if v, ok := a.st.LCMaps[k.id]; ok {
			return v
		}
	case kindLCGroup:
		if v, ok := a.st.LCGroups[k.id]; ok {
			return v
		}
	case kindRCRel:
		if v, ok := a.st.RCRels[k.id]; ok {
			return v
		}
	case kindPartnership:
		if v, ok := a.st.Partnerships[k.id]; ok {
			return v
		}
	case kindMeta:
		return &a.st.Meta
	}
	return nil
}
