package iscsi

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/emulator/scsi"
)

// Login status class/detail (RFC 7143 §11.13.5).
const (
	loginSuccess       = 0x0000
	loginInitiatorErr  = 0x0200
	loginAuthFailed    = 0x0201
	loginForbidden     = 0x0202
	loginNotFound      = 0x0203
	loginMissingParam  = 0x0207
	loginUnsupportedV  = 0x0205
	loginInvalidReq    = 0x020b
	loginTargetErr     = 0x0300
	loginOutOfResource = 0x0302
)

// Login stages.
const (
	stageSecurity    = 0
	stageOperational = 1
	stageFullFeature = 3
)

// ourMaxBurst and ourFirstBurst are the target's offers; results are the
// minimum of both sides.
const (
	ourMaxBurst   = 1 << 20
	ourFirstBurst = 256 << 10
	cmdWindow     = 128
)

type loginError struct {
	status uint16
	msg    string
}

func (e *loginError) Error() string { return fmt.Sprintf("login 0x%04x: %s", e.status, e.msg) }

func lerr(status uint16, format string, a ...any) error {
	return &loginError{status, fmt.Sprintf(format, a...)}
}

// chapState is the target side of CHAP (RFC 1994 with MD5, RFC 7143 §12.1.3).
type chapState struct {
	step      int // 0 none, 1 sent challenge, 2 done
	id        byte
	challenge []byte
}

// login runs the login phase on c. It returns the session on success.
func (c *conn) login() (_ *session, err error) {
	_ = c.nc.SetDeadline(time.Now().Add(c.srv.cfg.LoginTimeout))
	defer c.nc.SetDeadline(time.Time{})

	var se *session
	defer func() {
		// A refresh may have loaded LUNs once the session was registered.
		if err != nil && se != nil && se.nexus != nil {
			se.nexus.Close()
		}
	}()
	var (
		params   = map[string]string{}
		stage    = -1
		authDone bool
		secret   string
		chap     chapState
		sentTPGT bool
		isid     [6]byte
		itt      uint32
	)
	for {
		p, err := readPDU(c.br, false, false, 8192)
		if err != nil {
			return nil, err
		}
		if p.opcode() != opLoginReq {
			return nil, errors.New("iscsi: non-login PDU during login")
		}
		fl := p.flags()
		transit, cont := fl&0x80 != 0, fl&0x40 != 0
		csg, nsg := int(fl>>2&3), int(fl&3)
		itt = p.itt()
		copy(isid[:], p.BHS[8:14])
		if p.BHS[2] != 0 && p.BHS[3] > 0 { // version-min above ours
			return nil, c.loginReject(p, loginUnsupportedV, "version")
		}
		if cont {
			// Text spanning several PDUs: we never need it for login keys.
			return nil, c.loginReject(p, loginInitiatorErr, "continued login text unsupported")
		}
		if stage == -1 {
			stage = csg
			c.cmdSN = p.u32(24)
		} else if csg != stage {
			return nil, c.loginReject(p, loginInitiatorErr, "unexpected stage")
		}
		if csg == stageFullFeature || (transit && nsg <= csg) || nsg == 2 {
			return nil, c.loginReject(p, loginInitiatorErr, "invalid stage transition")
		}
		keys, err := parseText(p.Data)
		if err != nil {
			return nil, c.loginReject(p, loginInitiatorErr, "%v", err)
		}
		for _, k := range keys {
			if _, dup := params[k.k]; !dup || strings.HasPrefix(k.k, "CHAP_") {
				params[k.k] = k.v
			}
		}
		var resp []kv
		if se == nil {
			se, err = c.startSession(params, isid)
			if err != nil {
				var le *loginError
				if errors.As(err, &le) {
					return nil, c.loginReject(p, le.status, "%s", le.msg)
				}
				return nil, err
			}
			secret = c.srv.backend.CHAPSecret(se.initiator)
			if se.discovery {
				secret = "" // per-host CHAP protects normal sessions only
			}
		}
		switch csg {
		case stageSecurity:
			r, done, err := c.security(keys, secret, &chap, se.initiator)
			if err != nil {
				var le *loginError
				if errors.As(err, &le) {
					klog.InfoS("iSCSI login refused", "initiator", se.initiator, "reason", le.msg)
					return nil, c.loginReject(p, le.status, "%s", le.msg)
				}
				return nil, err
			}
			resp = append(resp, r...)
			authDone = done
			if transit && !authDone {
				// Initiator wants to leave before authentication finished.
				if chap.step == 0 && secret == "" {
					authDone = true
				} else {
					transit = false
				}
			}
		case stageOperational:
			if secret != "" && !authDone {
				return nil, c.loginReject(p, loginAuthFailed, "CHAP required")
			}
			resp = append(resp, c.negotiate(keys)...)
		}
		if !sentTPGT && !se.discovery {
			resp = append(resp, kv{"TargetPortalGroupTag", strconv.Itoa(se.node.ID)})
			sentTPGT = true
		}
		final := transit && nsg == stageFullFeature
		r := &PDU{}
		r.BHS[0] = opLoginResp
		if transit {
			r.BHS[1] = 0x80 | byte(csg)<<2 | byte(nsg)
		} else {
			r.BHS[1] = byte(csg) << 2
		}
		copy(r.BHS[8:14], isid[:])
		if final {
			if !c.srv.register(se) {
				return nil, c.loginReject(p, loginOutOfResource, "session reinstatement failed")
			}
			binary.BigEndian.PutUint16(r.BHS[14:16], se.tsih)
		}
		r.setU32(16, itt)
		r.Data = encodeText(resp)
		c.expCmdSN.Store(c.cmdSN)
		if err := c.send(r, snAdvance); err != nil {
			if final {
				c.srv.unregister(se)
			}
			return nil, err
		}
		if transit {
			stage = nsg
		}
		if final {
			return se, nil
		}
	}
}

// startSession validates the leading login's declarative keys.
func (c *conn) startSession(params map[string]string, isid [6]byte) (*session, error) {
	init := params["InitiatorName"]
	if init == "" {
		return nil, lerr(loginMissingParam, "InitiatorName missing")
	}
	se := &session{srv: c.srv, initiator: init, isid: isid, node: c.node, conn: c, since: time.Now().UTC()}
	switch params["SessionType"] {
	case "Discovery":
		se.discovery = true
		se.key = sessionKey(init, isid, "")
		return se, nil
	case "", "Normal":
	default:
		return nil, lerr(loginInvalidReq, "SessionType %q", params["SessionType"])
	}
	tn := params["TargetName"]
	if tn == "" {
		return nil, lerr(loginMissingParam, "TargetName missing")
	}
	if !strings.EqualFold(tn, c.node.IQN) {
		return nil, lerr(loginNotFound, "target %q is not served on this portal", tn)
	}
	se.key = sessionKey(init, isid, c.node.IQN)
	se.nexus = scsi.NewNexus(c.srv.reg, c.srv.cfg.Identity, initiatorPortName(init, isid),
		scsi.Port{NodeID: c.node.ID, TargetName: c.node.IQN})
	return se, nil
}

// security handles AuthMethod and CHAP. done reports the initiator is
// authenticated (or needs not be).
func (c *conn) security(keys []kv, secret string, st *chapState, initiator string) ([]kv, bool, error) {
	var resp []kv
	vals := map[string]string{}
	for _, k := range keys {
		vals[k.k] = k.v
	}
	if m, ok := vals["AuthMethod"]; ok {
		offered := strings.Split(m, ",")
		choice := ""
		for _, o := range offered {
			if o == "CHAP" && secret != "" || o == "None" && secret == "" {
				choice = o
				break
			}
		}
		if choice == "" {
			return nil, false, lerr(loginAuthFailed, "no acceptable AuthMethod in %q", m)
		}
		resp = append(resp, kv{"AuthMethod", choice})
		if choice == "None" {
			return resp, true, nil
		}
	}
	if secret == "" {
		// Declarative keys only (TargetName…): nothing to authenticate.
		return resp, true, nil
	}
	switch st.step {
	case 0:
		a, ok := vals["CHAP_A"]
		if !ok {
			return resp, false, nil
		}
		if !containsItem(a, "5") {
			return nil, false, lerr(loginAuthFailed, "CHAP_A %q: only MD5 (5) supported", a)
		}
		st.challenge = make([]byte, 16)
		if _, err := rand.Read(st.challenge); err != nil {
			return nil, false, lerr(loginTargetErr, "random: %v", err)
		}
		var id [1]byte
		_, _ = rand.Read(id[:])
		st.id = id[0]
		st.step = 1
		resp = append(resp, kv{"CHAP_A", "5"}, kv{"CHAP_I", strconv.Itoa(int(st.id))},
			kv{"CHAP_C", "0x" + hex.EncodeToString(st.challenge)})
		return resp, false, nil
	case 1:
		r, ok := vals["CHAP_R"]
		if !ok || vals["CHAP_N"] == "" {
			return nil, false, lerr(loginAuthFailed, "CHAP_N/CHAP_R missing")
		}
		got, err := decodeBinary(r)
		if err != nil {
			return nil, false, lerr(loginAuthFailed, "CHAP_R malformed")
		}
		h := md5.New()
		h.Write([]byte{st.id})
		h.Write([]byte(secret))
		h.Write(st.challenge)
		if subtle.ConstantTimeCompare(h.Sum(nil), got) != 1 {
			return nil, false, lerr(loginAuthFailed, "CHAP response mismatch for %s", initiator)
		}
		if _, mutual := vals["CHAP_C"]; mutual {
			// The model keeps one secret per host; mutual CHAP needs a second.
			return nil, false, lerr(loginAuthFailed, "mutual CHAP not supported")
		}
		st.step = 2
		return resp, true, nil
	}
	return resp, true, nil
}

func containsItem(list, item string) bool {
	for _, s := range strings.Split(list, ",") {
		if s == item {
			return true
		}
	}
	return false
}

// decodeBinary decodes an iSCSI binary value: 0x hex or 0b base64.
func decodeBinary(v string) ([]byte, error) {
	switch {
	case strings.HasPrefix(v, "0x") || strings.HasPrefix(v, "0X"):
		s := v[2:]
		if len(s)%2 == 1 {
			s = "0" + s
		}
		return hex.DecodeString(s)
	case strings.HasPrefix(v, "0b") || strings.HasPrefix(v, "0B"):
		return base64Decode(v[2:])
	}
	return nil, errors.New("not a binary value")
}

// negotiate answers operational keys (RFC 7143 §13) and records results.
func (c *conn) negotiate(keys []kv) []kv {
	var resp []kv
	yes := func(b bool) string {
		if b {
			return "Yes"
		}
		return "No"
	}
	num := func(v string, def uint64) uint64 {
		n, err := parseNum(v)
		if err != nil {
			return def
		}
		return n
	}
	for _, k := range keys {
		switch k.k {
		case "InitiatorName", "SessionType", "TargetName", "InitiatorAlias", "TargetAlias":
			// declarative, nothing to answer
		case "HeaderDigest", "DataDigest":
			choice := "None"
			for _, o := range strings.Split(k.v, ",") {
				if o == "CRC32C" || o == "None" {
					choice = o
					break
				}
			}
			if k.k == "HeaderDigest" {
				c.pendHdrDigest = choice == "CRC32C"
			} else {
				c.pendDataDigest = choice == "CRC32C"
			}
			resp = append(resp, kv{k.k, choice})
		case "MaxConnections":
			resp = append(resp, kv{k.k, "1"})
		case "InitialR2T":
			c.initialR2T = k.v != "No"
			resp = append(resp, kv{k.k, yes(c.initialR2T)})
		case "ImmediateData":
			c.immediateData = k.v == "Yes"
			resp = append(resp, kv{k.k, yes(c.immediateData)})
		case "MaxRecvDataSegmentLength":
			n := num(k.v, 8192)
			if n < 512 {
				n = 512
			}
			c.maxXmit = int(min(n, 1<<24-1))
			if !c.sentMRDSL {
				resp = append(resp, kv{k.k, strconv.Itoa(c.srv.cfg.MaxRecvDataSegmentLength)})
				c.sentMRDSL = true
			}
		case "MaxBurstLength":
			c.maxBurst = int(min(num(k.v, 262144), ourMaxBurst))
			resp = append(resp, kv{k.k, strconv.Itoa(c.maxBurst)})
		case "FirstBurstLength":
			c.firstBurst = int(min(num(k.v, 65536), ourFirstBurst))
			resp = append(resp, kv{k.k, strconv.Itoa(c.firstBurst)})
		case "DefaultTime2Wait":
			resp = append(resp, kv{k.k, strconv.FormatUint(max(num(k.v, 2), 2), 10)})
		case "DefaultTime2Retain":
			resp = append(resp, kv{k.k, strconv.FormatUint(min(num(k.v, 20), 20), 10)})
		case "MaxOutstandingR2T":
			resp = append(resp, kv{k.k, "1"})
		case "DataPDUInOrder", "DataSequenceInOrder":
			resp = append(resp, kv{k.k, "Yes"})
		case "ErrorRecoveryLevel":
			resp = append(resp, kv{k.k, "0"})
		case "IFMarker", "OFMarker":
			resp = append(resp, kv{k.k, "No"})
		default:
			resp = append(resp, kv{k.k, "NotUnderstood"})
		}
	}
	if !c.sentMRDSL {
		// Declare ours even if the initiator did not declare its own.
		resp = append(resp, kv{"MaxRecvDataSegmentLength", strconv.Itoa(c.srv.cfg.MaxRecvDataSegmentLength)})
		c.sentMRDSL = true
	}
	if c.firstBurst > c.maxBurst {
		c.firstBurst = c.maxBurst
	}
	return resp
}

// loginReject sends a final login response with an error status.
func (c *conn) loginReject(p *PDU, status uint16, format string, a ...any) error {
	r := &PDU{}
	r.BHS[0] = opLoginResp
	r.BHS[1] = p.BHS[1] & 0x0c
	copy(r.BHS[8:14], p.BHS[8:14])
	r.setU32(16, p.itt())
	r.BHS[36], r.BHS[37] = byte(status>>8), byte(status)
	c.expCmdSN.Store(c.cmdSN)
	_ = c.send(r, snAdvance)
	return &loginError{status, fmt.Sprintf(format, a...)}
}

func base64Decode(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
