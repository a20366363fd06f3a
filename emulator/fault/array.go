package fault

// Array is the part of the emulated array that node and pool faults change;
// *model.Array implements it.
type Array interface {
	SetNodeStatus(nodeName string, online bool) error
	SetPoolFree(poolName string, freeBytes int64) error
}

// State is the startup set of node and pool faults from the config file.
type State struct {
	OfflineNodes []string         `json:"offlineNodes,omitempty"`
	PoolFree     map[string]int64 `json:"poolFreeBytes,omitempty"` // pool name → free bytes
}

// Apply sets the state on a.
func (s State) Apply(a Array) error {
	for _, n := range s.OfflineNodes {
		if err := a.SetNodeStatus(n, false); err != nil {
			return err
		}
	}
	for p, free := range s.PoolFree {
		if err := a.SetPoolFree(p, free); err != nil {
			return err
		}
	}
	return nil
}
