package controller

import (
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
	"github.com/instorage-csi/instorage-csi/driver/pkg/volumeid"
)

func topo(storages ...string) *csi.Topology {
	t := &csi.Topology{Segments: map[string]string{"kubernetes.io/hostname": "n"}}
	for _, s := range storages {
		t.Segments[volumeid.TopologyKey(s)] = "true"
	}
	return t
}

func TestPickStorage(t *testing.T) {
	s, err := New([]config.Storage{{Name: "a1"}, {Name: "a2"}, {Name: "a3"}},
		map[string]array.Client{"a1": nilClient{}, "a2": nilClient{}, "a3": nilClient{}}, Options{Topology: true})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		devName string
		req     *csi.TopologyRequirement
		want    string
		code    codes.Code
	}{
		{"no requirements keep devName", "a2", nil, "a2", codes.OK},
		{"no requirements, no devName: default later", "", nil, "", codes.OK},
		{"preferred wins in preferred order", "", &csi.TopologyRequirement{
			Requisite: []*csi.Topology{topo("a1", "a3"), topo("a3")}, Preferred: []*csi.Topology{topo("a3"), topo("a1")}}, "a3", codes.OK},
		{"requisite only: config order", "", &csi.TopologyRequirement{Requisite: []*csi.Topology{topo("a3", "a2")}}, "a2", codes.OK},
		{"devName reachable", "a1", &csi.TopologyRequirement{Requisite: []*csi.Topology{topo("a1")}}, "a1", codes.OK},
		{"devName unreachable", "a2", &csi.TopologyRequirement{Requisite: []*csi.Topology{topo("a1")}}, "", codes.ResourceExhausted},
		{"nothing reachable", "", &csi.TopologyRequirement{Requisite: []*csi.Topology{topo("other")}}, "", codes.ResourceExhausted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.pickStorage(c.devName, c.req)
			if status.Code(err) != c.code || got != c.want {
				t.Fatalf("got %q, %v; want %q, %v", got, err, c.want, c.code)
			}
		})
	}
	off, _ := New([]config.Storage{{Name: "a1"}}, map[string]array.Client{"a1": nilClient{}}, Options{})
	if got, err := off.pickStorage("", &csi.TopologyRequirement{Requisite: []*csi.Topology{topo("zzz")}}); err != nil || got != "" {
		t.Fatalf("topology off must ignore requirements: %q %v", got, err)
	}
	if off.accessibleTopology("a1") != nil {
		t.Fatal("topology off reports accessible topology")
	}
}
