package controller

import (
	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	miB = int64(1) << 20
	giB = int64(1) << 30
	// defaultVolumeSize is used when the request names no size.
	defaultVolumeSize = giB
)

func roundUp(n, unit int64) int64 { return (n + unit - 1) / unit * unit }

// volumeSize picks the vdisk size for a capacity range: whole GiB like the
// vendor plugin (§6.1 ceil), or whole MiB when the limit forbids rounding to
// GiB. wholeGiB forces GiB (active-active mkvolume takes -unit gb only).
func volumeSize(r *csi.CapacityRange, wholeGiB bool) (int64, error) {
	req, lim := r.GetRequiredBytes(), r.GetLimitBytes()
	if req < 0 || lim < 0 {
		return 0, status.Error(codes.OutOfRange, "capacity range must not be negative")
	}
	if lim > 0 && req > lim {
		return 0, status.Errorf(codes.OutOfRange, "required bytes %d exceed limit bytes %d", req, lim)
	}
	if req == 0 {
		req = defaultVolumeSize
		if lim > 0 && lim < req {
			req = lim
		}
	}
	size := roundUp(req, giB)
	if lim > 0 && size > lim && !wholeGiB {
		size = roundUp(req, miB)
	}
	if lim > 0 && size > lim {
		return 0, status.Errorf(codes.OutOfRange, "no size the array can allocate fits in [%d, %d] bytes", req, lim)
	}
	return size, nil
}

// sizeFits reports whether an existing capacity satisfies the range.
func sizeFits(capacity int64, r *csi.CapacityRange) bool {
	if capacity < r.GetRequiredBytes() {
		return false
	}
	return r.GetLimitBytes() == 0 || capacity <= r.GetLimitBytes()
}
