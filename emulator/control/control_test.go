package control

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/instorage-csi/instorage-csi/emulator/fault"
)

type fakeArray struct {
	online map[string]bool
	free   map[string]int64
}

func (f *fakeArray) SetNodeStatus(n string, online bool) error {
	if n != "node1" && n != "node2" {
		return errors.New("no node " + n)
	}
	f.online[n] = online
	return nil
}

func (f *fakeArray) SetPoolFree(p string, b int64) error {
	if p != "Pool0" {
		return errors.New("no pool " + p)
	}
	f.free[p] = b
	return nil
}

func start(t *testing.T, token string) (*Client, *fault.Injector, *fakeArray) {
	in := fault.NewInjector()
	arr := &fakeArray{online: map[string]bool{}, free: map[string]int64{}}
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "mcs_emulator_test_total", Help: "x"})
	reg.MustRegister(c)
	srv := httptest.NewServer(NewHandler(Config{Injector: in, Array: arr, Gatherer: reg, Token: token,
		Info: func() Info { return Info{SSHAddr: "127.0.0.1:2222", HostKeyFingerprint: "SHA256:x"} }}))
	t.Cleanup(srv.Close)
	return &Client{BaseURL: srv.URL, Token: token}, in, arr
}

func TestFaultsLifecycle(t *testing.T) {
	ctx := context.Background()
	c, in, _ := start(t, "")
	id, err := c.AddFault(ctx, fault.Rule{Command: "mkvdisk", Error: "CMMVC6035E", Times: 1})
	if err != nil || id == "" {
		t.Fatalf("add: %q %v", id, err)
	}
	if _, err := c.AddFault(ctx, fault.Rule{Command: "mkvdisk"}); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("invalid rule accepted: %v", err)
	}
	l, err := c.ListFaults(ctx)
	if err != nil || len(l) != 1 || l[0].ID != id || len(in.List()) != 1 {
		t.Fatalf("list %+v %v", l, err)
	}
	if err := c.RemoveFault(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveFault(ctx, id); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("second remove: %v", err)
	}
	c.AddFault(ctx, fault.Rule{Drop: true})
	c.AddFault(ctx, fault.Rule{Drop: true})
	if err := c.ClearFaults(ctx); err != nil || len(in.List()) != 0 {
		t.Fatalf("clear: %v, %d left", err, len(in.List()))
	}
}

func TestNodeAndPool(t *testing.T) {
	ctx := context.Background()
	c, _, arr := start(t, "")
	if err := c.SetNodeOnline(ctx, "node2", false); err != nil || arr.online["node2"] {
		t.Fatalf("node: %v %+v", err, arr)
	}
	if err := c.SetNodeOnline(ctx, "node9", false); err == nil {
		t.Fatal("unknown node accepted")
	}
	if err := c.SetPoolFree(ctx, "Pool0", 0); err != nil || arr.free["Pool0"] != 0 {
		t.Fatalf("pool: %v", err)
	}
}

func TestTokenRequired(t *testing.T) {
	ctx := context.Background()
	c, _, _ := start(t, "tok")
	if !c.Healthy(ctx) {
		t.Fatal("healthz must not need the token")
	}
	if _, err := c.Info(ctx); err != nil {
		t.Fatal(err)
	}
	anon := &Client{BaseURL: c.BaseURL}
	if !anon.Healthy(ctx) {
		t.Fatal("healthz refused without token")
	}
	if _, err := anon.ListFaults(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("no token: %v", err)
	}
	wrong := &Client{BaseURL: c.BaseURL, Token: "tok2"}
	if err := wrong.ClearFaults(ctx); err == nil {
		t.Fatal("wrong token accepted")
	}
}

func TestInfoAndMetrics(t *testing.T) {
	ctx := context.Background()
	c, _, _ := start(t, "")
	i, err := c.Info(ctx)
	if err != nil || i.HostKeyFingerprint != "SHA256:x" {
		t.Fatalf("%+v %v", i, err)
	}
	resp, err := http.Get(c.BaseURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "mcs_emulator_test_total 0") {
		t.Fatalf("metrics: %d %q", resp.StatusCode, body)
	}
}

func TestMutationsNeedJSONContentType(t *testing.T) {
	c, in, _ := start(t, "")
	resp, err := http.Post(c.BaseURL+"/faults", "text/plain", strings.NewReader(`{"drop":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || len(in.List()) != 0 {
		t.Fatalf("text/plain POST: %s, %d rules", resp.Status, len(in.List()))
	}
}
