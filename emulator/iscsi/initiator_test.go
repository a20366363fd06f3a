package iscsi

import (
	"bufio"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// testInitiator is a minimal synchronous iSCSI initiator for tests: one
// command at a time, immediate data, R2T handling, CHAP, digests.
type testInitiator struct {
	nc                    net.Conn
	br                    *bufio.Reader
	name                  string
	isid                  [6]byte
	itt                   uint32
	cmdSN                 uint32
	expStatSN             uint32
	hdrDigest, dataDigest bool
	maxXmit               int
	firstBurst            int
	immediate             bool
	initialR2T            bool
}

type loginOpts struct {
	target     string // "" = discovery session
	chapSecret string
	digests    bool
	isid       byte
}

type loginStatus struct{ class, detail byte }

func (s loginStatus) Error() string { return fmt.Sprintf("login status 0x%02x%02x", s.class, s.detail) }

func dialLogin(addr, initiator string, o loginOpts) (*testInitiator, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	ti := &testInitiator{nc: nc, br: bufio.NewReader(nc), name: initiator, maxXmit: 8192,
		firstBurst: 65536, immediate: true, initialR2T: true}
	ti.isid = [6]byte{0x40, 0, 0, 0, 0, o.isid}
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := ti.login(o); err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return ti, nil
}

func (ti *testInitiator) exchange(p *PDU) (*PDU, error) {
	if err := ti.write(p); err != nil {
		return nil, err
	}
	return ti.read()
}

func (ti *testInitiator) write(p *PDU) error {
	b := net.Buffers(p.encode(ti.hdrDigest, ti.dataDigest))
	_, err := b.WriteTo(ti.nc)
	return err
}

func (ti *testInitiator) read() (*PDU, error) {
	p, err := readPDU(ti.br, ti.hdrDigest, ti.dataDigest, 0)
	if err != nil {
		return nil, err
	}
	if p.opcode() != opDataIn || p.flags()&0x01 != 0 {
		ti.expStatSN = p.u32(24) + 1
	}
	return p, nil
}

func (ti *testInitiator) loginPDU(csg, nsg int, transit bool, keys []kv) *PDU {
	p := &PDU{}
	p.BHS[0] = opLoginReq | flagImmediate
	p.BHS[1] = byte(csg)<<2 | byte(nsg)
	if transit {
		p.BHS[1] |= 0x80
	}
	copy(p.BHS[8:14], ti.isid[:])
	p.setU32(16, ti.itt)
	p.setU32(24, ti.cmdSN)
	p.setU32(28, ti.expStatSN)
	p.Data = encodeText(keys)
	return p
}

func respKeys(p *PDU) (map[string]string, error) {
	if p.opcode() != opLoginResp {
		return nil, fmt.Errorf("opcode 0x%x", p.opcode())
	}
	if p.BHS[36] != 0 {
		return nil, loginStatus{p.BHS[36], p.BHS[37]}
	}
	kvs, err := parseText(p.Data)
	m := map[string]string{}
	for _, k := range kvs {
		m[k.k] = k.v
	}
	return m, err
}

func (ti *testInitiator) login(o loginOpts) error {
	decl := []kv{{"InitiatorName", ti.name}}
	if o.target == "" {
		decl = append(decl, kv{"SessionType", "Discovery"})
	} else {
		decl = append(decl, kv{"SessionType", "Normal"}, kv{"TargetName", o.target})
	}
	auth := "None"
	if o.chapSecret != "" {
		auth = "CHAP,None"
	}
	r, err := ti.exchange(ti.loginPDU(0, 1, o.chapSecret == "", append(decl, kv{"AuthMethod", auth})))
	if err != nil {
		return err
	}
	m, err := respKeys(r)
	if err != nil {
		return err
	}
	if m["AuthMethod"] == "CHAP" {
		r, err = ti.exchange(ti.loginPDU(0, 1, false, []kv{{"CHAP_A", "5"}}))
		if err != nil {
			return err
		}
		if m, err = respKeys(r); err != nil {
			return err
		}
		id, _ := strconv.Atoi(m["CHAP_I"])
		ch, _ := hex.DecodeString(strings.TrimPrefix(m["CHAP_C"], "0x"))
		h := md5.New()
		h.Write([]byte{byte(id)})
		h.Write([]byte(o.chapSecret))
		h.Write(ch)
		r, err = ti.exchange(ti.loginPDU(0, 1, true, []kv{{"CHAP_N", ti.name}, {"CHAP_R", "0x" + hex.EncodeToString(h.Sum(nil))}}))
		if err != nil {
			return err
		}
		if _, err = respKeys(r); err != nil {
			return err
		}
	}
	dig := "None"
	if o.digests {
		dig = "CRC32C"
	}
	ops := []kv{{"HeaderDigest", dig}, {"DataDigest", dig}, {"MaxRecvDataSegmentLength", "65536"},
		{"InitialR2T", "No"}, {"ImmediateData", "Yes"}, {"MaxBurstLength", "262144"},
		{"FirstBurstLength", "65536"}, {"ErrorRecoveryLevel", "0"}, {"X-Unknown", "1"}}
	r, err = ti.exchange(ti.loginPDU(1, 3, true, ops))
	if err != nil {
		return err
	}
	if m, err = respKeys(r); err != nil {
		return err
	}
	if m["X-Unknown"] != "NotUnderstood" {
		return errors.New("unknown key not answered NotUnderstood")
	}
	if r.BHS[1]&0x80 == 0 || binary.BigEndian.Uint16(r.BHS[14:16]) == 0 {
		return errors.New("login did not reach full feature phase with a TSIH")
	}
	ti.maxXmit, _ = strconv.Atoi(m["MaxRecvDataSegmentLength"])
	ti.firstBurst, _ = strconv.Atoi(m["FirstBurstLength"])
	ti.initialR2T = m["InitialR2T"] == "Yes"
	ti.immediate = m["ImmediateData"] == "Yes"
	ti.hdrDigest, ti.dataDigest = m["HeaderDigest"] == "CRC32C", m["DataDigest"] == "CRC32C"
	ti.itt++
	return nil
}

type cmdResult struct {
	status byte
	sense  []byte
	data   []byte
	resid  uint32
	flags  byte
}

// command runs one SCSI command to completion.
func (ti *testInitiator) command(lun uint64, cdb []byte, out []byte, inLen int) (cmdResult, error) {
	ti.itt++
	p := &PDU{}
	p.BHS[0] = opSCSICmd
	p.BHS[1] = 0x80 | 0x01 // F, simple task
	if inLen > 0 {
		p.BHS[1] |= 0x40
	}
	edtl := inLen
	if out != nil {
		p.BHS[1] |= 0x20
		edtl = len(out)
	}
	lb := make([]byte, 8)
	if lun < 256 {
		lb[1] = byte(lun)
	}
	copy(p.BHS[8:16], lb)
	p.setU32(16, ti.itt)
	p.setU32(20, uint32(edtl))
	p.setU32(24, ti.cmdSN)
	ti.cmdSN++
	p.setU32(28, ti.expStatSN)
	copy(p.BHS[32:48], cdb)
	sent := 0
	if out != nil && ti.immediate {
		sent = min(len(out), ti.firstBurst, ti.maxXmit)
		p.Data = out[:sent]
	}
	if err := ti.write(p); err != nil {
		return cmdResult{}, err
	}
	var res cmdResult
	for {
		r, err := ti.read()
		if err != nil {
			return res, err
		}
		switch r.opcode() {
		case opR2T:
			off, length := int(r.u32(40)), int(r.u32(44))
			var dsn uint32
			for o := off; o < off+length; {
				n := min(off+length-o, ti.maxXmit)
				d := &PDU{}
				d.BHS[0] = opDataOut
				if o+n == off+length {
					d.BHS[1] = 0x80
				}
				copy(d.BHS[8:16], lb)
				d.setU32(16, ti.itt)
				d.setU32(20, r.u32(20))
				d.setU32(28, ti.expStatSN)
				d.setU32(36, dsn)
				d.setU32(40, uint32(o))
				d.Data = out[o : o+n]
				if err := ti.write(d); err != nil {
					return res, err
				}
				dsn++
				o += n
			}
		case opDataIn:
			res.data = append(res.data, r.Data...)
			if r.flags()&0x01 != 0 {
				res.status, res.flags, res.resid = r.BHS[3], r.flags(), r.u32(44)
				return res, nil
			}
		case opSCSIResp:
			res.status, res.flags, res.resid = r.BHS[3], r.flags(), r.u32(44)
			if len(r.Data) >= 2 {
				n := int(binary.BigEndian.Uint16(r.Data))
				res.sense = r.Data[2 : 2+n]
			}
			return res, nil
		default:
			return res, fmt.Errorf("unexpected opcode 0x%x", r.opcode())
		}
	}
}

func (ti *testInitiator) text(keys []kv) (map[string][]string, error) {
	ti.itt++
	p := &PDU{}
	p.BHS[0] = opTextReq | flagImmediate
	p.BHS[1] = 0x80
	p.setU32(16, ti.itt)
	p.setU32(20, reservedTag)
	p.setU32(24, ti.cmdSN)
	p.setU32(28, ti.expStatSN)
	p.Data = encodeText(keys)
	r, err := ti.exchange(p)
	if err != nil {
		return nil, err
	}
	kvs, err := parseText(r.Data)
	out := map[string][]string{}
	for _, k := range kvs {
		out[k.k] = append(out[k.k], k.v)
	}
	return out, err
}

func (ti *testInitiator) logout() error {
	ti.itt++
	p := &PDU{}
	p.BHS[0] = opLogoutReq | flagImmediate
	p.BHS[1] = 0x80
	p.setU32(16, ti.itt)
	p.setU32(24, ti.cmdSN)
	p.setU32(28, ti.expStatSN)
	r, err := ti.exchange(p)
	ti.nc.Close()
	if err != nil {
		return err
	}
	if r.opcode() != opLogoutResp || r.BHS[2] != 0 {
		return fmt.Errorf("logout response 0x%x/%d", r.opcode(), r.BHS[2])
	}
	return nil
}
