package controller

import (
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestVolumeSize(t *testing.T) {
	cases := []struct {
		name     string
		req, lim int64
		wholeGiB bool
		want     int64
		code     codes.Code
	}{
		{"default 1 GiB", 0, 0, false, giB, codes.OK},
		{"ceil to GiB like the vendor", giB + 1, 0, false, 2 * giB, codes.OK},
		{"exact GiB", 10 * giB, 0, false, 10 * giB, codes.OK},
		{"limit forces MiB", 100*miB + 1, 200 * miB, false, 101 * miB, codes.OK},
		{"aa needs GiB and cannot fit", 100 * miB, 200 * miB, true, 0, codes.OutOfRange},
		{"required over limit", 2 * giB, giB, false, 0, codes.OutOfRange},
		{"negative", -1, 0, false, 0, codes.OutOfRange},
		{"small limit only", 0, 10 * miB, false, 10 * miB, codes.OK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := volumeSize(&csi.CapacityRange{RequiredBytes: c.req, LimitBytes: c.lim}, c.wholeGiB)
			if status.Code(err) != c.code || got != c.want {
				t.Fatalf("volumeSize(%d, %d) = %d, %v; want %d, %v", c.req, c.lim, got, err, c.want, c.code)
			}
		})
	}
}

func TestCheckCapability_AccessModes(t *testing.T) {
	mode := func(m csi.VolumeCapability_AccessMode_Mode, block bool) *csi.VolumeCapability {
		c := &csi.VolumeCapability{AccessMode: &csi.VolumeCapability_AccessMode{Mode: m}}
		if block {
			c.AccessType = &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}}
		} else {
			c.AccessType = &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}}
		}
		return c
	}
	ok := []*csi.VolumeCapability{
		mode(csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER, false),
		mode(csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY, false),
		mode(csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER, true),
		mode(csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER, true),
	}
	bad := []*csi.VolumeCapability{
		mode(csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER, false), // RWX filesystem would corrupt
		mode(csi.VolumeCapability_AccessMode_MULTI_NODE_SINGLE_WRITER, false),
		{AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER}},
		{AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: "ntfs"}},
			AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER}},
		nil,
	}
	for i, c := range ok {
		if err := checkCapability(c); err != nil {
			t.Errorf("ok[%d] rejected: %v", i, err)
		}
	}
	for i, c := range bad {
		if err := checkCapability(c); err == nil {
			t.Errorf("bad[%d] accepted", i)
		}
	}
}
