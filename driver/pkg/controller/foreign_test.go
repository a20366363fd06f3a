package controller_test

import (
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/sanity/harness"
)

// A PV of the vendor plugin carries an id this driver never issued but that
// names a real vdisk: deleting or unpublishing it must not report success
// (Kubernetes would drop the PV and orphan the vdisk).
func TestDeleteVolume_ForeignIDNamingAVDisk_FailedPreconditionAndKept(t *testing.T) {
	e := newEnv(t, harness.Options{})
	if _, err := e.emu.Client.MkVDisk(ctx, array.MkVDiskArgs{Name: "pvc-vendor-1", SizeBytes: 1 << 30, Pool: "Pool0"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: "pvc-vendor-1"})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("DeleteVolume(foreign id) = %v, want FailedPrecondition", err)
	}
	_, err = e.s.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: "pvc-vendor-1", NodeId: node1})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("ControllerUnpublishVolume(foreign id) = %v, want FailedPrecondition", err)
	}
	if vs := e.vdisks(); len(vs) != 1 || vs[0].Name != "pvc-vendor-1" {
		t.Fatalf("vdisks after refused delete: %+v", vs)
	}
	// An id that names nothing, and one the array could never hold, are gone already.
	for _, id := range []string{"not-a-volume-id", "bad id; rm -rf"} {
		if _, err := e.s.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id}); err != nil {
			t.Fatalf("DeleteVolume(%q) = %v, want OK", id, err)
		}
	}
}
