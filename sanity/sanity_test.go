package sanity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/kubernetes-csi/csi-test/v5/pkg/sanity"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
	"github.com/instorage-csi/instorage-csi/driver/pkg/controller"
	"github.com/instorage-csi/instorage-csi/driver/pkg/driver"
	"github.com/instorage-csi/instorage-csi/driver/pkg/volumeid"
	"github.com/instorage-csi/instorage-csi/sanity/harness"
)

// Set these to test a running binary instead of the in-process driver:
//
//	INSTORAGE_SANITY_CONTROLLER=unix:///run/csi.sock INSTORAGE_SANITY_STORAGE=storage-01 go test ./sanity/
const (
	envController = "INSTORAGE_SANITY_CONTROLLER"
	envStorage    = "INSTORAGE_SANITY_STORAGE"
)

// idStorage is the storage name in generated volume IDs.
var idStorage = storageName

const (
	storageName = "emu"
	// sanityNode is the node the Controller tests publish to: an iSCSI
	// initiator the controller turns into an array host object.
	sanityNode = "sanity-node-1;iqn=iqn.2026-01.io.instorage.sanity:node1"
)

// TestSanity runs csi-test's Identity and Controller suites against the
// driver and a fresh emulated array. Node tests need a kernel initiator and
// run in the VM suite instead (see README.md).
func TestSanity(t *testing.T) {
	if err := flag.Set("ginkgo.skip", `Node Service|should work with a volume attribute class`); err != nil {
		t.Fatalf("setting ginkgo.skip: %v", err)
	}
	cfg := sanity.NewTestConfig()
	if ep := os.Getenv(envController); ep != "" {
		// An instorage-csi binary already running (mode controller) against
		// an array: test it; the stand-in node answers NodeGetInfo.
		storage := os.Getenv(envStorage)
		if storage == "" {
			t.Fatalf("%s needs %s (the storage[].name it serves)", envController, envStorage)
		}
		idStorage = storage
		cfg.ControllerAddress = ep
		cfg.Address = serve(t, driver.New(driver.Config{Name: "csi-instorage", Version: "sanity", Node: nodeInfoOnly{}}))
	} else {
		emu := harness.Start(t, harness.Options{SSH: true})
		cfg.Address = startDriver(t, emu.Client)
	}
	dir := t.TempDir()
	cfg.TargetPath = filepath.Join(dir, "target")
	cfg.StagingPath = filepath.Join(dir, "staging")
	cfg.TestVolumeSize = 1 << 30
	cfg.TestVolumeParameters = map[string]string{"volPoolName": "Pool0", "volThin": "true"}
	cfg.IDGen = idGen{}
	cfg.IdempotentCount = 3
	sanity.Test(t, cfg)
}

// startDriver serves the controller (and a stand-in node identity) on a
// unix socket and returns its endpoint.
func startDriver(t *testing.T, client array.Client) string {
	t.Helper()
	ctrl, err := controller.New([]config.Storage{{Name: storageName, Type: "AS18000"}},
		map[string]array.Client{storageName: client}, controller.Options{Link: "iscsi", Topology: true})
	if err != nil {
		t.Fatalf("controller: %v", err)
	}
	return serve(t, driver.New(driver.Config{Name: "csi-instorage", Version: "sanity", Controller: ctrl, Node: nodeInfoOnly{}, Prober: ctrl, Topology: true}))
}

// serve runs d on a temporary unix socket until the test ends.
func serve(t *testing.T, d *driver.Driver) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "csi.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.ServeListener(ctx, l, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "unix://" + sock
}

// nodeInfoOnly answers what the Controller tests ask of the node service
// (NodeGetInfo); the real node service needs an iSCSI initiator.
type nodeInfoOnly struct{ csi.UnimplementedNodeServer }

func (nodeInfoOnly) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{NodeId: sanityNode,
		AccessibleTopology: &csi.Topology{Segments: map[string]string{volumeid.TopologyKey(idStorage): "true"}}}, nil
}

func (nodeInfoOnly) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	return &csi.NodeGetCapabilitiesResponse{}, nil
}

// NodeUnpublishVolume succeeds: this stand-in never publishes anything, so
// every volume is already unpublished here (the CSI idempotency rule).
func (nodeInfoOnly) NodeUnpublishVolume(context.Context, *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

func (nodeInfoOnly) NodeStageVolume(context.Context, *csi.NodeStageVolumeRequest) (*csi.NodeStageVolumeResponse, error) {
	return nil, status.Error(codes.Unimplemented, "no initiator in the sanity environment")
}

// idGen makes IDs in the driver's formats: well-formed but naming nothing.
type idGen struct{}

func randHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

func (idGen) GenerateUniqueValidVolumeID() string {
	return volumeid.Volume{Storage: idStorage, UID: "6" + randHex(32)[1:]}.String()
}
func (idGen) GenerateInvalidVolumeID() string { return "not-a-volume-id" }

// A bare node name refers to an administrator-made host object; none
// exists on the emulator, so publishing to it is NotFound.
func (idGen) GenerateUniqueValidNodeID() string { return "missing-node-" + strings.ToLower(randHex(8)) }
func (idGen) GenerateInvalidNodeID() string     { return "bad node id;" }
