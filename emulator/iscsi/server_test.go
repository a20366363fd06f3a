package iscsi

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/emulator/scsi"
)

// TestMain keeps klog quiet unless -v is given (benchmarks print cleanly).
func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		klog.LogToStderr(false)
		klog.SetOutput(io.Discard)
	}
	os.Exit(m.Run())
}

const (
	testIQN1 = "iqn.2004-12.com.inspur:mcs.test.node1"
	testIQN2 = "iqn.2004-12.com.inspur:mcs.test.node2"
	hostIQN  = "iqn.1994-05.com.redhat:worker1"
)

type fixture struct {
	srv    *Server
	be     *StaticBackend
	addr1  string
	addr2  string
	dir    string
	cancel context.CancelFunc
	done   chan error
}

// startTarget serves two nodes on 127.0.0.1 and 127.0.0.2 with a
// kernel-chosen port shared by both (each address tried until free).
func startTarget(t testing.TB, cfg Config) *fixture {
	t.Helper()
	be := NewStaticBackend([]Node{
		{ID: 1, Name: "node1", IQN: testIQN1, Portals: []string{"127.0.0.1"}},
		{ID: 2, Name: "node2", IQN: testIQN2, Portals: []string{"127.0.0.2"}},
	})
	var srv *Server
	for port := 20000 + os.Getpid()%20000; ; port++ {
		cfg.Port = port
		srv = NewServer(cfg, be)
		if err := srv.Listen(); err == nil {
			break
		}
		if port > 60000 {
			t.Fatal("no free port")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &fixture{srv: srv, be: be, dir: t.TempDir(), cancel: cancel, done: make(chan error, 1)}
	f.addr1 = fmt.Sprintf("127.0.0.1:%d", cfg.Port)
	f.addr2 = fmt.Sprintf("127.0.0.2:%d", cfg.Port)
	go func() { f.done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-f.done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return f
}

func (f *fixture) vdisk(t testing.TB, lun uint64, uid string, size uint64) scsi.LUNInfo {
	t.Helper()
	p := filepath.Join(f.dir, uid)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, int64(size)); err != nil {
		t.Fatal(err)
	}
	return scsi.LUNInfo{LUN: lun, UID: uid, Name: "v" + uid[28:], CapacityBytes: size, Path: p, Thin: true, PreferredNode: 1, PartnerNode: 2}
}

func cdb16(op byte, lba uint64, n uint32) []byte {
	c := make([]byte, 16)
	c[0] = op
	binary.BigEndian.PutUint64(c[2:], lba)
	binary.BigEndian.PutUint32(c[10:], n)
	return c
}

func reportLUNs(t *testing.T, ti *testInitiator) []uint64 {
	t.Helper()
	c := make([]byte, 12)
	c[0] = 0xa0
	binary.BigEndian.PutUint32(c[6:], 4096)
	r, err := ti.command(0, c, nil, 4096)
	if err != nil || r.status != 0 {
		t.Fatalf("REPORT LUNS: %v status %d", err, r.status)
	}
	var out []uint64
	for i := 8; i+8 <= len(r.data); i += 8 {
		out = append(out, scsi.DecodeLUN(r.data[i:]))
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func senseASC(r cmdResult) uint16 {
	_, asc, _ := scsi.DecodeSense(r.sense)
	return asc
}

func TestMasking_LiveMapUnmapAndExpand(t *testing.T) {
	f := startTarget(t, Config{})
	v := f.vdisk(t, 5, "60050760000000000000000000000005", 4<<20)
	ti, err := dialLogin(f.addr1, hostIQN, loginOpts{target: testIQN1})
	if err != nil {
		t.Fatal(err)
	}
	defer ti.logout()
	if got := reportLUNs(t, ti); len(got) != 0 {
		t.Fatalf("unmapped initiator sees %v", got)
	}
	f.be.Map(hostIQN, v)
	tur := make([]byte, 6)
	// The first command to the new LUN reports the inventory change.
	waitFor(t, "REPORTED LUNS DATA HAS CHANGED on LUN 5", func() bool {
		r, _ := ti.command(5, tur, nil, 0)
		return r.status == 2 && senseASC(r) == 0x3f0e
	})
	if l := reportLUNs(t, ti); len(l) != 1 || l[0] != 5 {
		t.Fatalf("LUNs after map: %v", l)
	}
	// Another initiator's mapping stays invisible.
	f.be.Map("iqn.other", f.vdisk(t, 6, "60050760000000000000000000000006", 1<<20))
	time.Sleep(50 * time.Millisecond)
	if got := reportLUNs(t, ti); len(got) != 1 {
		t.Fatalf("masking leaked: %v", got)
	}
	if r, _ := ti.command(5, tur, nil, 0); r.status != 0 {
		t.Fatalf("TUR: status %d asc %04x", r.status, senseASC(r))
	}
	f.be.Resize(v.UID, 8<<20)
	waitFor(t, "capacity UA", func() bool {
		r, _ := ti.command(5, tur, nil, 0)
		return r.status == 2 && senseASC(r) == 0x2a09
	})
	rc, _ := ti.command(5, []byte{0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, nil, 8)
	if binary.BigEndian.Uint32(rc.data) != 8<<20/512-1 {
		t.Fatalf("READ CAPACITY after expand: %d", binary.BigEndian.Uint32(rc.data))
	}
	f.be.Unmap(hostIQN, 5)
	waitFor(t, "LUN 5 gone", func() bool { return len(reportLUNs(t, ti)) == 0 })
	r, _ := ti.command(5, tur, nil, 0)
	if r.status != 2 || senseASC(r) != 0x2500 {
		t.Fatalf("TUR after unmap: status %d asc %04x", r.status, senseASC(r))
	}
}

func TestIO_WriteReadThroughR2TWithDigests(t *testing.T) {
	f := startTarget(t, Config{})
	v := f.vdisk(t, 1, "60050760000000000000000000000001", 8<<20)
	f.be.Map(hostIQN, v)
	ti, err := dialLogin(f.addr1, hostIQN, loginOpts{target: testIQN1, digests: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ti.logout()
	if !ti.hdrDigest || !ti.dataDigest {
		t.Fatal("CRC32C digests not negotiated")
	}
	ti.command(1, make([]byte, 6), nil, 0) // clear the map UA
	data := make([]byte, 1<<20)            // beyond FirstBurst: immediate data + R2Ts
	for i := range data {
		data[i] = byte(i * 7)
	}
	c := cdb16(0x8a, 100, 2048)
	c[1] = 0x08 // FUA
	if r, err := ti.command(1, c, data, 0); err != nil || r.status != 0 {
		t.Fatalf("WRITE16: %v status %d", err, r.status)
	}
	// Read back through the other node's portal: one device, two paths.
	ti2, err := dialLogin(f.addr2, hostIQN, loginOpts{target: testIQN2})
	if err != nil {
		t.Fatal(err)
	}
	defer ti2.logout()
	ti2.command(1, make([]byte, 6), nil, 0)
	r, err := ti2.command(1, cdb16(0x88, 100, 2048), nil, 1<<20)
	if err != nil || r.status != 0 || !bytes.Equal(r.data, data) {
		t.Fatalf("READ16 via node2: %v status %d equal=%v", err, r.status, bytes.Equal(r.data, data))
	}
	onDisk, _ := os.ReadFile(v.Path)
	if !bytes.Equal(onDisk[100*512:100*512+len(data)], data) {
		t.Fatal("data file does not hold the write")
	}
}

func TestCHAP_EnforcedOnlyForHostsWithSecret(t *testing.T) {
	f := startTarget(t, Config{})
	f.be.SetCHAPSecret(hostIQN, "s3cretS3cret1234")
	if _, err := dialLogin(f.addr1, hostIQN, loginOpts{target: testIQN1}); !isLoginStatus(err, 0x02, 0x01) {
		t.Fatalf("login without CHAP: %v, want authentication failure", err)
	}
	if _, err := dialLogin(f.addr1, hostIQN, loginOpts{target: testIQN1, chapSecret: "wrongwrongwrong1"}); !isLoginStatus(err, 0x02, 0x01) {
		t.Fatalf("login with wrong secret: %v", err)
	}
	ti, err := dialLogin(f.addr1, hostIQN, loginOpts{target: testIQN1, chapSecret: "s3cretS3cret1234"})
	if err != nil {
		t.Fatalf("login with right secret: %v", err)
	}
	ti.logout()
	// A host without a secret logs in without CHAP.
	ti, err = dialLogin(f.addr1, "iqn.nochap", loginOpts{target: testIQN1})
	if err != nil {
		t.Fatal(err)
	}
	ti.logout()
	// Wrong target on this portal.
	if _, err := dialLogin(f.addr1, "iqn.nochap", loginOpts{target: testIQN2}); !isLoginStatus(err, 0x02, 0x03) {
		t.Fatalf("login to node2's IQN on node1's portal: %v", err)
	}
}

func isLoginStatus(err error, class, detail byte) bool {
	var ls loginStatus
	return errors.As(err, &ls) && ls.class == class && ls.detail == detail
}

func TestSendTargets_ListsBothNodesWithAdvertisedAddresses(t *testing.T) {
	// Keyed by IP: the test port is only known once bound.
	f := startTarget(t, Config{Advertise: map[string]string{"127.0.0.1": "10.0.2.100:3260"}})
	ti, err := dialLogin(f.addr1, hostIQN, loginOpts{})
	if err != nil {
		t.Fatal(err)
	}
	defer ti.logout()
	m, err := ti.text([]kv{{"SendTargets", "All"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{testIQN1, testIQN2}
	if strings.Join(m["TargetName"], " ") != strings.Join(want, " ") {
		t.Fatalf("targets %v", m["TargetName"])
	}
	addrs := strings.Join(m["TargetAddress"], " ")
	if addrs != "10.0.2.100:3260,1 "+f.addr2+",2" {
		t.Fatalf("addresses %q", addrs)
	}
}

func TestSessionReinstatement_ReplacesOldSession(t *testing.T) {
	f := startTarget(t, Config{})
	a, err := dialLogin(f.addr1, hostIQN, loginOpts{target: testIQN1, isid: 7})
	if err != nil {
		t.Fatal(err)
	}
	b, err := dialLogin(f.addr1, hostIQN, loginOpts{target: testIQN1, isid: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer b.logout()
	if _, err := a.read(); err == nil {
		t.Fatal("old connection still open after reinstatement")
	}
	waitFor(t, "one session", func() bool { return f.srv.Sessions() == 1 })
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc")
	}
	return len(ents)
}

// TestLoginLogout_NoLeakAfter1000Cycles: sessions, goroutines, files and
// sockets return to their baseline.
func TestLoginLogout_NoLeakAfter1000Cycles(t *testing.T) {
	f := startTarget(t, Config{})
	f.be.Map(hostIQN, f.vdisk(t, 1, "60050760000000000000000000000001", 1<<20))
	// Warm up once so lazily started runtime goroutines are counted.
	ti, err := dialLogin(f.addr1, hostIQN, loginOpts{target: testIQN1})
	if err != nil {
		t.Fatal(err)
	}
	ti.logout()
	waitFor(t, "warm-up session gone", func() bool { return f.srv.Sessions() == 0 })
	g0, fd0 := runtime.NumGoroutine(), openFDs(t)
	for i := 0; i < 1000; i++ {
		ti, err := dialLogin(f.addr1, hostIQN, loginOpts{target: testIQN1, isid: byte(i)})
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if i%2 == 0 {
			if r, err := ti.command(1, cdb16(0x88, 0, 8), nil, 4096); err != nil || len(r.data) == 0 && r.status == 0 {
				t.Fatalf("cycle %d read: %v", i, err)
			}
		}
		if i%10 == 9 {
			ti.nc.Close() // connection loss instead of logout
			continue
		}
		if err := ti.logout(); err != nil {
			t.Fatalf("cycle %d logout: %v", i, err)
		}
	}
	waitFor(t, "no sessions", func() bool { return f.srv.Sessions() == 0 && f.srv.OpenDevices() == 0 })
	waitFor(t, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= g0 })
	waitFor(t, "fds back to baseline", func() bool { return openFDs(t) <= fd0 })
}

func TestTaskManagement_LUNResetRaisesUAOnAllPaths(t *testing.T) {
	f := startTarget(t, Config{})
	f.be.Map(hostIQN, f.vdisk(t, 1, "60050760000000000000000000000001", 1<<20))
	a, _ := dialLogin(f.addr1, hostIQN, loginOpts{target: testIQN1})
	b, _ := dialLogin(f.addr2, hostIQN, loginOpts{target: testIQN2})
	defer a.logout()
	defer b.logout()
	a.command(1, make([]byte, 6), nil, 0)
	b.command(1, make([]byte, 6), nil, 0)
	a.itt++
	p := &PDU{}
	p.BHS[0] = opTMFReq | flagImmediate
	p.BHS[1] = 0x80 | tmfLUNReset
	p.BHS[9] = 1
	p.setU32(16, a.itt)
	p.setU32(20, reservedTag)
	p.setU32(24, a.cmdSN)
	r, err := a.exchange(p)
	if err != nil || r.opcode() != opTMFResp || r.BHS[2] != tmfRespComplete {
		t.Fatalf("LUN RESET: %v", err)
	}
	for _, ti := range []*testInitiator{a, b} {
		res, _ := ti.command(1, make([]byte, 6), nil, 0)
		if res.status != 2 || senseASC(res) != 0x2903 {
			t.Fatalf("TUR after reset: status %d asc %04x", res.status, senseASC(res))
		}
	}
}

func TestDataOut_BadDataSNFailsTaskNotSession(t *testing.T) {
	f := startTarget(t, Config{})
	f.be.Map(hostIQN, f.vdisk(t, 1, "60050760000000000000000000000001", 1<<20))
	ti, err := dialLogin(f.addr1, hostIQN, loginOpts{target: testIQN1})
	if err != nil {
		t.Fatal(err)
	}
	defer ti.logout()
	ti.command(1, make([]byte, 6), nil, 0)
	ti.itt++
	p := &PDU{}
	p.BHS[0] = opSCSICmd
	p.BHS[1] = 0x80 | 0x20 | 0x01 // F, W: all data solicited by R2T
	p.BHS[9] = 1
	p.setU32(16, ti.itt)
	p.setU32(20, 1024)
	p.setU32(24, ti.cmdSN)
	ti.cmdSN++
	copy(p.BHS[32:], cdb16(0x8a, 0, 2))
	r, err := ti.exchange(p)
	if err != nil || r.opcode() != opR2T {
		t.Fatalf("expected R2T: %v", err)
	}
	d := &PDU{}
	d.BHS[0] = opDataOut
	d.BHS[1] = 0x80
	d.BHS[9] = 1
	d.setU32(16, ti.itt)
	d.setU32(20, r.u32(20))
	d.setU32(36, 5) // DataSN must be 0
	d.Data = make([]byte, 1024)
	r, err = ti.exchange(d)
	if err != nil || r.opcode() != opSCSIResp || r.BHS[3] != scsi.StatusCheckCondition {
		t.Fatalf("bad DataSN: %v opcode 0x%x", err, r.opcode())
	}
	key, asc, _ := scsi.DecodeSense(r.Data[2:])
	if key != scsi.KeyAbortedCommand || asc != 0x4b00 {
		t.Fatalf("sense %x/%04x, want ABORTED COMMAND / DATA PHASE ERROR", key, asc)
	}
	if res, err := ti.command(1, make([]byte, 6), nil, 0); err != nil || res.status != 0 {
		t.Fatalf("session unusable after the failed task: %v %d", err, res.status)
	}
}

func tmfRequest(ti *testInitiator, fn byte, lun byte, ref uint32) (*PDU, error) {
	ti.itt++
	p := &PDU{}
	p.BHS[0] = opTMFReq | flagImmediate
	p.BHS[1] = 0x80 | fn
	p.BHS[9] = lun
	p.setU32(16, ti.itt)
	p.setU32(20, ref)
	p.setU32(24, ti.cmdSN)
	return ti.exchange(p)
}

func TestTaskManagement_AbortUnknownTaskAndTargetReset(t *testing.T) {
	f := startTarget(t, Config{})
	f.be.Map(hostIQN, f.vdisk(t, 1, "60050760000000000000000000000001", 1<<20))
	a, err := dialLogin(f.addr1, hostIQN, loginOpts{target: testIQN1})
	if err != nil {
		t.Fatal(err)
	}
	defer a.logout()
	a.command(1, make([]byte, 6), nil, 0)
	r, err := tmfRequest(a, tmfAbortTask, 1, 0x1234)
	if err != nil || r.opcode() != opTMFResp || r.BHS[2] != tmfRespNoTask {
		t.Fatalf("ABORT TASK of an unknown tag: %v resp %d", err, r.BHS[2])
	}
	r, err = tmfRequest(a, tmfLUNReset, 9, reservedTag)
	if err != nil || r.BHS[2] != tmfRespNoLUN {
		t.Fatalf("LUN RESET of an unmapped LUN: %v resp %d", err, r.BHS[2])
	}
	r, err = tmfRequest(a, tmfTargetWarm, 0, reservedTag)
	if err != nil || r.BHS[2] != tmfRespComplete {
		t.Fatalf("TARGET WARM RESET: %v resp %d", err, r.BHS[2])
	}
	res, _ := a.command(1, make([]byte, 6), nil, 0)
	if res.status != 2 || senseASC(res) != 0x2903 {
		t.Fatalf("TUR after target reset: status %d asc %04x", res.status, senseASC(res))
	}
	r, err = tmfRequest(a, tmfClearACA, 1, reservedTag)
	if err != nil || r.BHS[2] != tmfRespNotSupported {
		t.Fatalf("CLEAR ACA: %v resp %d", err, r.BHS[2])
	}
}
