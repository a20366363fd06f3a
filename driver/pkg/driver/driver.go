// Package driver wires the CSI services into one gRPC server: Identity
// always, Controller and Node as the mode asks, with request logging
// (secrets stripped) and per-RPC metrics on every call.
package driver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/kubernetes-csi/csi-lib-utils/metrics"
	"github.com/kubernetes-csi/csi-lib-utils/protosanitizer"
	"google.golang.org/grpc"
	"k8s.io/klog/v2"
)

// Config is what a Driver serves.
type Config struct {
	Name, Version string
	// Controller and Node are nil when the mode does not run them.
	Controller csi.ControllerServer
	Node       csi.NodeServer
	Prober     Prober
	// Topology advertises VOLUME_ACCESSIBILITY_CONSTRAINTS.
	Topology bool
	// Metrics records per-RPC counts and latency; nil disables it.
	Metrics metrics.CSIMetricsManager
}

// Driver is a configured, not yet listening, CSI server.
type Driver struct {
	cfg    Config
	server *grpc.Server
}

// New builds the gRPC server and registers the services.
func New(cfg Config) *Driver {
	d := &Driver{cfg: cfg}
	d.server = grpc.NewServer(grpc.UnaryInterceptor(d.intercept))
	csi.RegisterIdentityServer(d.server, &identityServer{
		name: cfg.Name, version: cfg.Version, controller: cfg.Controller != nil, topology: cfg.Topology, prober: cfg.Prober,
	})
	if cfg.Controller != nil {
		csi.RegisterControllerServer(d.server, cfg.Controller)
	}
	if cfg.Node != nil {
		csi.RegisterNodeServer(d.server, cfg.Node)
	}
	return d
}

// intercept logs each call with secrets stripped and records its metrics.
func (d *Driver) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	klog.V(3).InfoS("GRPC call", "method", info.FullMethod, "request", protosanitizer.StripSecrets(req))
	resp, err := handler(ctx, req)
	if d.cfg.Metrics != nil {
		d.cfg.Metrics.RecordMetrics(info.FullMethod, err, time.Since(start))
	}
	if err != nil {
		klog.ErrorS(err, "GRPC error", "method", info.FullMethod, "duration", time.Since(start))
	} else {
		klog.V(4).InfoS("GRPC response", "method", info.FullMethod, "response", protosanitizer.StripSecrets(resp), "duration", time.Since(start))
	}
	return resp, err
}

// Serve listens on endpoint and serves until ctx ends, then stops
// gracefully: calls in progress finish (bounded by grace), new ones are
// refused.
func (d *Driver) Serve(ctx context.Context, endpoint string, grace time.Duration) error {
	network, addr, err := ParseEndpoint(endpoint)
	if err != nil {
		return err
	}
	if network == "unix" {
		if err := os.Remove(addr); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing stale socket %s: %w", addr, err)
		}
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", endpoint, err)
	}
	return d.ServeListener(ctx, l, grace)
}

// ServeListener serves on an existing listener (tests use it).
func (d *Driver) ServeListener(ctx context.Context, l net.Listener, grace time.Duration) error {
	klog.InfoS("Serving CSI", "driver", d.cfg.Name, "address", l.Addr().String(),
		"controller", d.cfg.Controller != nil, "node", d.cfg.Node != nil)
	errc := make(chan error, 1)
	go func() { errc <- d.server.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	klog.InfoS("Stopping CSI server", "grace", grace)
	done := make(chan struct{})
	go func() { d.server.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		klog.InfoS("Grace period over; cancelling calls in progress")
		d.server.Stop()
	}
	return nil
}
