package node

// The stale-LUN proof on a real kernel (issue #5), run by
// scripts/node/vm-stale.sh inside the scripts/vm guest. Volume A is staged
// at LUN n; the array then unmaps A and maps B at the same LUN n behind the
// node's back (a force-detach, a crashed node). The kernel still has A's sd
// devices at H:C:T:n with A's WWID cached from VPD 0x83. NodeStage(B) must
// never mount A's data: it stages B's own device (fresh filesystem, A's
// marker absent, a map whose every slave re-reads as B) or fails clearly.
//
// Phases (NODE_PHASE; NODE_VOLUME_ID/NODE_PUBLISH_CONTEXT name the volume):
//   stale-a-held  stage+publish A, write the marker; A stays staged (mounted)
//   stale-a-lost  same, then lose track of A the way a crashed plugin does:
//                 unmount, flush A's map, drop the stage record — A's sd
//                 devices stay with A's WWID cached
//   stale-b       NodeStage(B) at A's LUN: refused (FailedPrecondition) or
//                 staged on B's own device; NODE_STALE_EXPECT=refuse|stage
//                 says which outcome this step of the scenario requires
//   stale-a-unstage  NodeUnpublish+NodeUnstage(A) after the remap; nothing
//                 of A may be written onto B's LU (checked by stale-b next)
//   stale-clean   no sd/dm device for any of NODE_STALE_UIDS, no session
// NODE_STALE_TAG names A's marker files in NODE_OUT.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/hostexec"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/scsi"
)

const staleMarker = "marker-A"

// stalePhase runs one stale-LUN phase; false if phase is not one of them.
func (r *realEnv) stalePhase(phase string) bool {
	tag := os.Getenv("NODE_STALE_TAG")
	if tag == "" {
		tag = "stale"
	}
	switch phase {
	case "stale-a-held", "stale-a-lost":
		r.staleWriteA(tag)
		if phase == "stale-a-lost" {
			r.loseTrack()
		}
		r.dumpKernel("after " + phase)
	case "stale-b":
		r.staleStageB(tag, os.Getenv("NODE_STALE_EXPECT"))
	case "stale-clean":
		// NODE_STALE_UIDS: every vdisk of the scenario; none may have an sd
		// or dm device left, and no session to the portals may remain.
		for _, uid := range strings.Split(os.Getenv("NODE_STALE_UIDS"), ",") {
			v := r.vol()
			v.UID = strings.ToLower(uid)
			r.assertGoneVolume(v)
		}
		r.dumpKernel("at the end")
	case "stale-a-unstage":
		r.dumpKernel("before NodeUnstage(A)")
		r.unpublishUnstage()
		r.dumpKernel("after NodeUnstage(A)")
	default:
		return false
	}
	return true
}

// staleWriteA stages and publishes A, writes a 1 MiB random marker and
// records its checksum and A's filesystem UUID.
func (r *realEnv) staleWriteA(tag string) {
	r.stagePublish(r.fsCap())
	data := make([]byte, 1<<20)
	if _, err := rand.Read(data); err != nil {
		r.t.Fatal(err)
	}
	p := filepath.Join(r.target, staleMarker)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.syncfs(r.target)
	sum := sha256.Sum256(data)
	dev := r.stagingSource()
	uuid := r.fsUUID(dev)
	if uuid == "" {
		r.t.Fatalf("no filesystem UUID on A's device %s", dev)
	}
	r.writeOut(tag+".sha256", hex.EncodeToString(sum[:]))
	r.writeOut(tag+".uuid", uuid)
	fmt.Printf("STALE A staged: device=%s fs_uuid=%s marker_sha256=%s\n", dev, uuid, hex.EncodeToString(sum[:]))
}

// loseTrack leaves A's path devices in the kernel but nothing above them:
// what a plugin that crashed mid-unstage (or lost its state dir) leaves.
func (r *realEnv) loseTrack() {
	a, err := r.srv.connector.Find(r.vol())
	if err != nil {
		r.t.Fatal(err)
	}
	for _, p := range []string{r.target, r.staging} {
		if err := unix.Unmount(p, 0); err != nil {
			r.t.Fatalf("unmount %s: %v", p, err)
		}
	}
	if a.Multipath != "" {
		name, err := r.srv.connector.Multipath.Name(a.Multipath)
		if err != nil {
			r.t.Fatal(err)
		}
		r.run("multipath", "-f", name)
	}
	if err := r.srv.state.remove(r.volID); err != nil {
		r.t.Fatal(err)
	}
	if len(a.Paths) == 0 {
		r.t.Fatalf("A has no path devices to leave behind: %+v", a)
	}
	fmt.Printf("STALE A lost track: paths %v left with A's WWID, map %q flushed, stage record removed\n", a.Paths, a.Multipath)
}

// staleStageB calls NodeStage(B) with A's leftovers at the same LUN and
// checks that A's data is never what B gets.
func (r *realEnv) staleStageB(tag, expect string) {
	ctx := context.Background()
	uidA, err := os.ReadFile(filepath.Join(r.out, tag+".uuid"))
	if err != nil {
		r.t.Fatal(err)
	}
	v := r.vol()
	r.dumpKernel("before NodeStage(B)")
	start := time.Now()
	_, err = r.srv.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: r.volID, StagingTargetPath: r.staging, VolumeCapability: r.fsCap(), PublishContext: r.pc})
	fmt.Printf("STALE NodeStage(B) took %d ms: err=%v\n", time.Since(start).Milliseconds(), err)
	r.dumpKernel("after NodeStage(B)")
	// Whatever the outcome: no map may carry B's WWID over a path that
	// re-reads as anything else, and no map may mix WWIDs.
	r.checkMapsPure()
	if err != nil {
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "stale") {
			r.t.Fatalf("NodeStage(B) failed without the stale-device refusal: %v", err)
		}
		if mounted(r.t, r.staging) {
			r.t.Fatalf("NodeStage(B) failed but %s is mounted", r.staging)
		}
		if expect == "stage" {
			r.t.Fatalf("NodeStage(B) refused where B's own device should have been staged: %v", err)
		}
		fmt.Printf("STALE RESULT refused: %v\n", err)
		return
	}
	if expect == "refuse" {
		r.t.Errorf("NodeStage(B) succeeded while A's device is still in use at B's LUN")
	}
	dev := r.stagingSource()
	// B's device: a map with B's WWID whose every slave, re-read from the
	// LU (rescan), is B — or a single sd that re-reads as B.
	var sds []string
	base := filepath.Base(mustEval(r.t, dev))
	if strings.HasPrefix(base, "dm-") {
		u, _ := os.ReadFile(filepath.Join("/sys/block", base, "dm", "uuid"))
		if got := strings.TrimSpace(string(u)); got != "mpath-3"+v.UID {
			r.t.Errorf("B staged on %s (%s) with dm uuid %q, want mpath-3%s", dev, base, got, v.UID)
		}
		sds, _ = r.srv.connector.Multipath.Slaves(base)
	} else {
		sds = []string{base}
	}
	sys := scsi.Default()
	for _, sd := range sds {
		cached, _ := sys.WWID(sd)
		if err := sys.RescanDisk(sd); err != nil {
			r.t.Fatalf("rescan %s: %v", sd, err)
		}
		fresh, _ := sys.WWID(sd)
		fmt.Printf("STALE B path %s: wwid cached=%s after-rescan=%s\n", sd, cached, fresh)
		if cached != v.UID || fresh != v.UID {
			r.t.Errorf("B staged over path %s whose WWID is %s (rescanned %s), want %s", sd, cached, fresh, v.UID)
		}
	}
	if _, err := os.Stat(filepath.Join(r.staging, staleMarker)); err == nil {
		r.t.Fatalf("A's marker %s is visible on B's staging path: A's data was mounted as B", staleMarker)
	}
	uuid := r.fsUUID(dev)
	if uuid == strings.TrimSpace(string(uidA)) {
		r.t.Fatalf("B's filesystem has A's UUID %s", uuid)
	}
	ents, _ := os.ReadDir(r.staging)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"lost+found"}) {
		r.t.Fatalf("B's filesystem is not fresh: %v", names)
	}
	fmt.Printf("STALE RESULT staged B on %s: fs_uuid=%s (A's %s), root %v, A's marker absent\n", dev, uuid, strings.TrimSpace(string(uidA)), names)
	if _, err := r.srv.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: r.volID, StagingTargetPath: r.staging, TargetPath: r.target, VolumeCapability: r.fsCap(), PublishContext: r.pc}); err != nil {
		r.t.Fatalf("NodePublishVolume(B): %v", err)
	}
	if err := os.WriteFile(filepath.Join(r.target, "marker-B"), []byte("B"), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.syncfs(r.target)
	r.unpublishUnstage()
	r.dumpKernel("after NodeUnstage(B)")
}

// checkMapsPure: every multipath map's slaves carry the map's own WWID.
func (r *realEnv) checkMapsPure() {
	names, _ := scsi.ListDir("/sys/block")
	sys := scsi.Default()
	for _, n := range names {
		if !strings.HasPrefix(n, "dm-") {
			continue
		}
		u, _ := os.ReadFile(filepath.Join("/sys/block", n, "dm", "uuid"))
		uuid := strings.TrimSpace(string(u))
		if !strings.HasPrefix(uuid, "mpath-3") {
			continue
		}
		slaves, _ := r.srv.connector.Multipath.Slaves(n)
		for _, s := range slaves {
			if w, _ := sys.WWID(s); "mpath-3"+w != uuid {
				r.t.Errorf("map %s (%s) has path %s with WWID %s: a map mixing LUs", n, uuid, s, w)
			}
		}
	}
}

// dumpKernel prints what the kernel shows: every sd with its H:C:T:L,
// cached WWID and holders, every dm map, lsscsi and multipath -ll.
func (r *realEnv) dumpKernel(label string) {
	fmt.Printf("---- KERNEL %s\n", label)
	sys := scsi.Default()
	names, _ := scsi.ListDir("/sys/block")
	for _, n := range names {
		switch {
		case strings.HasPrefix(n, "sd"):
			a, _ := sys.AddressOf(n)
			w, _ := sys.WWID(n)
			h, _ := sys.Holders(n)
			// scsi_id asks the LU itself (INQUIRY VPD 0x83 over SG_IO); the
			// sysfs wwid is what the kernel cached when it probed the device.
			live := strings.TrimSpace(r.tryRun("/lib/udev/scsi_id", "-g", "-u", "-d", "/dev/"+n))
			fmt.Printf("  %s %s wwid(sysfs cache)=%s wwid(live VPD)=%s holders=%v\n", n, a, w, live, h)
		case strings.HasPrefix(n, "dm-"):
			u, _ := os.ReadFile(filepath.Join("/sys/block", n, "dm", "uuid"))
			s, _ := r.srv.connector.Multipath.Slaves(n)
			fmt.Printf("  %s uuid=%s slaves=%v\n", n, strings.TrimSpace(string(u)), s)
		}
	}
	fmt.Print(indent(r.tryRun("lsscsi", "-i")))
	fmt.Print(indent(r.tryRun("multipath", "-ll")))
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "  | " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  | ") + "\n"
}

func (r *realEnv) vol() host.Volume {
	v, err := volumeFrom(r.volID, r.pc)
	if err != nil {
		r.t.Fatal(err)
	}
	return v
}

func (r *realEnv) run(cmd string, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := hostexec.Run(ctx, r.srv.connector.Exec, cmd, args...)
	if err != nil {
		r.t.Fatalf("%s %v: %v", cmd, args, err)
	}
	return string(out)
}

func (r *realEnv) tryRun(cmd string, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := hostexec.Run(ctx, r.srv.connector.Exec, cmd, args...)
	if err != nil {
		return fmt.Sprintf("%s: %v\n", cmd, err)
	}
	return string(out)
}

// fsUUID probes dev directly (blkid -p, no cache).
func (r *realEnv) fsUUID(dev string) string {
	return strings.TrimSpace(r.tryRun("blkid", "-p", "-s", "UUID", "-o", "value", dev))
}

// stagingSource is the device mounted at the staging path.
func (r *realEnv) stagingSource() string {
	mps, err := r.srv.mounter.List()
	if err != nil {
		r.t.Fatal(err)
	}
	for _, mp := range mps {
		if mp.Path == r.staging {
			return mp.Device
		}
	}
	r.t.Fatalf("%s is not mounted", r.staging)
	return ""
}

func (r *realEnv) syncfs(p string) {
	f, err := os.Open(p)
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		r.t.Fatal(err)
	}
}

func (r *realEnv) writeOut(name, v string) {
	if err := os.WriteFile(filepath.Join(r.out, name), []byte(v), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func mounted(t interface{ Fatal(...any) }, p string) bool {
	var st, parent unix.Stat_t
	if unix.Stat(p, &st) != nil || unix.Stat(filepath.Dir(p), &parent) != nil {
		return false
	}
	return st.Dev != parent.Dev
}

func mustEval(t interface{ Fatal(...any) }, p string) string {
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
