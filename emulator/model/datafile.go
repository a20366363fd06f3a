package model

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
	"k8s.io/klog/v2"
)

// Each vdisk's bytes live in a sparse file named by its serial (stable
// across renames): vdisks/<serial>.img. Creation and expand use truncate, so
// thin provisioning is real and costs no disk until written.

func (a *Array) dataPath(v *VDisk) string {
	return filepath.Join(a.dir, "vdisks", fmt.Sprintf("%016x.img", v.Serial))
}

func createDataFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// growDataFile extends the file; it never shrinks (expand only grows).
func growDataFile(path string, size int64) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Size() >= size {
		return nil
	}
	return os.Truncate(path, size)
}

// reconcileDataFiles repairs what a crash between journal and file
// operations can leave: missing or short files are (re)created at the
// recorded size; files of no vdisk are removed.
func (a *Array) reconcileDataFiles() error {
	want := map[string]int64{}
	for _, v := range a.st.VDisks {
		want[filepath.Base(a.dataPath(v))] = v.Capacity
	}
	dir := filepath.Join(a.dir, "vdisks")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		if _, ok := want[name]; !ok && strings.HasSuffix(name, ".img") {
			klog.InfoS("Removing orphan data file", "file", name)
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return err
			}
			continue
		}
		seen[name] = true
	}
	for name, size := range want {
		p := filepath.Join(dir, name)
		if !seen[name] {
			klog.InfoS("Recreating missing data file", "file", name)
			if err := createDataFile(p, size); err != nil {
				return err
			}
			continue
		}
		if err := growDataFile(p, size); err != nil {
			return err
		}
	}
	return nil
}

// copyDataFile makes dst hold src's bytes (point-in-time), in place so open
// descriptors on dst stay valid. It tries a reflink first and falls back to
// copying only the data extents (SEEK_DATA/SEEK_HOLE), punching the rest.
func copyDataFile(src, dst string, size int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer out.Close()
	// Drop dst's old contents but keep its inode.
	if err := out.Truncate(0); err != nil {
		return err
	}
	if err := out.Truncate(size); err != nil {
		return err
	}
	if unix.IoctlFileClone(int(out.Fd()), int(in.Fd())) == nil {
		return out.Truncate(size)
	}
	var off int64
	buf := make([]byte, 1<<20)
	for off < size {
		data, err := unix.Seek(int(in.Fd()), off, unix.SEEK_DATA)
		if err != nil {
			if errors.Is(err, unix.ENXIO) { // no more data
				break
			}
			return fmt.Errorf("seek data: %w", err)
		}
		hole, err := unix.Seek(int(in.Fd()), data, unix.SEEK_HOLE)
		if err != nil {
			return fmt.Errorf("seek hole: %w", err)
		}
		if hole > size {
			hole = size
		}
		for p := data; p < hole; {
			n := int64(len(buf))
			if hole-p < n {
				n = hole - p
			}
			r, err := in.ReadAt(buf[:n], p)
			if r > 0 {
				if _, werr := out.WriteAt(buf[:r], p); werr != nil {
					return werr
				}
				p += int64(r)
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			if r == 0 {
				break
			}
		}
		off = hole
	}
	return out.Sync()
}

// allocatedBytes is the file's real disk use (thin used_capacity).
func allocatedBytes(path string) int64 {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return 0
	}
	return st.Blocks * 512
}
