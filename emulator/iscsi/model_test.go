package iscsi

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/instorage-csi/instorage-csi/emulator/model"
)

// startModelTarget runs StartForModel on a free port over a fresh array
// with the default two-node topology.
func startModelTarget(t *testing.T) (*model.Array, string, string) {
	t.Helper()
	arr, err := model.Open(t.TempDir(), model.DefaultTopology())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { arr.Close() })
	for port := 30000 + os.Getpid()%20000; port < 65000; port++ {
		_, stop, err := StartForModel(context.Background(), arr, Config{Port: port})
		if err != nil {
			var oe *net.OpError
			if errors.As(err, &oe) {
				continue
			}
			t.Fatal(err)
		}
		t.Cleanup(stop)
		return arr, fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("127.0.0.2:%d", port)
	}
	t.Fatal("no free port")
	return nil, "", ""
}

func TestModel_MaskingIdentityALUAAndCHAP(t *testing.T) {
	arr, addr1, addr2 := startModelTarget(t)
	const iqn = "iqn.1994-05.com.redhat:k8s-worker-1"
	if _, err := arr.MkHost(model.MkHostReq{Name: "iscsi-worker-1", IQNs: []string{iqn}}); err != nil {
		t.Fatal(err)
	}
	if _, err := arr.MkVDisk(model.MkVDiskReq{Name: "pvc-1", SizeBytes: 64 << 20, Pools: []string{"Pool0"}, RSizePct: 2, AutoExpand: true}); err != nil {
		t.Fatal(err)
	}
	v, err := arr.VDisk("pvc-1")
	if err != nil {
		t.Fatal(err)
	}
	nodes := arr.Nodes()
	iqn1, iqn2 := nodes[0].TargetIQN, nodes[1].TargetIQN
	a, err := dialLogin(addr1, iqn, loginOpts{target: iqn1})
	if err != nil {
		t.Fatal(err)
	}
	defer a.logout()
	if len(reportLUNs(t, a)) != 0 {
		t.Fatal("LUN visible before mapping")
	}
	if _, err := arr.MkVDiskHostMap("iscsi-worker-1", "pvc-1", 7, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "LUN 7 after mkvdiskhostmap", func() bool { l := reportLUNs(t, a); return len(l) == 1 && l[0] == 7 })

	// VPD 0x83 NAA == vdisk_UID, as scsi_id/udev will read it.
	r, err := a.command(7, []byte{0x12, 1, 0x83, 0x01, 0, 0}, nil, 256)
	if err != nil || r.status != 0 {
		t.Fatalf("INQUIRY 0x83: %v %d", err, r.status)
	}
	var naa string
	for off := 4; off+4 <= len(r.data); off += 4 + int(r.data[off+3]) {
		if r.data[off+1]&0x3f == 0x03 {
			naa = hex.EncodeToString(r.data[off+4 : off+4+int(r.data[off+3])])
		}
	}
	if naa != strings.ToLower(v.UID) {
		t.Fatalf("NAA %s, vdisk_UID %s", naa, v.UID)
	}
	// ALUA: the preferred node's group is active/optimized.
	c := make([]byte, 12)
	c[0], c[1] = 0xa3, 0x0a
	binary.BigEndian.PutUint32(c[6:], 256)
	r, _ = a.command(7, c, nil, 256)
	if got := int(binary.BigEndian.Uint16(r.data[6:8])); got != v.PreferredNodeID || r.data[4]&0x0f != 0 {
		t.Fatalf("first TPG %d state %d, preferred node %d", got, r.data[4]&0x0f, v.PreferredNodeID)
	}
	// Both nodes serve it: the second path sees the same LUN.
	b, err := dialLogin(addr2, iqn, loginOpts{target: iqn2})
	if err != nil {
		t.Fatal(err)
	}
	if l := reportLUNs(t, b); len(l) != 1 || l[0] == 0 {
		t.Fatalf("node2 LUNs %v", l)
	}
	b.logout()

	// Expand raises CAPACITY DATA HAS CHANGED.
	a.command(7, make([]byte, 6), nil, 0)
	if err := arr.ExpandVDiskSize("pvc-1", 64<<20); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "capacity UA", func() bool {
		r, _ := a.command(7, make([]byte, 6), nil, 0)
		return r.status == 2 && senseASC(r) == 0x2a09
	})
	// Unmap removes it live.
	if err := arr.RmVDiskHostMap("iscsi-worker-1", "pvc-1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "LUN gone after rmvdiskhostmap", func() bool { return len(reportLUNs(t, a)) == 0 })

	// CHAP once the host has a secret.
	secret := "Abcdefgh23456789"
	if err := arr.ChHost("iscsi-worker-1", model.ChHostReq{CHAPSecret: &secret}); err != nil {
		t.Fatal(err)
	}
	if _, err := dialLogin(addr1, iqn, loginOpts{target: iqn1, isid: 2}); !isLoginStatus(err, 2, 1) {
		t.Fatalf("login without CHAP after chhost -chapsecret: %v", err)
	}
	c2, err := dialLogin(addr1, iqn, loginOpts{target: iqn1, isid: 3, chapSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	c2.logout()
}

func TestModel_OfflineNodeDropsSessions(t *testing.T) {
	arr, addr1, _ := startModelTarget(t)
	a, err := dialLogin(addr1, "iqn.x", loginOpts{target: arr.Nodes()[0].TargetIQN})
	if err != nil {
		t.Fatal(err)
	}
	if err := arr.SetNodeStatus("node1", false); err != nil {
		t.Fatal(err)
	}
	_ = a.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := a.read(); err == nil {
		t.Fatal("session on an offline node survived")
	}
	if _, err := dialLogin(addr1, "iqn.x", loginOpts{target: arr.Nodes()[0].TargetIQN}); err == nil {
		t.Fatal("login to an offline node succeeded")
	}
}

// TestModel_SnapshotSeesAcknowledgedWrites: a write the target acknowledged
// (FUA) is in the LocalCopy target made right after, through the quiescer.
func TestModel_SnapshotSeesAcknowledgedWrites(t *testing.T) {
	arr, addr1, _ := startModelTarget(t)
	const iqn = "iqn.1994-05.com.redhat:k8s-worker-2"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := arr.MkHost(model.MkHostReq{Name: "h2", IQNs: []string{iqn}})
	must(err)
	for _, n := range []string{"src", "snap"} {
		_, err = arr.MkVDisk(model.MkVDiskReq{Name: n, SizeBytes: 16 << 20, Pools: []string{"Pool0"}, RSizePct: 2, AutoExpand: true})
		must(err)
	}
	_, err = arr.MkVDiskHostMap("h2", "src", 1, false)
	must(err)
	a, err := dialLogin(addr1, iqn, loginOpts{target: arr.Nodes()[0].TargetIQN})
	must(err)
	defer a.logout()
	a.command(1, make([]byte, 6), nil, 0)
	data := make([]byte, 64<<10)
	for i := range data {
		data[i] = byte(i*13 + 1)
	}
	c := cdb16(0x8a, 2048, 128)
	c[1] = 0x08 // FUA
	if r, err := a.command(1, c, data, 0); err != nil || r.status != 0 {
		t.Fatalf("write: %v %d", err, r.status)
	}
	_, err = arr.MkLCMap(model.MkLCMapReq{Source: "src", Target: "snap", CopyRate: 0})
	must(err)
	must(arr.StartLCMap("0", true))
	_, err = arr.MkVDiskHostMap("h2", "snap", 2, false)
	must(err)
	waitFor(t, "snapshot LUN", func() bool { return len(reportLUNs(t, a)) == 2 })
	a.command(2, make([]byte, 6), nil, 0)
	r, err := a.command(2, cdb16(0x88, 2048, 128), nil, len(data))
	if err != nil || r.status != 0 || !bytesEqual(r.data, data) {
		t.Fatalf("snapshot does not hold the acknowledged write: %v status %d", err, r.status)
	}
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }
