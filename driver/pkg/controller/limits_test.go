package controller

import (
	"context"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
)

func TestInflight_SecondOperationIsAborted(t *testing.T) {
	f := newInflight()
	end, err := f.begin("volume v1", "CreateVolume")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.begin("volume v1", "DeleteVolume"); status.Code(err) != codes.Aborted {
		t.Fatalf("second op on the same volume: %v, want Aborted", err)
	}
	if _, err := f.begin("volume v2", "DeleteVolume"); err != nil {
		t.Fatalf("another volume blocked: %v", err)
	}
	end()
	if _, err := f.begin("volume v1", "DeleteVolume"); err != nil {
		t.Fatalf("after end: %v", err)
	}
}

func TestLimiter_BoundsConcurrencyPerOperation(t *testing.T) {
	l := newLimiter(config.Task{MaxCreateVolumeNumber: 2})
	ctx := context.Background()
	r1, _ := l.acquire(ctx, opCreateVolume)
	r2, _ := l.acquire(ctx, opCreateVolume)
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := l.acquire(short, opCreateVolume); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("third create: %v, want DeadlineExceeded while two run", err)
	}
	// Other operation kinds have their own slots (default 4).
	soon, cancel2 := context.WithTimeout(ctx, time.Second)
	defer cancel2()
	for i := 0; i < defaultTaskLimit; i++ {
		if _, err := l.acquire(soon, opDeleteVolume); err != nil {
			t.Fatalf("delete %d blocked by creates: %v", i, err)
		}
	}
	r1()
	if _, err := l.acquire(soon, opCreateVolume); err != nil {
		t.Fatalf("slot not released: %v", err)
	}
	r2()
}

// A CreateVolume for a name already being created answers Aborted before it
// touches the array (the stub client would panic if it did).
func TestCreateVolume_InFlight_Aborted(t *testing.T) {
	s, err := New([]config.Storage{{Name: "a1"}}, map[string]array.Client{"a1": nilClient{}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	end, _ := s.inflight.begin("vdisk a1/pvc-1", "CreateVolume")
	defer end()
	_, err = s.CreateVolume(context.Background(), &csi.CreateVolumeRequest{
		Name:               "pvc-1",
		Parameters:         map[string]string{"volPoolName": "Pool0"},
		VolumeCapabilities: []*csi.VolumeCapability{mountRWO()},
	})
	if status.Code(err) != codes.Aborted {
		t.Fatalf("got %v, want Aborted", err)
	}
}

func mountRWO() *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: "ext4"}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
	}
}

// nilClient fails the test by panicking on any array call.
type nilClient struct{ array.Client }
