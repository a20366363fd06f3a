package controller

import (
	"context"

	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
)

// lcmapIdle is the lslcmap status of a map that is not copying (§5.1).
const lcmapIdle = "idle_or_copied"

// finishedCopy is a clone map whose background copy is complete. Clones keep
// their map (no -autodelete) so a retried CreateVolume can tell "copy done"
// from "copy never started"; the map is removed when it is in the way.
func finishedCopy(m array.LCMap) bool {
	return m.CopyRate > 0 && !m.RCControlled && m.Status == lcmapIdle && m.Progress >= 100 && !m.StartTime.IsZero()
}

// dropFinishedCopies removes finished clone maps and returns the others.
func dropFinishedCopies(ctx context.Context, a *Array, maps []array.LCMap) ([]array.LCMap, error) {
	var rest []array.LCMap
	for _, m := range maps {
		if !finishedCopy(m) {
			rest = append(rest, m)
			continue
		}
		if err := a.Client.RmLCMap(ctx, m.ID, true); err != nil && !array.IsNotFound(err) {
			return nil, toStatus(err, "removing finished copy lcmap "+m.ID)
		}
		klog.V(2).InfoS("Removed finished copy map", "storage", a.Config.Name, "lcmap", m.ID, "source", m.SourceName, "target", m.TargetName)
	}
	return rest, nil
}
