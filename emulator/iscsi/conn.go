package iscsi

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/emulator/scsi"
)

// writeTimeout bounds one PDU write: a stuck initiator cannot pin a task.
const writeTimeout = 30 * time.Second

// maxWriteBuffer bounds the data-out buffer one command may announce;
// larger EDTLs are refused before anything is allocated.
const maxWriteBuffer = 32 << 20

var errLogout = errors.New("iscsi: logged out")

// conn is one TCP connection: login, then full feature phase.
type conn struct {
	srv  *Server
	nc   net.Conn
	br   *bufio.Reader
	node Node
	done chan struct{}

	// Negotiated at login; fixed afterwards.
	hdrDigest, dataDigest         bool
	pendHdrDigest, pendDataDigest bool
	sentMRDSL                     bool
	maxXmit, maxBurst, firstBurst int
	initialR2T, immediateData     bool

	cmdSN    uint32 // login phase only
	expCmdSN atomic.Uint32

	sess *session

	wmu    sync.Mutex
	statSN uint32

	tmu     sync.Mutex
	tasks   map[uint32]*task
	nextTTT uint32
	exec    sync.WaitGroup
}

// task is one SCSI command from arrival to response.
type task struct {
	itt      uint32
	lun      uint64
	lunRaw   [8]byte
	cdb      []byte
	read     bool
	write    bool
	edtl     uint32
	buf      []byte // data-out
	got      uint32 // contiguous data-out bytes received
	unsol    bool   // unsolicited Data-Out still expected
	burstEnd uint32 // end offset of the current R2T burst
	ttt      uint32
	r2tSN    uint32
	dataSN   uint32 // next expected Data-Out DataSN in this sequence
	aborted  bool
	running  bool
	done     chan struct{}
}

func newConn(s *Server, nc net.Conn, node Node) *conn {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetKeepAlive(true)
		_ = tc.SetKeepAlivePeriod(15 * time.Second)
	}
	return &conn{srv: s, nc: nc, br: bufio.NewReaderSize(nc, 64<<10), node: node,
		done: make(chan struct{}), tasks: map[uint32]*task{},
		maxXmit: 8192, maxBurst: 262144, firstBurst: 65536,
		initialR2T: true, immediateData: true}
}

func (c *conn) serve() {
	defer close(c.done)
	defer c.nc.Close()
	se, err := c.login()
	if err != nil {
		if !errors.Is(err, io.EOF) {
			klog.V(2).InfoS("iSCSI login ended", "remote", c.nc.RemoteAddr().String(), "err", err)
		}
		return
	}
	c.sess = se
	c.hdrDigest, c.dataDigest = c.pendHdrDigest, c.pendDataDigest
	klog.V(2).InfoS("iSCSI session up", "initiator", se.initiator, "target", c.node.IQN,
		"discovery", se.discovery, "tsih", se.tsih)
	defer func() {
		c.abortAll()
		c.exec.Wait()
		if se.nexus != nil {
			se.nexus.Close()
		}
		c.srv.unregister(se)
		klog.V(2).InfoS("iSCSI session down", "initiator", se.initiator, "target", c.node.IQN)
	}()
	se.refresh()
	for {
		p, err := readPDU(c.br, c.hdrDigest, c.dataDigest, c.srv.cfg.MaxRecvDataSegmentLength)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				klog.V(2).InfoS("iSCSI connection dropped", "initiator", se.initiator, "err", err)
			}
			return
		}
		if err := c.handle(p); err != nil {
			if !errors.Is(err, errLogout) {
				klog.InfoS("iSCSI connection closed on protocol error", "initiator", se.initiator, "err", err)
			}
			return
		}
	}
}

// Status sequencing modes for send.
const (
	snNone    = iota // StatSN field reserved (Data-In without status)
	snCurrent        // carries StatSN, does not consume it (R2T)
	snAdvance        // carries and consumes a StatSN (responses)
)

// send writes one PDU, filling in StatSN/ExpCmdSN/MaxCmdSN.
func (c *conn) send(p *PDU, sn int) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	switch sn {
	case snCurrent:
		p.setU32(24, c.statSN)
	case snAdvance:
		p.setU32(24, c.statSN)
		c.statSN++
	}
	exp := c.expCmdSN.Load()
	p.setU32(28, exp)
	p.setU32(32, exp+cmdWindow-1)
	bufs := net.Buffers(p.encode(c.hdrDigest, c.dataDigest))
	_ = c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := bufs.WriteTo(c.nc)
	return err
}

// acceptCmdSN applies CmdSN windowing (RFC 7143 §4.2.2.1): out-of-window
// commands are silently dropped.
func (c *conn) acceptCmdSN(p *PDU) bool {
	if p.immediate() {
		return true
	}
	sn := p.u32(24)
	exp := c.expCmdSN.Load()
	if int32(sn-exp) < 0 || int32(sn-(exp+cmdWindow-1)) > 0 {
		klog.V(2).InfoS("iSCSI CmdSN outside window dropped", "cmdSN", sn, "expCmdSN", exp)
		return false
	}
	c.expCmdSN.Store(sn + 1)
	return true
}

func (c *conn) handle(p *PDU) error {
	op := p.opcode()
	if c.sess.discovery && op != opTextReq && op != opLogoutReq && op != opNopOut {
		return c.reject(p, 0x04)
	}
	switch op {
	case opNopOut:
		if !c.acceptCmdSN(p) || p.itt() == reservedTag {
			return nil
		}
		r := &PDU{}
		r.BHS[0] = opNopIn
		r.BHS[1] = 0x80
		copy(r.BHS[8:16], p.lun())
		r.setU32(16, p.itt())
		r.setU32(20, reservedTag)
		r.Data = p.Data
		return c.send(r, snAdvance)
	case opSCSICmd:
		return c.scsiCommand(p)
	case opDataOut:
		return c.dataOut(p)
	case opTMFReq:
		return c.taskMgmt(p)
	case opTextReq:
		return c.text(p)
	case opLogoutReq:
		return c.logout(p)
	case opSNACK:
		return c.reject(p, 0x03) // ErrorRecoveryLevel 0: no SNACK
	}
	return c.reject(p, 0x05)
}

// reject answers a PDU we cannot process (RFC 7143 §11.17).
func (c *conn) reject(p *PDU, reason byte) error {
	r := &PDU{}
	r.BHS[0] = opReject
	r.BHS[1] = 0x80
	r.BHS[2] = reason
	r.setU32(16, reservedTag)
	r.Data = append([]byte(nil), p.BHS[:]...)
	return c.send(r, snAdvance)
}

func (c *conn) scsiCommand(p *PDU) error {
	if !c.acceptCmdSN(p) {
		return nil
	}
	fl := p.flags()
	t := &task{itt: p.itt(), read: fl&0x40 != 0, write: fl&0x20 != 0, edtl: p.u32(20),
		ttt: reservedTag, done: make(chan struct{})}
	copy(t.lunRaw[:], p.lun())
	t.lun = scsi.DecodeLUN(t.lunRaw[:])
	t.cdb = append([]byte(nil), p.BHS[32:48]...)
	if len(p.AHS) >= 4 && p.AHS[2] == 1 { // extended CDB AHS
		l := int(binary.BigEndian.Uint16(p.AHS[0:2])) - 1
		if l > 0 && 4+l <= len(p.AHS) {
			t.cdb = append(t.cdb, p.AHS[4:4+l]...)
		}
	}
	c.tmu.Lock()
	if _, dup := c.tasks[t.itt]; dup {
		c.tmu.Unlock()
		return c.reject(p, 0x07) // task in progress
	}
	c.tasks[t.itt] = t
	c.tmu.Unlock()

	if t.write && t.edtl > 0 {
		if t.edtl > maxWriteBuffer {
			return fmt.Errorf("iscsi: EDTL %d above %d", t.edtl, maxWriteBuffer)
		}
		// Pooled and unzeroed: execute only runs once all EDTL bytes arrived.
		t.buf = scsi.GetBuffer(int(t.edtl))
		if len(p.Data) > 0 {
			if !c.immediateData || len(p.Data) > c.firstBurst || uint32(len(p.Data)) > t.edtl {
				return fmt.Errorf("iscsi: immediate data of %d bytes not allowed", len(p.Data))
			}
			copy(t.buf, p.Data)
			t.got = uint32(len(p.Data))
		}
		if fl&flagFinal == 0 {
			if c.initialR2T {
				return errors.New("iscsi: unsolicited data with InitialR2T=Yes")
			}
			t.unsol = true
			return nil
		}
		if t.got < t.edtl {
			return c.sendR2T(t)
		}
	}
	c.execute(t)
	return nil
}

// sendR2T solicits the next burst of a write (MaxOutstandingR2T=1).
func (c *conn) sendR2T(t *task) error {
	c.tmu.Lock()
	c.nextTTT++
	if c.nextTTT == reservedTag {
		c.nextTTT = 1
	}
	t.ttt = c.nextTTT
	off := t.got
	length := min(t.edtl-off, uint32(c.maxBurst))
	t.burstEnd = off + length
	t.dataSN = 0
	sn := t.r2tSN
	t.r2tSN++
	c.tmu.Unlock()
	r := &PDU{}
	r.BHS[0] = opR2T
	r.BHS[1] = 0x80
	copy(r.BHS[8:16], t.lunRaw[:])
	r.setU32(16, t.itt)
	r.setU32(20, t.ttt)
	r.setU32(36, sn)
	r.setU32(40, off)
	r.setU32(44, length)
	return c.send(r, snCurrent)
}

// dataOut places one Data-Out PDU. Data must arrive in order
// (DataPDUInOrder=Yes). A wrong TTT, DataSN, offset or length ends the
// task with CHECK CONDITION, ABORTED COMMAND and the iSCSI-specific ASC of
// RFC 7143 §11.4.7.2; later Data-Outs for it are discarded and the session
// carries on.
func (c *conn) dataOut(p *PDU) error {
	c.tmu.Lock()
	t := c.tasks[p.itt()]
	c.tmu.Unlock()
	if t == nil || t.running {
		// Task aborted, failed or unknown: discard (RFC 7143 §4.2.3.3).
		return nil
	}
	ttt := p.u32(20)
	if t.unsol && ttt != reservedTag || !t.unsol && ttt != t.ttt {
		return c.failTask(t, 0x4b01) // invalid target port transfer tag
	}
	dsn, off := p.u32(36), p.u32(40)
	if dsn != t.dataSN {
		klog.V(2).InfoS("iSCSI Data-Out DataSN out of sequence", "got", dsn, "want", t.dataSN)
		return c.failTask(t, 0x4b00) // data phase error
	}
	if off != t.got {
		return c.failTask(t, 0x4b05) // data offset error
	}
	n := uint32(len(p.Data))
	limit := t.burstEnd
	if t.unsol {
		limit = min(uint32(c.firstBurst), t.edtl)
	}
	if off+n > limit {
		return c.failTask(t, 0x4b02) // too much write data
	}
	copy(t.buf[off:], p.Data)
	t.got += n
	t.dataSN++
	if p.flags()&flagFinal == 0 {
		return nil
	}
	t.unsol = false
	if t.got < t.edtl {
		return c.sendR2T(t)
	}
	c.execute(t)
	return nil
}

// failTask ends a task that is still collecting data-out.
func (c *conn) failTask(t *task, asc uint16) error {
	c.tmu.Lock()
	delete(c.tasks, t.itt)
	c.tmu.Unlock()
	close(t.done)
	s := scsi.Sense{Key: scsi.KeyAbortedCommand, ASC: asc}
	return c.sendResponse(t, scsi.Result{Status: scsi.StatusCheckCondition, Sense: s.Bytes()})
}

// execute runs the command off the reader goroutine so many commands are
// in flight at once (queue depth up to the CmdSN window).
func (c *conn) execute(t *task) {
	c.tmu.Lock()
	if t.aborted {
		delete(c.tasks, t.itt)
		c.tmu.Unlock()
		close(t.done)
		return
	}
	t.running = true
	c.tmu.Unlock()
	c.exec.Add(1)
	go func() {
		defer c.exec.Done()
		res := c.sess.nexus.Execute(t.lun, t.cdb, t.buf)
		if t.buf != nil {
			scsi.PutBuffer(t.buf)
		}
		c.respond(t, res)
	}()
}

// respond sends Data-In (with phase-collapsed status) or a SCSI Response.
func (c *conn) respond(t *task, res scsi.Result) {
	defer res.Release()
	c.tmu.Lock()
	aborted := t.aborted
	delete(c.tasks, t.itt)
	c.tmu.Unlock()
	defer close(t.done)
	if aborted {
		return // SAM: no response for an aborted task
	}
	var err error
	if res.Status == scsi.StatusGood && len(res.Data) > 0 && t.read && t.edtl > 0 {
		err = c.sendDataIn(t, res.Data)
	} else {
		err = c.sendResponse(t, res)
	}
	if err != nil {
		c.nc.Close() // the reader sees the close and tears down
	}
}

func residual(want, have uint32) (flags byte, count uint32) {
	switch {
	case have > want:
		return 0x04, have - want // overflow
	case have < want:
		return 0x02, want - have // underflow
	}
	return 0, 0
}

// sendDataIn sends the read data as Data-In PDUs of at most the
// initiator's MaxRecvDataSegmentLength, status collapsed into the last.
// Each PDU is its own write so other commands' responses interleave with
// a large transfer (measured: batching one writev per sequence was not
// faster on 1 MiB reads and delays small responses behind big ones).
func (c *conn) sendDataIn(t *task, data []byte) error {
	rflags, rcount := residual(t.edtl, uint32(len(data)))
	if uint32(len(data)) > t.edtl {
		data = data[:t.edtl]
	}
	var dsn uint32
	for off := 0; off < len(data); {
		n := min(len(data)-off, c.maxXmit)
		last := off+n == len(data)
		r := &PDU{}
		r.BHS[0] = opDataIn
		copy(r.BHS[8:16], t.lunRaw[:])
		r.setU32(16, t.itt)
		r.setU32(20, reservedTag)
		r.setU32(36, dsn)
		r.setU32(40, uint32(off))
		r.Data = data[off : off+n]
		sn := snNone
		if last {
			r.BHS[1] = 0x80 | 0x01 | rflags // F, S
			r.BHS[3] = scsi.StatusGood
			r.setU32(44, rcount)
			sn = snAdvance
		}
		if err := c.send(r, sn); err != nil {
			return err
		}
		dsn++
		off += n
	}
	return nil
}

func (c *conn) sendResponse(t *task, res scsi.Result) error {
	r := &PDU{}
	r.BHS[0] = opSCSIResp
	r.BHS[1] = 0x80
	r.BHS[3] = res.Status
	r.setU32(16, t.itt)
	var have uint32
	switch {
	case t.write:
		if n, ok := scsi.DataOutLength(t.cdb); ok {
			have = uint32(n)
		} else {
			have = t.edtl
		}
	case res.Status == scsi.StatusGood:
		have = uint32(len(res.Data))
	}
	if res.Status == scsi.StatusGood || t.write {
		rf, rc := residual(t.edtl, have)
		r.BHS[1] |= rf
		r.setU32(44, rc)
	}
	if !t.write && !t.read && res.Status == scsi.StatusGood {
		if n, ok := scsi.DataOutLength(t.cdb); ok && n > 0 {
			// A data-out command sent without the W bit: nothing arrived.
			r.BHS[1] |= 0x04
			r.setU32(44, uint32(n))
		}
	}
	if len(res.Sense) > 0 {
		r.Data = make([]byte, 2+len(res.Sense))
		binary.BigEndian.PutUint16(r.Data, uint16(len(res.Sense)))
		copy(r.Data[2:], res.Sense)
	}
	return c.send(r, snAdvance)
}

// abortAll marks every task aborted (connection teardown).
func (c *conn) abortAll() {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	for itt, t := range c.tasks {
		t.aborted = true
		if !t.running {
			delete(c.tasks, itt)
			close(t.done)
		}
	}
}

// logout answers a Logout Request once in-flight commands finished.
func (c *conn) logout(p *PDU) error {
	c.acceptCmdSN(p)
	c.exec.Wait()
	r := &PDU{}
	r.BHS[0] = opLogoutResp
	r.BHS[1] = 0x80
	reason := p.flags() & 0x7f
	if reason > 2 {
		r.BHS[2] = 0x02 // connection recovery not supported
	}
	r.setU32(16, p.itt())
	if err := c.send(r, snAdvance); err != nil {
		return err
	}
	return errLogout
}

func initiatorPortName(initiator string, isid [6]byte) string {
	return initiator + ",i,0x" + hex.EncodeToString(isid[:])
}
