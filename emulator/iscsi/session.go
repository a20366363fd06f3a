package iscsi

import (
	"encoding/hex"
	"sort"
	"time"

	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/emulator/scsi"
)

// session is one logged-in iSCSI session (one connection: MaxConnections=1).
type session struct {
	srv       *Server
	key       string
	initiator string
	isid      [6]byte
	tsih      uint16
	node      Node
	discovery bool
	nexus     *scsi.Nexus // nil for discovery sessions
	conn      *conn
	since     time.Time
}

// SessionInfo describes one logged-in normal session (the web console).
type SessionInfo struct {
	Portal    string // local address the initiator connected to
	Target    string
	Initiator string
	Remote    string
	Since     time.Time
}

// SessionList returns the normal (non-discovery) sessions, by portal.
func (s *Server) SessionList() []SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SessionInfo, 0, len(s.sessions))
	for _, se := range s.sessions {
		if se.discovery || se.conn == nil {
			continue
		}
		out = append(out, SessionInfo{Portal: se.conn.nc.LocalAddr().String(), Target: se.node.IQN,
			Initiator: se.initiator, Remote: se.conn.nc.RemoteAddr().String(), Since: se.since})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Portal != out[j].Portal {
			return out[i].Portal < out[j].Portal
		}
		return out[i].Initiator < out[j].Initiator
	})
	return out
}

func sessionKey(initiator string, isid [6]byte, target string) string {
	return initiator + "|" + hex.EncodeToString(isid[:]) + "|" + target
}

// refresh reloads the LUN masking from the model.
func (se *session) refresh() {
	if se.nexus == nil {
		return
	}
	if err := se.nexus.SetLUNs(se.srv.backend.LUNs(se.initiator, se.node.ID)); err != nil {
		klog.ErrorS(err, "iSCSI LUN refresh", "initiator", se.initiator, "node", se.node.Name)
	}
}

// register installs se, reinstating (closing) an older session with the
// same initiator, ISID and target (RFC 7143 §6.3.5).
func (s *Server) register(se *session) bool {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return false
		}
		old := s.sessions[se.key]
		if old == nil {
			s.nextTSIH++
			if s.nextTSIH == 0 {
				s.nextTSIH = 1
			}
			se.tsih = s.nextTSIH
			s.sessions[se.key] = se
			s.mu.Unlock()
			return true
		}
		s.mu.Unlock()
		klog.InfoS("iSCSI session reinstatement", "initiator", se.initiator, "target", se.node.IQN)
		old.conn.nc.Close()
		select {
		case <-old.conn.done:
		case <-time.After(10 * time.Second):
			return false
		}
	}
}

func (s *Server) unregister(se *session) {
	s.mu.Lock()
	if s.sessions[se.key] == se {
		delete(s.sessions, se.key)
	}
	s.mu.Unlock()
}

// forEachConn runs f on every full-feature connection (task management
// scopes resets across sessions).
func (s *Server) forEachConn(f func(*conn)) {
	s.mu.Lock()
	var cs []*conn
	for _, se := range s.sessions {
		cs = append(cs, se.conn)
	}
	s.mu.Unlock()
	for _, c := range cs {
		f(c)
	}
}
