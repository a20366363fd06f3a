package iscsi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/emulator/scsi"
)

// DefaultPort is the iSCSI portal port; the array always uses 3260
// (mcs-cli.md §3.3).
const DefaultPort = 3260

// Node is one array node (canister) as the target serves it.
type Node struct {
	ID   int    // lsnode id: ALUA target port group and relative port id
	Name string // lsnode name
	IQN  string // lsnode iscsi_name: iqn.2004-12.com.inspur:mcs.<cluster>.<node>
	// Portals are the node's iSCSI IP addresses (lsportip IP_address).
	Portals []string
	// Offline nodes refuse logins and drop their sessions (path down).
	Offline bool
}

// Backend is what the target needs from the array model.
type Backend interface {
	// Nodes lists the online nodes with their target IQNs and portals.
	Nodes() []Node
	// LUNs returns the vdisks mapped to the host holding initiatorIQN, as
	// seen through node nodeID, at their SCSI LUNs.
	LUNs(initiatorIQN string, nodeID int) []scsi.LUNInfo
	// CHAPSecret returns the CHAP secret of the host that holds
	// initiatorIQN; "" means CHAP is not required.
	CHAPSecret(initiatorIQN string) string
	// Subscribe signals any change of mappings, hosts or capacities. The
	// cancel func releases the subscription.
	Subscribe() (<-chan struct{}, func())
}

// Config tunes the target. The zero value serves INSPUR/MCS on port 3260.
type Config struct {
	Port     int           // default 3260
	Identity scsi.Identity // INQUIRY vendor/product/revision
	// Advertise rewrites portal addresses in SendTargets answers, keyed by
	// "ip:port" as listened on, e.g. "127.0.0.1:3260" -> "10.0.2.100:3260"
	// for a VM reaching the emulator through a port forward.
	Advertise map[string]string
	// MaxRecvDataSegmentLength we declare (default 256 KiB).
	MaxRecvDataSegmentLength int
	// LoginTimeout bounds the whole login phase (default 15s).
	LoginTimeout time.Duration
}

func (c *Config) defaults() {
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.Identity.Vendor == "" {
		c.Identity.Vendor = "INSPUR"
	}
	if c.Identity.Product == "" {
		c.Identity.Product = "MCS"
	}
	if c.Identity.Revision == "" {
		c.Identity.Revision = "0001"
	}
	if c.MaxRecvDataSegmentLength == 0 {
		c.MaxRecvDataSegmentLength = 256 << 10
	}
	if c.LoginTimeout == 0 {
		c.LoginTimeout = 15 * time.Second
	}
}

// Server is the array's iSCSI target: every portal of every node.
type Server struct {
	cfg     Config
	backend Backend
	reg     *scsi.Registry

	mu        sync.Mutex
	listeners []net.Listener
	conns     map[*conn]struct{}
	sessions  map[string]*session // initiator name + ISID + target IQN
	nextTSIH  uint16
	closed    bool
	wg        sync.WaitGroup
}

// NewServer builds a target over backend; ListenAndServe starts it.
func NewServer(cfg Config, backend Backend) *Server {
	cfg.defaults()
	return &Server{cfg: cfg, backend: backend, reg: scsi.NewRegistry(),
		conns: map[*conn]struct{}{}, sessions: map[string]*session{}}
}

// Listen binds every portal of every node; Serve then accepts. Split so a
// caller knows the portals are bound before it starts initiators.
func (s *Server) Listen() error {
	for _, n := range s.backend.Nodes() {
		for _, ip := range n.Portals {
			addr := net.JoinHostPort(ip, strconv.Itoa(s.cfg.Port))
			l, err := net.Listen("tcp", addr)
			if err != nil {
				s.Close()
				return fmt.Errorf("iscsi portal %s of node %s: %w", addr, n.Name, err)
			}
			s.mu.Lock()
			s.listeners = append(s.listeners, l)
			s.mu.Unlock()
			klog.InfoS("iSCSI portal listening", "node", n.Name, "target", n.IQN, "portal", addr)
		}
	}
	return nil
}

// Addrs returns the bound portal addresses (tests use port 0).
func (s *Server) Addrs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range s.listeners {
		out = append(out, l.Addr().String())
	}
	return out
}

// ListenAndServe binds the portals and serves until ctx ends or Close.
func (s *Server) ListenAndServe(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	return s.Serve(ctx)
}

// Serve accepts on the bound portals until ctx ends or Close is called.
func (s *Server) Serve(ctx context.Context) error {
	events, cancel := s.backend.Subscribe()
	defer cancel()
	s.mu.Lock()
	ls := append([]net.Listener(nil), s.listeners...)
	s.mu.Unlock()
	errc := make(chan error, len(ls))
	for _, l := range ls {
		s.wg.Add(1)
		go func(l net.Listener) {
			defer s.wg.Done()
			errc <- s.accept(l)
		}(l)
	}
	for {
		select {
		case <-ctx.Done():
			s.Close()
			return nil
		case err := <-errc:
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			s.Close()
			return err
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			s.refreshAll()
		}
	}
}

func (s *Server) accept(l net.Listener) error {
	for {
		nc, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		node, ok := s.nodeForAddr(nc.LocalAddr())
		if !ok {
			nc.Close()
			continue
		}
		c := newConn(s, nc, node)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// nodeForAddr maps the local address a connection arrived on to its node.
func (s *Server) nodeForAddr(a net.Addr) (Node, bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return Node{}, false
	}
	for _, n := range s.backend.Nodes() {
		for _, ip := range n.Portals {
			if pip := net.ParseIP(ip); pip != nil && pip.Equal(ta.IP) {
				return n, !n.Offline
			}
		}
	}
	return Node{}, false
}

// advertised is the address SendTargets reports for a portal.
func (s *Server) advertised(ip string) string {
	addr := net.JoinHostPort(ip, strconv.Itoa(s.cfg.Port))
	if a, ok := s.cfg.Advertise[addr]; ok {
		return a
	}
	if a, ok := s.cfg.Advertise[ip]; ok {
		return a
	}
	return addr
}

// refreshAll re-reads the masking view for every session and drops the
// sessions of nodes that went offline.
func (s *Server) refreshAll() {
	up := map[int]bool{} // a node missing from Nodes() counts as offline
	for _, n := range s.backend.Nodes() {
		up[n.ID] = !n.Offline
	}
	s.mu.Lock()
	sess := make([]*session, 0, len(s.sessions))
	for _, se := range s.sessions {
		sess = append(sess, se)
	}
	s.mu.Unlock()
	for _, se := range sess {
		if !up[se.node.ID] {
			klog.InfoS("iSCSI node offline: dropping session", "node", se.node.Name, "initiator", se.initiator)
			se.conn.nc.Close()
			continue
		}
		se.refresh()
	}
}

// Close stops listening, drops every connection and waits for them.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for _, l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Sessions reports the number of logged-in sessions (tests, metrics).
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Quiesce blocks writes to the data files at paths until resume is called;
// it implements model.Quiescer (arr.SetQuiescer(srv)) so LocalCopy copies
// a point-in-time image.
func (s *Server) Quiesce(paths []string) (resume func()) { return s.reg.Quiesce(paths) }

// OpenDevices reports how many vdisk files are open (leak tests).
func (s *Server) OpenDevices() int { return s.reg.Open() }
