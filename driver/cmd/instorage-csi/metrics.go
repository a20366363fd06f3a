package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/kubernetes-csi/csi-lib-utils/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/driver"
)

// startMetrics builds the per-RPC metrics manager and the array command
// metrics, and serves both on --metrics-addr when it is set.
func startMetrics(opts driver.Options) (metrics.CSIMetricsManager, *array.Metrics, func(), error) {
	reg := prometheus.NewRegistry()
	am, err := array.NewMetrics(reg)
	if err != nil {
		return nil, nil, nil, err
	}
	mm := metrics.NewCSIMetricsManagerForPlugin(opts.DriverName).WithAdditionalRegistry(reg)
	if opts.MetricsAddr == "" {
		return mm, am, func() {}, nil
	}
	mux := http.NewServeMux()
	mm.RegisterToServer(mux, "/metrics")
	l, err := net.Listen("tcp", opts.MetricsAddr)
	if err != nil {
		return nil, nil, nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			klog.ErrorS(err, "Metrics server stopped")
		}
	}()
	klog.InfoS("Serving metrics", "address", l.Addr().String())
	return mm, am, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
