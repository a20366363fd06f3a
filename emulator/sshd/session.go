package sshd

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
	"k8s.io/klog/v2"
)

type result struct {
	stdout, stderr []byte
	status         int
}

// handleSession runs one exec request: exactly one command per channel, and
// always an exit-status (mcs-cli.md §1.1) unless a fault dropped the link.
func (s *Server) handleSession(sess ssh.Session) {
	line := sess.RawCommand()
	if _, _, isPty := sess.Pty(); isPty {
		// A PTY would merge stderr into stdout and add \r, which breaks
		// both clients' parsers (§1.3, §2.2); refuse rather than corrupt.
		s.refuse(sess, "mcs-emulator: PTY sessions are not supported; run one command per exec without -t\n")
		return
	}
	if line == "" {
		s.refuse(sess, "mcs-emulator: interactive shell is not supported; run one command per exec, e.g. ssh user@array 'mcsinq lssystem -delim !'\n")
		return
	}

	if !s.beginCommand() {
		s.refuse(sess, "mcs-emulator: shutting down; retry on a new connection\n")
		return
	}
	defer s.endCommand()
	name := metricName(line)
	start := time.Now()
	ctx, cancel := context.WithTimeout(sess.Context(), s.cfg.CommandTimeout)
	defer cancel()
	conn, _ := sess.Context().Value(ssh.ContextKeyConn).(gossh.Conn)
	d := &dropper{close: func() error {
		if conn == nil {
			return nil
		}
		return conn.Close()
	}}
	ctx = withDropper(ctx, d)

	done := make(chan result, 1)
	go func() {
		out, errOut, status := s.cfg.Runner.Run(ctx, sess.User(), line)
		done <- result{out, errOut, status}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		// The command may still complete inside the model, as on a real
		// array whose reply is lost; clients must read state back.
		r = result{stderr: []byte(fmt.Sprintf("mcs-emulator: command timed out after %s; it may or may not have taken effect\n",
			s.cfg.CommandTimeout)), status: 1}
	}
	elapsed := time.Since(start)
	s.metrics.duration.WithLabelValues(name).Observe(elapsed.Seconds())
	if d.wasDropped() {
		s.metrics.commands.WithLabelValues(name, "dropped").Inc()
		klog.InfoS("SSH connection dropped by fault injection", "user", sess.User(), "command", name)
		return
	}
	s.metrics.commands.WithLabelValues(name, strconv.Itoa(r.status)).Inc()
	klog.V(2).InfoS("Command", "user", sess.User(), "command", name, "exitStatus", r.status, "duration", elapsed)
	klog.V(4).InfoS("Command line", "line", Redact(line))
	s.reply(sess, r)
}

// refuse answers a session that cannot run a command.
func (s *Server) refuse(sess ssh.Session, msg string) {
	s.metrics.commands.WithLabelValues("refused", "1").Inc()
	s.reply(sess, result{stderr: []byte(msg), status: 1})
}

// reply writes stdout, then stderr, then the exit status. Write errors mean
// the client went away; there is nobody left to tell.
func (s *Server) reply(sess ssh.Session, r result) {
	if len(r.stdout) > 0 {
		if _, err := sess.Write(r.stdout); err != nil && err != io.EOF {
			klog.V(2).InfoS("Writing stdout failed", "err", err)
		}
	}
	if len(r.stderr) > 0 {
		if _, err := sess.Stderr().Write(r.stderr); err != nil && err != io.EOF {
			klog.V(2).InfoS("Writing stderr failed", "err", err)
		}
	}
	if err := sess.Exit(r.status); err != nil {
		klog.V(2).InfoS("Sending exit status failed", "err", err)
	}
}
