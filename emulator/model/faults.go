package model

import (
	"fmt"

	"k8s.io/klog/v2"
)

// Fault hooks for the SSH/fault layer. Faults are runtime-only: a restart
// clears them (they model hardware, not configuration).

// SetNodeStatus takes a node offline or brings it back. An offline node
// shows status offline in lsnode, its port IPs go offline, and LUNsFor
// returns nothing through it.
func (a *Array) SetNodeStatus(nodeName string, online bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, n := range a.topo.Nodes {
		if n.Name == nodeName {
			if a.nodeOffline[nodeName] == !online {
				return nil
			}
			if online {
				delete(a.nodeOffline, nodeName)
			} else {
				a.nodeOffline[nodeName] = true
			}
			klog.InfoS("Fault: node status", "node", nodeName, "online", online)
			a.publish(Event{Kind: EventNodeStatus, Node: nodeName, Online: online})
			return nil
		}
	}
	return fmt.Errorf("no node %q", nodeName)
}

// SetPoolFree forces the pool's free capacity to freeBytes (as if other
// consumers filled it); a negative value clears the fault.
func (a *Array) SetPoolFree(poolName string, freeBytes int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.poolRef(poolName)
	if p == nil {
		return fmt.Errorf("no pool %q", poolName)
	}
	if freeBytes < 0 {
		delete(a.poolFree, p.ID)
	} else {
		a.poolFree[p.ID] = freeBytes
	}
	klog.InfoS("Fault: pool free capacity", "pool", poolName, "freeBytes", freeBytes)
	return nil
}

// poolFreeBytes is capacity minus real allocations, or the forced value
// (less what was allocated since the fault, never below zero).
func (a *Array) poolFreeBytes(p *TopoPool) int64 {
	free := p.CapacityBytes - a.ix.poolReal[p.ID]
	if f, ok := a.poolFree[p.ID]; ok && f < free {
		free = f
	}
	if free < 0 {
		free = 0
	}
	return free
}

// allocate takes n bytes of real capacity from the pool's fault budget.
func (a *Array) chargeFault(poolID int, n int64) {
	if f, ok := a.poolFree[poolID]; ok {
		f -= n
		if f < 0 {
			f = 0
		}
		a.poolFree[poolID] = f
	}
}
