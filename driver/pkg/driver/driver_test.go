package driver

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func TestOptionsValidate(t *testing.T) {
	good := Options{Endpoint: "unix:///csi/csi.sock", Mode: ModeController, DriverName: DefaultDriverName, ConfigPath: "/etc/x.yaml"}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid options rejected: %v", err)
	}
	cases := map[string]func(o *Options){
		"bad mode":               func(o *Options) { o.Mode = "both" },
		"node mode without node": func(o *Options) { o.Mode = ModeNodeWorker },
		"all-in-one without node": func(o *Options) {
			o.Mode = ModeAllInOne
		},
		"http endpoint":  func(o *Options) { o.Endpoint = "http://x" },
		"empty endpoint": func(o *Options) { o.Endpoint = "unix://" },
		"no driver name": func(o *Options) { o.DriverName = "" },
		"bad host exec":  func(o *Options) { o.HostExec = "ssh" },
		"negative limit": func(o *Options) { o.MaxVolumesPerNode = -1 },
	}
	for name, mutate := range cases {
		o := good
		mutate(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("%s: accepted %+v", name, o)
		}
	}
}

func TestParseEndpoint(t *testing.T) {
	for in, want := range map[string][2]string{
		"unix:///csi/csi.sock": {"unix", "/csi/csi.sock"},
		"unix:/tmp/a.sock":     {"unix", "/tmp/a.sock"},
		"tcp://127.0.0.1:9000": {"tcp", "127.0.0.1:9000"},
	} {
		n, a, err := ParseEndpoint(in)
		if err != nil || n != want[0] || a != want[1] {
			t.Errorf("ParseEndpoint(%q) = %q %q %v", in, n, a, err)
		}
	}
}

type fakeProber struct{ err error }

func (f *fakeProber) Probe(context.Context) error { return f.err }

type stubController struct {
	csi.UnimplementedControllerServer
}

// Identity over a real socket: plugin info, capabilities by mode, and a
// Probe that follows the array's reachability; SIGTERM-style stop returns.
func TestIdentity_OverSocket(t *testing.T) {
	p := &fakeProber{}
	d := New(Config{Name: "csi-instorage", Version: "t", Controller: stubController{}, Prober: p})
	sock := filepath.Join(t.TempDir(), "csi.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx, "unix://"+sock, time.Second) }()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	id := csi.NewIdentityClient(conn)
	// The socket appears once Serve listens. WaitForReady rides out the
	// channel's reconnect backoff; a retry loop of fail-fast calls did not
	// (after one refused dial the channel backs off ~1 s and every call in
	// that window fails at once).
	readyCtx, readyCancel := context.WithTimeout(ctx, 10*time.Second)
	defer readyCancel()
	info, err := id.GetPluginInfo(readyCtx, &csi.GetPluginInfoRequest{}, grpc.WaitForReady(true))
	if err != nil || info.Name != "csi-instorage" {
		t.Fatalf("GetPluginInfo: %v %v", info, err)
	}
	caps, err := id.GetPluginCapabilities(ctx, &csi.GetPluginCapabilitiesRequest{})
	if err != nil || !strings.Contains(caps.String(), "CONTROLLER_SERVICE") || !strings.Contains(caps.String(), "ONLINE") {
		t.Fatalf("capabilities %v %v", caps, err)
	}
	if r, err := id.Probe(ctx, &csi.ProbeRequest{}); err != nil || !r.GetReady().GetValue() {
		t.Fatalf("probe with array up: %v %v", r, err)
	}
	p.err = errors.New("dial tcp: connection refused")
	if r, err := id.Probe(ctx, &csi.ProbeRequest{}); err != nil || r.GetReady().GetValue() {
		t.Fatalf("probe with array down: %v %v", r, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server did not stop")
	}
	if _, err := net.Dial("unix", sock); err == nil {
		t.Fatal("still accepting after stop")
	}
}
