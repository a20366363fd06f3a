package controller_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/instorage-csi/instorage-csi/sanity/harness"
)

// Racing CreateVolume calls for one name: each returns the volume or
// Aborted (one is in flight), never a second vdisk or another error.
func TestCreateVolume_ConcurrentSameName_OneVDisk(t *testing.T) {
	e := newEnv(t, harness.Options{SSH: true})
	var wg sync.WaitGroup
	ids := make(chan string, 8)
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.s.CreateVolume(ctx, createReq("pvc-race", 1<<30, nil))
			if err != nil {
				errs <- err
				return
			}
			ids <- r.Volume.VolumeId
		}()
	}
	wg.Wait()
	close(ids)
	close(errs)
	for err := range errs {
		if status.Code(err) != codes.Aborted {
			t.Errorf("racing create: %v", err)
		}
	}
	var first string
	for id := range ids {
		if first == "" {
			first = id
		} else if id != first {
			t.Errorf("two volume ids for one name: %s, %s", first, id)
		}
	}
	if first == "" {
		t.Fatal("no create succeeded")
	}
	if n := len(e.vdisks()); n != 1 {
		t.Fatalf("%d vdisks", n)
	}
}

// Many volumes published to and unpublished from one node at once: one host
// object, every map made, and the host gone after the last unpublish.
func TestPublish_ConcurrentSameNode_OneHostThenNone(t *testing.T) {
	e := newEnv(t, harness.Options{SSH: true})
	const n = 12
	vols := make([]*csi.Volume, n)
	for i := range vols {
		vols[i] = e.mustCreate(fmt.Sprintf("pvc-c%d", i), 1<<30, nil)
	}
	run := func(op func(v *csi.Volume) error) {
		var wg sync.WaitGroup
		for _, v := range vols {
			wg.Add(1)
			go func(v *csi.Volume) {
				defer wg.Done()
				for {
					err := op(v)
					if status.Code(err) == codes.DeadlineExceeded || status.Code(err) == codes.Aborted {
						continue
					}
					if err != nil {
						t.Errorf("%s: %v", v.VolumeId, err)
					}
					return
				}
			}(v)
		}
		wg.Wait()
	}
	run(func(v *csi.Volume) error {
		_, err := e.s.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: v.VolumeId, NodeId: node1, VolumeCapability: rwo()[0]})
		return err
	})
	h := e.hosts()
	if len(h) != 1 {
		t.Fatalf("hosts after publish: %+v", h)
	}
	maps, err := e.emu.Client.LsHostVDiskMap(ctx, h[0].Name)
	if err != nil || len(maps) != n {
		t.Fatalf("%d maps (%v), want %d", len(maps), err, n)
	}
	luns := map[int]bool{}
	for _, m := range maps {
		luns[m.SCSIID] = true
	}
	if len(luns) != n {
		t.Fatalf("LUNs not distinct: %v", luns)
	}
	run(func(v *csi.Volume) error {
		_, err := e.s.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: v.VolumeId, NodeId: node1})
		return err
	})
	if h := e.hosts(); len(h) != 0 {
		t.Fatalf("host left: %+v", h)
	}
}
