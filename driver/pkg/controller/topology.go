package controller

import (
	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/instorage-csi/instorage-csi/driver/pkg/volumeid"
)

// reaches reports whether topology t includes storage name.
func reaches(t *csi.Topology, name string) bool {
	return t.GetSegments()[volumeid.TopologyKey(name)] == "true"
}

// pickStorage chooses the array for a new volume under accessibility
// requirements: devName when given (it must be reachable from a requisite
// topology), else the first configured array named in a preferred, then a
// requisite topology. Without requirements the choice is unchanged.
func (s *Server) pickStorage(devName string, req *csi.TopologyRequirement) (string, error) {
	if !s.opts.Topology || req == nil || (len(req.GetRequisite()) == 0 && len(req.GetPreferred()) == 0) {
		return devName, nil
	}
	fits := func(name string, ts []*csi.Topology) bool {
		for _, t := range ts {
			if reaches(t, name) {
				return true
			}
		}
		return false
	}
	if devName != "" {
		if len(req.GetRequisite()) > 0 && !fits(devName, req.GetRequisite()) {
			return "", status.Errorf(codes.ResourceExhausted, "storage %s (devName) is not reachable from any requisite topology", devName)
		}
		return devName, nil
	}
	for _, t := range req.GetPreferred() {
		for _, name := range s.configOrder {
			if reaches(t, name) && (len(req.GetRequisite()) == 0 || fits(name, req.GetRequisite())) {
				return name, nil
			}
		}
	}
	for _, t := range req.GetRequisite() {
		for _, name := range s.configOrder {
			if reaches(t, name) {
				return name, nil
			}
		}
	}
	return "", status.Error(codes.ResourceExhausted, "no configured storage is reachable from the requested topologies")
}

// accessibleTopology is where a volume on storage name can be used.
func (s *Server) accessibleTopology(name string) []*csi.Topology {
	if !s.opts.Topology {
		return nil
	}
	return []*csi.Topology{{Segments: map[string]string{volumeid.TopologyKey(name): "true"}}}
}
