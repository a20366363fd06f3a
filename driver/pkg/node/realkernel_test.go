package node

// TestRealKernel drives the Node service against a real kernel initiator,
// dm-multipath and filesystems (run inside the scripts/vm guest by
// scripts/node/vm-node.sh). It is skipped unless NODE_REALKERNEL=1. Each
// phase is a separate process with the same state dir, so every phase after
// the first also proves that a restarted plugin works from its records.
//
// Env: NODE_PHASE (fs-write | fs-verify | expand | unstage | block | clean),
// NODE_VOLUME_ID, NODE_PUBLISH_CONTEXT (JSON object), NODE_STATE_DIR,
// NODE_OUT (dir for checksums), NODE_EXPECT_BYTES (expand).

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	mount "k8s.io/mount-utils"
	utilsexec "k8s.io/utils/exec"

	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/hostexec"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/iscsi"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/scsi"
)

type realEnv struct {
	t       *testing.T
	srv     *Server
	volID   string
	pc      map[string]string
	staging string
	target  string
	out     string
}

func newRealEnv(t *testing.T) *realEnv {
	if os.Getenv("NODE_REALKERNEL") != "1" {
		t.Skip("real-kernel test: run by scripts/node/vm-node.sh in the VM (NODE_REALKERNEL=1)")
	}
	r := &realEnv{t: t, volID: os.Getenv("NODE_VOLUME_ID"), out: os.Getenv("NODE_OUT")}
	if err := json.Unmarshal([]byte(os.Getenv("NODE_PUBLISH_CONTEXT")), &r.pc); err != nil {
		t.Fatalf("NODE_PUBLISH_CONTEXT: %v", err)
	}
	hc := config.Host{Link: "iscsi", ForceUseMultipath: os.Getenv("NODE_FORCE_MULTIPATH") == "1",
		SCSIScanRetryTimes: 3, SCSIScanWaitInterval: 1, ISCSIPathCheckRetryTimes: 10, ISCSIPathCheckWaitInterval: 1,
		MultipathSearchRetryTimes: 10, MultipathSearchWaitInterval: 1, MultipathResizeDelay: 1, HostCommandTimeout: 120}
	ex := hostexec.WithTimeout(utilsexec.New(), 120*time.Second)
	srv, err := New(Options{DriverName: "csi-instorage", NodeName: "vmnode", StateDir: os.Getenv("NODE_STATE_DIR")}, hc, ex,
		&mount.SafeFormatAndMount{Interface: mount.New(""), Exec: ex})
	if err != nil {
		t.Fatal(err)
	}
	r.srv = srv
	base := filepath.Join("/var/lib/kubelet/plugins/kubernetes.io/csi/csi-instorage", sha(r.volID)[:16])
	r.staging = filepath.Join(base, "globalmount")
	r.target = filepath.Join("/var/lib/kubelet/pods/test/volumes/kubernetes.io~csi", sha(r.volID)[:16], "mount")
	return r
}

func sha(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func (r *realEnv) fsCap() *csi.VolumeCapability {
	return mountCap("ext4", csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER)
}

func (r *realEnv) stagePublish(c *csi.VolumeCapability) {
	ctx := context.Background()
	start := time.Now()
	if _, err := r.srv.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: r.volID, StagingTargetPath: r.staging, VolumeCapability: c, PublishContext: r.pc}); err != nil {
		r.t.Fatalf("NodeStageVolume: %v", err)
	}
	staged := time.Since(start)
	if _, err := r.srv.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: r.volID, StagingTargetPath: r.staging, TargetPath: r.target, VolumeCapability: c, PublishContext: r.pc}); err != nil {
		r.t.Fatalf("NodePublishVolume: %v", err)
	}
	fmt.Printf("TIMING stage_ms=%d stage_publish_ms=%d\n", staged.Milliseconds(), time.Since(start).Milliseconds())
}

func (r *realEnv) unpublishUnstage() {
	ctx := context.Background()
	start := time.Now()
	if _, err := r.srv.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: r.volID, TargetPath: r.target}); err != nil {
		r.t.Fatalf("NodeUnpublishVolume: %v", err)
	}
	if _, err := r.srv.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: r.volID, StagingTargetPath: r.staging}); err != nil {
		r.t.Fatalf("NodeUnstageVolume: %v", err)
	}
	fmt.Printf("TIMING unpublish_unstage_ms=%d\n", time.Since(start).Milliseconds())
	r.assertGone()
}

// assertGone: no sd or dm device carries the vdisk UID and no session is
// left to a portal of the volume.
func (r *realEnv) assertGone() {
	v, err := volumeFrom(r.volID, r.pc)
	if err != nil {
		r.t.Fatal(err)
	}
	r.assertGoneVolume(v)
}

func (r *realEnv) assertGoneVolume(v host.Volume) {
	sys := scsi.Default()
	if d, _ := sys.DisksByWWID(v.UID); len(d) != 0 {
		r.t.Errorf("path devices left for %s: %v", v.UID, d)
	}
	if dm, _ := r.srv.connector.Multipath.MapByWWID(v.UID); dm != "" {
		r.t.Errorf("multipath map left for %s: %s", v.UID, dm)
	}
	ss, _ := (&iscsi.Initiator{Sys: sys}).Sessions()
	for _, s := range ss {
		for _, p := range v.ISCSI {
			if s.Portal == p.Portal && s.IQN == p.IQN {
				r.t.Errorf("session %d to %s %s left", s.ID, s.Portal, s.IQN)
			}
		}
	}
}

func fileSum(t *testing.T, p string) string {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func statfsTotal(t *testing.T, p string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Blocks) * int64(st.Bsize)
}

// forwardPortals serves (phase "forward"): the controller publishes the array's lsportip
// addresses (127.0.0.x in the emulator's default topology), which in the VM live behind the
// guestfwd portals; this forwards them like a NAT would, so the whole driver runs unchanged.
// forwardPortals serves "listen=dial,listen=dial" TCP forwards for NODE_FORWARD_SECONDS.
func forwardPortals(t *testing.T, spec string) {
	secs, _ := strconv.Atoi(os.Getenv("NODE_FORWARD_SECONDS"))
	for _, pair := range strings.Split(spec, ",") {
		from, to, ok := strings.Cut(pair, "=")
		if !ok {
			t.Fatalf("NODE_FORWARD entry %q: want listen=dial", pair)
		}
		ln, err := net.Listen("tcp", from)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					d, err := net.DialTimeout("tcp", to, 10*time.Second)
					if err != nil {
						return
					}
					defer d.Close()
					go func() { _, _ = io.Copy(d, c); _ = d.(*net.TCPConn).CloseWrite() }()
					_, _ = io.Copy(c, d)
				}()
			}
		}()
	}
	fmt.Println("FORWARDING", spec)
	time.Sleep(time.Duration(secs) * time.Second)
}

func TestRealKernel(t *testing.T) {
	if os.Getenv("NODE_PHASE") == "forward" && os.Getenv("NODE_REALKERNEL") == "1" {
		forwardPortals(t, os.Getenv("NODE_FORWARD"))
		return
	}
	r := newRealEnv(t)
	ctx := context.Background()
	switch phase := os.Getenv("NODE_PHASE"); phase {
	case "fs-write":
		r.stagePublish(r.fsCap())
		data := make([]byte, 16<<20)
		if _, err := rand.Read(data); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(r.target, "data")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		f, _ := os.Open(p)
		_ = f.Sync()
		f.Close()
		sum := sha256.Sum256(data)
		if err := os.WriteFile(filepath.Join(r.out, "data.sha256"), []byte(hex.EncodeToString(sum[:])), 0o644); err != nil {
			t.Fatal(err)
		}
		r.unpublishUnstage()
	case "fs-verify":
		// Stays staged and published for the expand phase (a new process).
		r.stagePublish(r.fsCap())
		want, err := os.ReadFile(filepath.Join(r.out, "data.sha256"))
		if err != nil {
			t.Fatal(err)
		}
		if got := fileSum(t, filepath.Join(r.target, "data")); got != string(want) {
			t.Fatalf("restored data sha256 %s, want %s", got, want)
		}
		if err := os.WriteFile(filepath.Join(r.out, "fs-bytes"), []byte(strconv.FormatInt(statfsTotal(t, r.target), 10)), 0o644); err != nil {
			t.Fatal(err)
		}
	case "expand":
		want, _ := strconv.ParseInt(os.Getenv("NODE_EXPECT_BYTES"), 10, 64)
		before, _ := os.ReadFile(filepath.Join(r.out, "fs-bytes"))
		b0, _ := strconv.ParseInt(string(before), 10, 64)
		resp, err := r.srv.NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{VolumeId: r.volID, VolumePath: r.target, CapacityRange: &csi.CapacityRange{RequiredBytes: want}})
		if err != nil {
			t.Fatalf("NodeExpandVolume: %v", err)
		}
		after := statfsTotal(t, r.target)
		fmt.Printf("EXPAND device=%d fs_before=%d fs_after=%d\n", resp.CapacityBytes, b0, after)
		if resp.CapacityBytes < want || after <= b0+(want-b0)/2 {
			t.Fatalf("expand: device %d (want ≥ %d), filesystem %d → %d", resp.CapacityBytes, want, b0, after)
		}
		st, err := r.srv.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: r.volID, VolumePath: r.target})
		if err != nil || st.Usage[0].Total != after {
			t.Fatalf("stats after expand: %v, %v", st, err)
		}
		sum, _ := os.ReadFile(filepath.Join(r.out, "data.sha256"))
		if got := fileSum(t, filepath.Join(r.target, "data")); got != string(sum) {
			t.Fatalf("data changed by expand: %s", got)
		}
		r.unpublishUnstage()
	case "block":
		r.stagePublish(blockCap())
		pattern := bytes.Repeat([]byte("instorage-block!"), 1<<16) // 1 MiB
		f, err := os.OpenFile(r.target, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(pattern, 4<<20); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(pattern))
		if _, err := f.ReadAt(got, 4<<20); err != nil || !bytes.Equal(got, pattern) {
			t.Fatalf("block read-back differs: %v", err)
		}
		f.Close()
		st, err := r.srv.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: r.volID, VolumePath: r.target})
		if err != nil || st.Usage[0].Total <= 0 {
			t.Fatalf("block stats: %v %v", st, err)
		}
		r.unpublishUnstage()
	case "unstage":
		// A new process unpublishes and unstages what an earlier one set up.
		r.unpublishUnstage()
	case "clean":
		r.assertGone()
	default:
		if !r.stalePhase(phase) {
			t.Fatalf("NODE_PHASE %q", phase)
		}
	}
}
