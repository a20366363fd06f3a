package main

import (
	"context"
	"testing"
	"time"

	"github.com/instorage-csi/instorage-csi/emulator/cli"
	"github.com/instorage-csi/instorage-csi/emulator/model"
)

func TestModelBackendServesMaskingView(t *testing.T) {
	a, err := model.Open(t.TempDir(), model.DefaultTopology())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b := modelBackend{a}
	pulses, cancel := b.Subscribe()
	defer cancel()

	c := cli.New(a)
	const iqn = "iqn.1994-05.com.redhat:n1"
	for _, line := range []string{
		"mcsop mkvdisk -name vol-1 -size 1 -unit gb -mdiskgrp Pool0",
		"mcsop mkhost -force -iscsiname " + iqn + " -name iscsi-n1",
		"mcsop mkvdiskhostmap -force -host iscsi-n1 vol-1",
		"mcsop chhost -chapsecret abcdefgh23456789 iscsi-n1",
	} {
		if _, errOut, code := c.Run(context.Background(), "admin", line); code != 0 {
			t.Fatalf("%s: %s", line, errOut)
		}
	}
	select {
	case <-pulses:
	case <-time.After(5 * time.Second):
		t.Fatal("no change pulse after mapping")
	}

	nodes := b.Nodes()
	if len(nodes) != 2 || nodes[0].Portals[0] != "127.0.0.1" || nodes[1].Portals[0] != "127.0.0.2" ||
		nodes[0].IQN != "iqn.2004-12.com.inspur:mcs.mcs-emu.node1" {
		t.Fatalf("nodes %+v", nodes)
	}
	for _, n := range nodes {
		luns := b.LUNs(iqn, n.ID)
		if len(luns) != 1 || luns[0].LUN != 0 || luns[0].Name != "vol-1" || len(luns[0].UID) != 32 ||
			luns[0].CapacityBytes != 1<<30 || luns[0].Path == "" {
			t.Fatalf("LUNs via node %d: %+v", n.ID, luns)
		}
		// ALUA: preferred and partner are the two nodes of io_grp0.
		if l := luns[0]; l.PreferredNode == l.PartnerNode || l.PreferredNode < 1 || l.PartnerNode < 1 {
			t.Fatalf("preferred/partner %d/%d", l.PreferredNode, l.PartnerNode)
		}
	}
	if got := b.LUNs("iqn.1994-05.com.redhat:other", 1); len(got) != 0 {
		t.Fatalf("unmapped initiator sees %+v", got)
	}
	if s := b.CHAPSecret(iqn); s != "abcdefgh23456789" {
		t.Fatalf("CHAP secret %q", s)
	}

	if err := a.SetNodeStatus("node2", false); err != nil {
		t.Fatal(err)
	}
	if n := b.Nodes(); len(n) != 1 || n[0].Name != "node1" {
		t.Fatalf("nodes with node2 offline: %+v", n)
	}
	if l := b.LUNs(iqn, 2); len(l) != 0 {
		t.Fatalf("offline node serves %+v", l)
	}
}
