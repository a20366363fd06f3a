package volumeid

// topologyPrefix names topology keys, one per array: a node reports
// TopologyKey(s)="true" for every storage[] it can reach, and a volume is
// accessible from the nodes reporting its array's key.
const topologyPrefix = "topology.instorage-csi.io/"

// TopologyKey is the topology segment key of storage[].name s.
func TopologyKey(storage string) string { return topologyPrefix + storage }
