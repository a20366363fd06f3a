package controller_test

import (
	"fmt"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/instorage-csi/instorage-csi/emulator/fault"
	"github.com/instorage-csi/instorage-csi/sanity/harness"
)

// unstable is a transient array refusal: nothing was done, try again.
const unstable = "CMMVC5786E The action failed because the cluster is not in a stable state."

// retry calls op like a CO does until it succeeds (bounded), returning how
// many attempts failed.
func retry(t *testing.T, what string, op func() error) int {
	t.Helper()
	for i := 0; i < 20; i++ {
		err := op()
		if err == nil {
			return i
		}
		t.Logf("%s attempt %d: %v", what, i+1, err)
	}
	t.Fatalf("%s never succeeded", what)
	return 0
}

// lifecycle runs create → snapshot → clone → publish → unpublish → delete
// for one name, retrying every RPC.
func lifecycle(t *testing.T, e *env, name string) (failures int) {
	var vol, clone *csi.Volume
	var snap *csi.Snapshot
	failures += retry(t, "CreateVolume", func() error {
		r, err := e.s.CreateVolume(ctx, createReq(name, 1<<30, map[string]string{"volPoolName": "Pool0", "volThin": "true"}))
		vol = r.GetVolume()
		return err
	})
	failures += retry(t, "CreateSnapshot", func() error {
		r, err := e.s.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snap-" + name, SourceVolumeId: vol.VolumeId})
		snap = r.GetSnapshot()
		return err
	})
	failures += retry(t, "CreateVolume from snapshot", func() error {
		req := createReq("clone-"+name, 1<<30, nil)
		req.VolumeContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
			Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: snap.SnapshotId}}}
		r, err := e.s.CreateVolume(ctx, req)
		clone = r.GetVolume()
		return err
	})
	for _, v := range []*csi.Volume{vol, clone} {
		failures += retry(t, "ControllerPublishVolume", func() error {
			_, err := e.s.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: v.VolumeId, NodeId: node1, VolumeCapability: rwo()[0]})
			return err
		})
	}
	for _, v := range []*csi.Volume{vol, clone} {
		failures += retry(t, "ControllerUnpublishVolume", func() error {
			_, err := e.s.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: v.VolumeId, NodeId: node1})
			return err
		})
	}
	failures += retry(t, "DeleteVolume clone", func() error {
		_, err := e.s.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: clone.VolumeId})
		return err
	})
	failures += retry(t, "DeleteSnapshot", func() error {
		_, err := e.s.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: snap.SnapshotId})
		return err
	})
	failures += retry(t, "DeleteVolume", func() error {
		_, err := e.s.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: vol.VolumeId})
		return err
	})
	return failures
}

func (e *env) assertClean(t *testing.T) {
	t.Helper()
	if v, m, h := e.vdisks(), e.lcmaps(), e.hosts(); len(v)+len(m)+len(h) != 0 {
		t.Fatalf("leaked on the array: vdisks %+v, lcmaps %+v, hosts %+v", v, m, h)
	}
}

// Each array command the lifecycle sends fails once in each way: refused
// with a CMMVC error, the SSH connection dropped before the command ran,
// and dropped after it took effect (the driver cannot tell it did). Retried
// RPCs must converge and leave nothing behind.
func TestFaults_EveryCommandEveryWay_NoLeaks(t *testing.T) {
	commands := []string{"mkvdisk", "mklcmap", "startlcmap", "mkhost", "mkvdiskhostmap", "rmvdiskhostmap",
		"rmhost", "stoplcmap", "rmvdisk", "lsvdisk", "lslcmap", "lsvdiskhostmap", "lshost"}
	kinds := []struct {
		name string
		rule fault.Rule
	}{
		{"error", fault.Rule{Error: unstable}},
		{"drop-before", fault.Rule{Drop: true, When: fault.Before}},
		{"drop-after", fault.Rule{Drop: true, When: fault.After}},
	}
	e := newEnv(t, harness.Options{SSH: true})
	for _, cmd := range commands {
		for _, k := range kinds {
			t.Run(cmd+"/"+k.name, func(t *testing.T) {
				r := k.rule
				r.Command, r.Times = cmd, 1
				id, err := e.emu.Faults.Add(r)
				if err != nil {
					t.Fatal(err)
				}
				defer e.emu.Faults.Remove(id)
				lifecycle(t, e, fmt.Sprintf("pvc-%s-%s", cmd, k.name))
				e.assertClean(t)
			})
		}
	}
}

// Random drops and errors on a fifth of all commands over many lifecycles.
func TestFaults_RandomChaos_NoLeaks(t *testing.T) {
	e := newEnv(t, harness.Options{SSH: true})
	for _, r := range []fault.Rule{
		{Pattern: "^mcsop ", Drop: true, When: fault.After, Probability: 0.1},
		{Pattern: "^mcsop ", Drop: true, When: fault.Before, Probability: 0.05},
		{Pattern: "^mcsinq ", Error: unstable, Probability: 0.05},
		{Pattern: "^mcsop ", Error: unstable, Probability: 0.05},
	} {
		if _, err := e.emu.Faults.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	failures := 0
	for i := 0; i < 8; i++ {
		failures += lifecycle(t, e, fmt.Sprintf("pvc-chaos-%d", i))
	}
	e.emu.Faults.Clear()
	e.assertClean(t)
	t.Logf("%d failed attempts retried to success", failures)
	if failures == 0 {
		t.Fatal("no fault fired; the test proved nothing")
	}
}
