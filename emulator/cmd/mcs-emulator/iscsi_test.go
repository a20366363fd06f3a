package main

import (
	"testing"

	"github.com/instorage-csi/instorage-csi/emulator/config"
	"github.com/instorage-csi/instorage-csi/emulator/model"
)

func TestPortIPAliasesFromAdvertise(t *testing.T) {
	// node1 and node2 listen on 127.0.0.1 and 127.0.0.2.
	arr, err := model.OpenWithOptions(t.TempDir(), model.DefaultTopology(), model.Options{TickInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer arr.Close()
	c := &config.Config{}
	c.ISCSI.Port = 13270
	c.ISCSI.Advertise = map[string]string{
		"127.0.0.1:13270": "10.0.2.100:3260", // keyed by the listened ip:port
		"127.0.0.2":       "10.0.2.101",      // or by ip alone
		"127.0.0.9:13270": "10.0.2.199:3260", // no such portal
	}
	got := portIPAliases(c, arr)
	want := map[string]string{"127.0.0.1": "10.0.2.100", "127.0.0.2": "10.0.2.101"}
	if len(got) != len(want) || got["127.0.0.1"] != want["127.0.0.1"] || got["127.0.0.2"] != want["127.0.0.2"] {
		t.Fatalf("aliases = %v, want %v", got, want)
	}
	c.ISCSI.Port = 3260 // the ip:port key no longer matches the listener
	if got := portIPAliases(c, arr); got["127.0.0.1"] != "" {
		t.Fatalf("alias for a portal on another port: %v", got)
	}
}
