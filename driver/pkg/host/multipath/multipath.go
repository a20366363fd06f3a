// Package multipath finds and manages dm-multipath maps by WWID through
// sysfs (dm/uuid = "mpath-3<wwid>", slaves/, holders/) and the multipath /
// multipathd clients, which may run in the host namespaces via hostexec.
package multipath

import (
	"context"
	"strings"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host/hostexec"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/scsi"
	utilsexec "k8s.io/utils/exec"
)

// Client is the node's dm-multipath.
type Client struct {
	Exec utilsexec.Interface
	Sys  *scsi.Sysfs
}

// DaemonRunning asks multipathd for its status; an unreachable daemon fails.
func (c *Client) DaemonRunning(ctx context.Context) error {
	_, err := hostexec.Run(ctx, c.Exec, "multipathd", "show", "status")
	return err
}

// uuidOf returns dm/uuid of dm-N, or "".
func (c *Client) uuidOf(dm string) string {
	u, err := c.Sys.Read(c.Sys.Sys("block", dm, "dm", "uuid"))
	if err != nil {
		return ""
	}
	return u
}

// WWIDOf returns the normalised WWID a multipath dm-N was built for (from
// dm/uuid "mpath-3<wwid>"), or "" for a map that is not multipath.
func (c *Client) WWIDOf(dm string) string {
	u := strings.ToLower(c.uuidOf(dm))
	if !strings.HasPrefix(u, "mpath-") {
		return ""
	}
	return scsi.NormalizeWWID(strings.TrimPrefix(u, "mpath-"))
}

// MapByWWID returns the dm-N whose multipath uuid carries wwid, or "".
func (c *Client) MapByWWID(wwid string) (string, error) {
	names, err := scsi.ListDir(c.Sys.Sys("block"))
	if err != nil {
		return "", err
	}
	want := "mpath-3" + scsi.NormalizeWWID(wwid)
	for _, n := range names {
		if strings.HasPrefix(n, "dm-") && strings.ToLower(c.uuidOf(n)) == want {
			return n, nil
		}
	}
	return "", nil
}

// MapHolding returns the multipath dm-N stacked on disk sdX, or "".
func (c *Client) MapHolding(disk string) (string, error) {
	hs, err := c.Sys.Holders(disk)
	if err != nil {
		return "", err
	}
	for _, h := range hs {
		if strings.HasPrefix(h, "dm-") && strings.HasPrefix(c.uuidOf(h), "mpath-") {
			return h, nil
		}
	}
	return "", nil
}

// Slaves lists the path devices of dm-N.
func (c *Client) Slaves(dm string) ([]string, error) {
	return scsi.ListDir(c.Sys.Sys("block", dm, "slaves"))
}

// Name returns the map name of dm-N (what multipath -f and multipathd take).
func (c *Client) Name(dm string) (string, error) {
	return c.Sys.Read(c.Sys.Sys("block", dm, "dm", "name"))
}

// Nudge asks multipath-tools to build a map for wwid over disks, for hosts
// with find_multipaths strict/greedy where a new WWID is otherwise ignored.
// Failures are returned for logging only; the caller keeps polling sysfs.
func (c *Client) Nudge(ctx context.Context, wwid string, disks []string) error {
	var first error
	if _, err := hostexec.Run(ctx, c.Exec, "multipath", "-a", "3"+scsi.NormalizeWWID(wwid)); err != nil {
		first = err
	}
	for _, d := range disks {
		if _, err := hostexec.Run(ctx, c.Exec, "multipathd", "add", "path", "/dev/"+d); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Flush removes the map (multipath -f); it fails while the map is open.
func (c *Client) Flush(ctx context.Context, dm string) error {
	name, err := c.Name(dm)
	if err != nil {
		if !c.Sys.Exists(dm) {
			return nil
		}
		return err
	}
	_, err = hostexec.Run(ctx, c.Exec, "multipath", "-f", name)
	if err != nil && !c.Sys.Exists(dm) {
		return nil // gone meanwhile (e.g. multipathd removed it)
	}
	return err
}

// DisableQueueing makes I/O on dm-N fail when it has no usable path instead
// of queueing (queue_if_no_path / no_path_retry).
func (c *Client) DisableQueueing(ctx context.Context, dm string) error {
	name, err := c.Name(dm)
	if err != nil {
		return err
	}
	_, err = hostexec.Run(ctx, c.Exec, "multipathd", "disablequeueing", "map", name)
	return err
}

// Resize makes multipathd pick up the paths' new size.
func (c *Client) Resize(ctx context.Context, dm string) error {
	name, err := c.Name(dm)
	if err != nil {
		return err
	}
	_, err = hostexec.Run(ctx, c.Exec, "multipathd", "resize", "map", name)
	return err
}
