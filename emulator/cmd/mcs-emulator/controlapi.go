package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/emulator/config"
	"github.com/instorage-csi/instorage-csi/emulator/control"
)

// controlServer is the running control API; the zero value means "off".
type controlServer struct {
	addr string
	done <-chan error // never fires when off
	srv  *http.Server
}

// startControl serves the control API on addr unless it is "off".
func startControl(addr, token string, cfg control.Config) (*controlServer, error) {
	if addr == "off" {
		return &controlServer{}, nil
	}
	srv := &http.Server{Handler: control.NewHandler(cfg), ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("control API: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			return // a clean shutdown is not a failure to report
		}
		done <- err
	}()
	klog.InfoS("Control API listening", "addr", ln.Addr().String(), "token", token != "")
	return &controlServer{addr: ln.Addr().String(), done: done, srv: srv}, nil
}

func (c *controlServer) shutdown(ctx context.Context) {
	if c.srv != nil {
		_ = c.srv.Shutdown(ctx)
	}
}

func orOff(s string) string {
	if s == "" {
		return "off"
	}
	return s
}

// controlToken reads control.tokenFile; a non-loopback control API without
// one is refused, since it can change array state.
func controlToken(c *config.Config) (string, error) {
	if c.Control.Addr == "off" {
		return "", nil
	}
	if c.Control.TokenFile == "" {
		if !config.IsLoopback(c.Control.Addr) {
			return "", fmt.Errorf("control API on %s needs control.tokenFile (or listen on loopback)", c.Control.Addr)
		}
		return "", nil
	}
	b, err := os.ReadFile(c.Control.TokenFile)
	if err != nil {
		return "", fmt.Errorf("control token: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("control token file %s is empty", c.Control.TokenFile)
	}
	return t, nil
}
