package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	"k8s.io/klog/v2"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// registrarOptions mirror node-driver-registrar's flags of the same names.
type registrarOptions struct {
	CSIAddress              string
	KubeletRegistrationPath string
	PluginRegistrationPath  string
	HTTPEndpoint            string
	Timeout                 time.Duration
}

func (o *registrarOptions) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.CSIAddress, "csi-address", "/run/csi/socket", "CSI driver socket inside this container")
	fs.StringVar(&o.KubeletRegistrationPath, "kubelet-registration-path", "", "CSI driver socket as kubelet sees it on the host")
	fs.StringVar(&o.PluginRegistrationPath, "plugin-registration-path", "/registration", "kubelet's plugins_registry directory inside this container")
	fs.StringVar(&o.HTTPEndpoint, "http-endpoint", "", "address for /healthz (reports whether kubelet accepted the registration); empty disables")
	fs.DurationVar(&o.Timeout, "timeout", time.Second, "timeout of each call to the CSI driver")
}

func (o *registrarOptions) Validate() error {
	if o.KubeletRegistrationPath == "" {
		return errors.New("--kubelet-registration-path is required")
	}
	if !filepath.IsAbs(o.KubeletRegistrationPath) {
		return fmt.Errorf("--kubelet-registration-path %q must be absolute", o.KubeletRegistrationPath)
	}
	return nil
}

// registrationServer answers kubelet's plugin watcher. Kubelet reports the
// outcome through NotifyRegistrationStatus; a rejection is fatal, as in the
// upstream registrar, so the container restarts and tries again.
type registrationServer struct {
	registerapi.UnimplementedRegistrationServer
	driverName string
	endpoint   string
	registered chan struct{}
	failed     chan error
}

func (s *registrationServer) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	return &registerapi.PluginInfo{
		Type:              registerapi.CSIPlugin,
		Name:              s.driverName,
		Endpoint:          s.endpoint,
		SupportedVersions: []string{"1.0.0"},
	}, nil
}

func (s *registrationServer) NotifyRegistrationStatus(_ context.Context, st *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	if st.PluginRegistered {
		klog.InfoS("Registered with kubelet", "driver", s.driverName)
		select {
		case s.registered <- struct{}{}:
		default:
		}
	} else {
		select {
		case s.failed <- fmt.Errorf("kubelet rejected registration of %s: %s", s.driverName, st.Error):
		default:
		}
	}
	return &registerapi.RegistrationStatusResponse{}, nil
}

func runRegistrar(ctx context.Context, o registrarOptions) error {
	conn, err := dialCSI(o.CSIAddress)
	if err != nil {
		return fmt.Errorf("CSI driver at %s: %w", o.CSIAddress, err)
	}
	defer conn.Close()
	// The driver may start after us: retry GetPluginInfo until it answers or we are stopped.
	var name string
	for {
		callCtx, cancel := context.WithTimeout(ctx, o.Timeout)
		name, err = driverName(callCtx, conn)
		cancel()
		if err == nil {
			break
		}
		klog.InfoS("Waiting for the CSI driver", "address", o.CSIAddress, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("GetPluginInfo from %s: %w", o.CSIAddress, err)
		case <-time.After(2 * time.Second):
		}
	}
	return serveRegistration(ctx, o, name)
}

// serveRegistration listens on <registry>/<driver>-reg.sock until ctx ends.
func serveRegistration(ctx context.Context, o registrarOptions, driverName string) error {
	sock := filepath.Join(o.PluginRegistrationPath, driverName+"-reg.sock")
	if err := os.Remove(sock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale %s: %w", sock, err)
	}
	lis, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", sock, err)
	}
	// Kubelet's watcher ignores the socket once it is gone, so take it away on exit.
	defer os.Remove(sock)

	srv := &registrationServer{driverName: driverName, endpoint: o.KubeletRegistrationPath,
		registered: make(chan struct{}, 1), failed: make(chan error, 1)}
	g := grpc.NewServer()
	registerapi.RegisterRegistrationServer(g, srv)
	serveErr := make(chan error, 1)
	go func() { serveErr <- g.Serve(lis) }()
	klog.InfoS("Serving plugin registration", "socket", sock, "driver", driverName, "endpoint", o.KubeletRegistrationPath)

	var health *http.Server
	healthy := make(chan struct{})
	if o.HTTPEndpoint != "" {
		health = &http.Server{Addr: o.HTTPEndpoint, ReadHeaderTimeout: 5 * time.Second,
			Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				select {
				case <-healthy:
					w.WriteHeader(http.StatusOK)
				default:
					http.Error(w, "not registered with kubelet yet", http.StatusServiceUnavailable)
				}
			})}
		go func() {
			if err := health.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				klog.ErrorS(err, "Health endpoint stopped", "address", o.HTTPEndpoint)
			}
		}()
		defer health.Close()
	}

	for {
		select {
		case <-ctx.Done():
			g.GracefulStop()
			return nil
		case err := <-serveErr:
			return fmt.Errorf("registration server: %w", err)
		case err := <-srv.failed:
			g.Stop()
			return err
		case <-srv.registered:
			select {
			case <-healthy:
			default:
				close(healthy)
			}
		}
	}
}
