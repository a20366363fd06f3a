package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// fakeIdentity is a CSI driver's identity service with a settable Probe answer.
type fakeIdentity struct {
	csi.UnimplementedIdentityServer
	ready *wrapperspb.BoolValue
}

func (f *fakeIdentity) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: "csi-instorage", VendorVersion: "test"}, nil
}

func (f *fakeIdentity) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{Ready: f.ready}, nil
}

func startDriver(t *testing.T, id *fakeIdentity) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "csi.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	csi.RegisterIdentityServer(g, id)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	return sock
}

func TestRegistrar_GetInfoReportsDriverAndKubeletPath_SocketRemovedOnStop(t *testing.T) {
	csiSock := startDriver(t, &fakeIdentity{})
	regDir := t.TempDir()
	o := registrarOptions{CSIAddress: csiSock, KubeletRegistrationPath: "/var/lib/kubelet/plugins/csi-instorage/csi.sock",
		PluginRegistrationPath: regDir, Timeout: time.Second}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runRegistrar(ctx, o) }()

	regSock := filepath.Join(regDir, "csi-instorage-reg.sock")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(regSock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("registration socket %s never appeared", regSock)
		}
		time.Sleep(20 * time.Millisecond)
	}
	conn, err := grpc.NewClient("unix://"+regSock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ccancel()
	info, err := registerapi.NewRegistrationClient(conn).GetInfo(cctx, &registerapi.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != registerapi.CSIPlugin || info.Name != "csi-instorage" || info.Endpoint != o.KubeletRegistrationPath {
		t.Fatalf("GetInfo = %+v", info)
	}
	if _, err := registerapi.NewRegistrationClient(conn).NotifyRegistrationStatus(cctx, &registerapi.RegistrationStatus{PluginRegistered: true}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("runRegistrar after stop: %v", err)
	}
	if _, err := os.Stat(regSock); !os.IsNotExist(err) {
		t.Fatalf("registration socket left behind: %v", err)
	}
}

func TestRegistrar_KubeletRejection_Exits(t *testing.T) {
	csiSock := startDriver(t, &fakeIdentity{})
	regDir := t.TempDir()
	o := registrarOptions{CSIAddress: csiSock, KubeletRegistrationPath: "/x/csi.sock", PluginRegistrationPath: regDir, Timeout: time.Second}
	done := make(chan error, 1)
	go func() { done <- runRegistrar(context.Background(), o) }()
	regSock := filepath.Join(regDir, "csi-instorage-reg.sock")
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(regSock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	conn, err := grpc.NewClient("unix://"+regSock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = registerapi.NewRegistrationClient(conn).NotifyRegistrationStatus(context.Background(),
		&registerapi.RegistrationStatus{PluginRegistered: false, Error: "version mismatch"})
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("runRegistrar returned nil after kubelet rejected the plugin")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runRegistrar kept running after kubelet rejected the plugin")
	}
}

// The registrar usually starts before the driver has made its socket.
func TestRegistrar_DriverStartsLater_RegistersWithinSeconds(t *testing.T) {
	dir := t.TempDir()
	csiSock := filepath.Join(dir, "csi.sock")
	regDir := t.TempDir()
	o := registrarOptions{CSIAddress: csiSock, KubeletRegistrationPath: "/x/csi.sock", PluginRegistrationPath: regDir, Timeout: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = runRegistrar(ctx, o) }()
	time.Sleep(20 * time.Second) // long enough for grpc's default backoff to exceed 10s
	lis, err := net.Listen("unix", csiSock)
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	csi.RegisterIdentityServer(g, &fakeIdentity{})
	go func() { _ = g.Serve(lis) }()
	defer g.Stop()
	start := time.Now()
	for time.Since(start) < 8*time.Second {
		if _, err := os.Stat(filepath.Join(regDir, "csi-instorage-reg.sock")); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("registrar did not pick up a driver that started 20s after it within 8s")
}

func TestRegistrarOptions_Validate_RejectsMissingOrRelativePath(t *testing.T) {
	for _, p := range []string{"", "plugins/csi.sock"} {
		o := registrarOptions{KubeletRegistrationPath: p}
		if o.Validate() == nil {
			t.Errorf("Validate accepted kubelet registration path %q", p)
		}
	}
}

func TestLivenessProbe_StatusFollowsDriverProbe(t *testing.T) {
	cases := []struct {
		name  string
		ready *wrapperspb.BoolValue
		want  int
	}{
		{"ready unset means ready", nil, http.StatusOK},
		{"ready true", wrapperspb.Bool(true), http.StatusOK},
		{"ready false", wrapperspb.Bool(false), http.StatusInternalServerError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := dialCSI(startDriver(t, &fakeIdentity{ready: c.ready}))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			rec := httptest.NewRecorder()
			(&probeHandler{conn: conn, timeout: 5 * time.Second}).ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
			if rec.Code != c.want {
				t.Fatalf("status %d, want %d (%s)", rec.Code, c.want, rec.Body.String())
			}
		})
	}
}

func TestLivenessProbe_DriverGone_Fails(t *testing.T) {
	conn, err := dialCSI(filepath.Join(t.TempDir(), "absent.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rec := httptest.NewRecorder()
	(&probeHandler{conn: conn, timeout: 500 * time.Millisecond}).ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d with no driver, want 500", rec.Code)
	}
}
