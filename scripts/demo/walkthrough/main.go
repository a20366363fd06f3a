// Command walkthrough drives a running instorage-csi driver over the real CSI
// gRPC API through a volume's life — create a thin volume, snapshot it,
// clone it, restore the snapshot, expand, publish to a node, list, delete —
// and after each step prints what changed on the array, as the array's own
// CLI shows it. `make demo` runs it against the emulator.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
	"github.com/instorage-csi/instorage-csi/scripts/demo/internal/arrayview"
)

const gib = int64(1) << 30

type demo struct {
	ctx    context.Context
	ctrl   csi.ControllerClient
	view   *arrayview.View
	step   int
	failed bool
	// checkpoint is run (no shell) while every demo object exists.
	checkpoint []string
}

func main() {
	endpoint := flag.String("endpoint", "unix:///tmp/instorage-demo/csi.sock", "driver CSI endpoint")
	cfgPath := flag.String("config", "", "the driver's instorage.yaml (to read the array over SSH)")
	nodeID := flag.String("node-id", "demo-node;iqn=iqn.2026-11.io.instorage-csi.demo:node1", "CSI node ID to publish to")
	pool := flag.String("pool", "Pool0", "volPoolName")
	timeout := flag.Duration("timeout", 5*time.Minute, "whole walkthrough deadline")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: walkthrough [flags] [-- CHECKPOINT COMMAND...]\n\nThe checkpoint command, if any, runs while every object exists (after ListVolumes); a failure fails the walkthrough.")
		flag.PrintDefaults()
	}
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	d, err := connect(ctx, *endpoint, *cfgPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "walkthrough:", err)
		os.Exit(1)
	}
	d.checkpoint = flag.Args()
	d.run(*pool, *nodeID)
	if d.failed {
		os.Exit(1)
	}
}

func connect(ctx context.Context, endpoint, cfgPath string) (*demo, error) {
	target := endpoint
	if strings.HasPrefix(endpoint, "unix://") {
		target = "unix:" + strings.TrimPrefix(endpoint, "unix://")
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, err
	}
	if err := cfg.Resolve(config.ShadowKeyFromEnv); err != nil {
		return nil, err
	}
	s := &cfg.Storage[0]
	cb, err := array.HostKeyCallbackFor(s)
	if err != nil {
		return nil, err
	}
	t, err := array.NewSSHTransport(array.SSHOptions{Addr: s.Host, User: s.Username, Password: s.Password, HostKeyCallback: cb, ArrayName: s.Name})
	if err != nil {
		return nil, err
	}
	return &demo{ctx: ctx, ctrl: csi.NewControllerClient(conn), view: arrayview.New(os.Stdout, arrayview.Array{Name: s.Name, Transport: t})}, nil
}

func (d *demo) run(pool, nodeID string) {
	d.observe(false) // baseline
	params := map[string]string{"volPoolName": pool, "volThin": "true", "volThinResize": "2", "volAutoExpand": "true"}
	mount := []*csi.VolumeCapability{{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: "ext4"}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
	}}
	create := func(name string, src *csi.VolumeContentSource) string {
		res, err := d.ctrl.CreateVolume(d.ctx, &csi.CreateVolumeRequest{
			Name: name, CapacityRange: &csi.CapacityRange{RequiredBytes: gib},
			VolumeCapabilities: mount, Parameters: params, VolumeContentSource: src,
		})
		if d.check(err) {
			return ""
		}
		fmt.Printf("   volume_id %s, %d bytes\n", res.Volume.VolumeId, res.Volume.CapacityBytes)
		return res.Volume.VolumeId
	}

	d.narrate("CreateVolume: a 1 GiB thin volume (volThin=true, volThinResize=2%%) in %s", pool)
	vol := create("pvc-demo-data", nil)
	d.observe(true)
	if vol == "" {
		return
	}

	d.narrate("CreateSnapshot: a point-in-time LocalCopy (copyrate 0) of that volume")
	snap, err := d.ctrl.CreateSnapshot(d.ctx, &csi.CreateSnapshotRequest{SourceVolumeId: vol, Name: "snapshot-demo-1"})
	snapID := ""
	if !d.check(err) {
		snapID = snap.Snapshot.SnapshotId
		fmt.Printf("   snapshot_id %s, ready %v\n", snapID, snap.Snapshot.ReadyToUse)
	}
	d.observe(true)

	d.narrate("CreateVolume from the volume: a clone (LocalCopy copyrate 100; the driver keeps the map until the copy is done)")
	clone := create("pvc-demo-clone", &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: vol}}})
	d.observe(true)

	restore := ""
	if snapID != "" {
		d.narrate("CreateVolume from the snapshot: restore it into a new volume")
		restore = create("pvc-demo-restore", &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: snapID}}})
		d.observe(true)
	}

	if clone != "" {
		d.narrate("ControllerExpandVolume: grow the clone to 2 GiB (expandvdisksize; the copy must finish first)")
		var res *csi.ControllerExpandVolumeResponse
		err := d.retry(func() error {
			var err error
			res, err = d.ctrl.ControllerExpandVolume(d.ctx, &csi.ControllerExpandVolumeRequest{VolumeId: clone, CapacityRange: &csi.CapacityRange{RequiredBytes: 2 * gib}})
			return err
		})
		if !d.check(err) {
			fmt.Printf("   capacity %d bytes, node expansion required %v\n", res.CapacityBytes, res.NodeExpansionRequired)
		}
		d.observe(true)
	}

	d.narrate("ControllerPublishVolume: map the volume to node %q (host object from its IQN, LUN allocated)", nodeID)
	pub, err := d.ctrl.ControllerPublishVolume(d.ctx, &csi.ControllerPublishVolumeRequest{VolumeId: vol, NodeId: nodeID, VolumeCapability: mount[0]})
	if !d.check(err) {
		keys := make([]string, 0, len(pub.PublishContext))
		for k := range pub.PublishContext {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Printf("   publish_context %s = %s\n", k, pub.PublishContext[k])
		}
	}
	d.observe(true, "mcsinq lsvdiskhostmap -delim ! pvc-demo-data")

	d.narrate("ListVolumes: every volume with the nodes it is published to")
	list, err := d.ctrl.ListVolumes(d.ctx, &csi.ListVolumesRequest{})
	if !d.check(err) {
		for _, e := range list.Entries {
			fmt.Printf("   %s  %d bytes  published to %v\n", e.Volume.VolumeId, e.Volume.CapacityBytes, e.GetStatus().GetPublishedNodeIds())
		}
	}

	if len(d.checkpoint) > 0 {
		d.narrate("checkpoint: %s", strings.Join(d.checkpoint, " "))
		cctx, cancel := context.WithTimeout(d.ctx, 3*time.Minute)
		cmd := exec.CommandContext(cctx, d.checkpoint[0], d.checkpoint[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		d.check(cmd.Run())
		cancel()
	}

	d.narrate("ControllerUnpublishVolume, then delete everything (snapshot last: its clones and restores go first)")
	_, err = d.ctrl.ControllerUnpublishVolume(d.ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: vol, NodeId: nodeID})
	d.check(err)
	for _, id := range []string{clone, restore} {
		if id != "" {
			d.check(d.retry(func() error {
				_, err := d.ctrl.DeleteVolume(d.ctx, &csi.DeleteVolumeRequest{VolumeId: id})
				return err
			}))
		}
	}
	if snapID != "" {
		d.check(d.retry(func() error {
			_, err := d.ctrl.DeleteSnapshot(d.ctx, &csi.DeleteSnapshotRequest{SnapshotId: snapID})
			return err
		}))
	}
	d.check(d.retry(func() error {
		_, err := d.ctrl.DeleteVolume(d.ctx, &csi.DeleteVolumeRequest{VolumeId: vol})
		return err
	}))
	d.observe(true)
	if d.failed {
		fmt.Println("\nwalkthrough FAILED (see the errors above)")
		return
	}
	fmt.Println("\nwalkthrough complete: every step succeeded and the array is back to where it started")
}

// retry repeats op while the driver answers with a retryable condition (a
// copy still running), as the external sidecars would.
func (d *demo) retry(op func() error) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		err := op()
		if err == nil || time.Now().After(deadline) || !retryable(err) {
			return err
		}
		fmt.Printf("   (driver says %v; retrying in 2s, as the sidecar would)\n", err)
		select {
		case <-d.ctx.Done():
			return d.ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func retryable(err error) bool {
	s := err.Error()
	return strings.Contains(s, "FailedPrecondition") || strings.Contains(s, "Unavailable") || strings.Contains(s, "Aborted")
}

func (d *demo) narrate(format string, args ...any) {
	d.step++
	fmt.Printf("\n== step %d: %s\n", d.step, fmt.Sprintf(format, args...))
}

func (d *demo) check(err error) bool {
	if err != nil {
		fmt.Printf("   ERROR: %v\n", err)
		d.failed = true
		return true
	}
	return false
}

// observe prints what changed on the array since the last call (see arrayview).
func (d *demo) observe(show bool, extra ...string) {
	d.view.Observe(d.ctx, show, extra...)
	if d.view.Failed {
		d.failed = true
	}
}
