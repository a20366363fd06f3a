package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"k8s.io/klog/v2"
)

// probeOptions mirror livenessprobe's flags of the same names.
type probeOptions struct {
	CSIAddress   string
	HealthPort   int
	HTTPEndpoint string
	ProbeTimeout time.Duration
}

func (o *probeOptions) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.CSIAddress, "csi-address", "/run/csi/socket", "CSI driver socket")
	fs.IntVar(&o.HealthPort, "health-port", 9808, "TCP port for /healthz (ignored when --http-endpoint is set)")
	fs.StringVar(&o.HTTPEndpoint, "http-endpoint", "", "address for /healthz, e.g. :9808")
	fs.DurationVar(&o.ProbeTimeout, "probe-timeout", time.Second, "timeout of each CSI Probe call")
}

func (o *probeOptions) Validate() error {
	if o.HTTPEndpoint == "" && (o.HealthPort <= 0 || o.HealthPort > 65535) {
		return fmt.Errorf("--health-port %d out of range", o.HealthPort)
	}
	if o.ProbeTimeout <= 0 {
		return errors.New("--probe-timeout must be positive")
	}
	return nil
}

func (o *probeOptions) address() string {
	if o.HTTPEndpoint != "" {
		return o.HTTPEndpoint
	}
	return net.JoinHostPort("", strconv.Itoa(o.HealthPort))
}

// probeHandler answers /healthz with the driver's own Probe result; the
// connection is long-lived and reconnects by itself, so a restarted driver
// becomes healthy again without restarting the probe.
type probeHandler struct {
	conn    *grpc.ClientConn
	timeout time.Duration
}

func (h *probeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	ready, err := probe(ctx, h.conn)
	switch {
	case err != nil:
		klog.ErrorS(err, "Health check failed")
		http.Error(w, err.Error(), http.StatusInternalServerError)
	case !ready:
		http.Error(w, "driver responded but is not ready", http.StatusInternalServerError)
	default:
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ok"))
	}
}

func runLivenessProbe(ctx context.Context, o probeOptions) error {
	conn, err := dialCSI(o.CSIAddress)
	if err != nil {
		return fmt.Errorf("CSI driver at %s: %w", o.CSIAddress, err)
	}
	defer conn.Close()
	mux := http.NewServeMux()
	mux.Handle("/healthz", &probeHandler{conn: conn, timeout: o.ProbeTimeout})
	srv := &http.Server{Addr: o.address(), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	klog.InfoS("Serving liveness probe", "address", srv.Addr, "csiAddress", o.CSIAddress)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
