package iscsi

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/instorage-csi/instorage-csi/emulator/scsi"
)

func encodeAll(ps ...*PDU) []byte {
	var b bytes.Buffer
	for _, p := range ps {
		for _, x := range p.encode(false, false) {
			b.Write(x)
		}
	}
	return b.Bytes()
}

// FuzzConnection feeds arbitrary bytes to a whole connection (login, full
// feature phase, SCSI): the target must neither panic nor hang, and must
// release the session and devices when the stream ends.
func FuzzConnection(f *testing.F) {
	login := func(csg, nsg int, keys []kv) *PDU {
		p := &PDU{}
		p.BHS[0] = opLoginReq | flagImmediate
		p.BHS[1] = 0x80 | byte(csg)<<2 | byte(nsg)
		p.BHS[8] = 0x40
		p.Data = encodeText(keys)
		return p
	}
	cmd := func(itt uint32, cdb []byte, w bool, data []byte, edtl uint32) *PDU {
		p := &PDU{}
		p.BHS[0] = opSCSICmd
		p.BHS[1] = 0x81
		if w {
			p.BHS[1] |= 0x20
		} else {
			p.BHS[1] |= 0x40
		}
		p.BHS[9] = 1
		p.setU32(16, itt)
		p.setU32(20, edtl)
		p.setU32(24, itt)
		copy(p.BHS[32:], cdb)
		p.Data = data
		return p
	}
	l1 := login(0, 3, []kv{{"InitiatorName", "iqn.fuzz"}, {"TargetName", testIQN1}, {"AuthMethod", "None"}})
	f.Add(encodeAll(l1, cmd(0, []byte{0x12, 0, 0, 0, 96}, false, nil, 96)))
	f.Add(encodeAll(l1, cmd(0, cdb16(0x8a, 0, 1), true, make([]byte, 512), 512), cmd(1, cdb16(0x88, 0, 1), false, nil, 512)))
	f.Add(encodeAll(l1, cmd(0, cdb16(0x8a, 0, 4), true, nil, 2048)))
	f.Add(encodeAll(login(0, 1, []kv{{"InitiatorName", "iqn.fuzz"}, {"SessionType", "Discovery"}}),
		login(1, 3, []kv{{"MaxRecvDataSegmentLength", "512"}})))
	dir := f.TempDir()
	path := filepath.Join(dir, "v")
	if err := os.WriteFile(path, make([]byte, 1<<16), 0o600); err != nil {
		f.Fatal(err)
	}
	node := Node{ID: 1, Name: "node1", IQN: testIQN1, Portals: []string{"127.0.0.1"}}
	f.Fuzz(func(t *testing.T, in []byte) {
		be := NewStaticBackend([]Node{node})
		be.Map(AnyInitiator, scsi.LUNInfo{LUN: 1, UID: "60050760000000000000000000000F01", CapacityBytes: 1 << 16,
			Path: path, Thin: true, PreferredNode: 1})
		srv := NewServer(Config{LoginTimeout: time.Second}, be)
		client, server := net.Pipe()
		c := newConn(srv, server, node)
		go io.Copy(io.Discard, client) // drain responses
		go func() {
			client.SetWriteDeadline(time.Now().Add(2 * time.Second))
			client.Write(in)
			client.Close()
		}()
		go srv.refreshAll()
		select {
		case <-func() chan struct{} { go c.serve(); return c.done }():
		case <-time.After(10 * time.Second):
			t.Fatal("connection did not end after the input stream closed")
		}
		if srv.Sessions() != 0 || srv.OpenDevices() != 0 {
			t.Fatalf("leaked %d sessions, %d devices", srv.Sessions(), srv.OpenDevices())
		}
	})
}
