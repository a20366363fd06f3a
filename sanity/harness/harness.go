// Package harness starts the array emulator in-process for driver tests:
// model + CLI front end, reached through the fault injector either directly
// (in-process transport) or over real SSH (emulator/sshd + array.SSHTransport).
package harness

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
	"github.com/instorage-csi/instorage-csi/emulator/cli"
	"github.com/instorage-csi/instorage-csi/emulator/fault"
	"github.com/instorage-csi/instorage-csi/emulator/model"
	"github.com/instorage-csi/instorage-csi/emulator/sshd"
)

// User and password of the array account the harness logs in as.
const (
	User     = "superuser"
	password = "harness-passw0rd"
)

// Emulator is one running emulated array.
type Emulator struct {
	Model  *model.Array
	Faults *fault.Injector
	Runner sshd.Runner // CLI behind the fault injector
	Client array.Client
	// Commands counts CLI commands that reached the runner.
	Commands *Counter
	// Storage is the config entry the Client was made from (SSH only).
	Storage config.Storage
}

// Options choose the topology (default model.DefaultTopology()) and the
// transport.
type Options struct {
	Topology *model.Topology
	// SSH serves the CLI on 127.0.0.1 through emulator/sshd and connects
	// with the driver's own SSH transport and pinned host key, so dropped
	// connections can be injected. Otherwise calls stay in-process.
	SSH bool
	// NoSync skips the emulator's per-command fsync (throw-away state), so
	// benchmarks measure the driver rather than the test machine's disk; a
	// real array acknowledges from NVRAM.
	NoSync bool
}

// Start opens a fresh array in t.TempDir and an in-process client to it.
func Start(t testing.TB, o Options) *Emulator {
	t.Helper()
	topo := model.DefaultTopology()
	if o.Topology != nil {
		topo = *o.Topology
	}
	m, err := model.OpenWithOptions(t.TempDir(), topo, model.Options{NoSync: o.NoSync})
	if err != nil {
		t.Fatalf("opening emulator model: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	e := &Emulator{Model: m, Faults: fault.NewInjector(), Commands: &Counter{}}
	e.Runner = e.Commands.Wrap(e.Faults.Wrap(cli.New(m)))
	if !o.SSH {
		e.Client = array.NewCLI(InProcess{Runner: e.Runner, User: User}, array.WithArrayName("emu"))
		return e
	}
	e.startSSH(t)
	return e
}

func (e *Emulator) startSSH(t testing.TB) {
	t.Helper()
	keyPath := filepath.Join(t.TempDir(), "ssh_host_ed25519_key")
	key, err := sshd.LoadOrCreateHostKey(keyPath)
	if err != nil {
		t.Fatalf("host key: %v", err)
	}
	fp, err := sshd.ReadHostKeyFingerprint(keyPath)
	if err != nil {
		t.Fatalf("host key fingerprint: %v", err)
	}
	creds := sshd.NewCredentials()
	if err := creds.AddPassword(User, password); err != nil {
		t.Fatal(err)
	}
	srv, err := sshd.New(sshd.Config{Runner: e.Runner, Credentials: creds, HostKey: key,
		Limits: sshd.Limits{MaxConnections: 64, ConnectionsPerSecond: 200}})
	if err != nil {
		t.Fatalf("sshd: %v", err)
	}
	addr, _, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("sshd listen: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	e.Storage = config.Storage{Name: "emu", Type: "AS18000", Host: addr.String(), Username: User, Password: password,
		HostKeyFingerprint: fp}
	cli, err := array.Connect(&e.Storage, nil)
	if err != nil {
		t.Fatalf("connecting to the emulator: %v", err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	e.Client = cli
}

// InProcess is an array.Transport that calls a Runner directly: the same
// command line the SSH transport would send, without the network.
type InProcess struct {
	Runner sshd.Runner
	User   string
}

// Run implements array.Transport.
func (p InProcess) Run(ctx context.Context, argv []string) ([]byte, []byte, error) {
	stdout, stderr, status := p.Runner.Run(ctx, p.User, array.JoinArgv(argv))
	if status != 0 {
		return stdout, stderr, &array.ExitError{Status: status}
	}
	return stdout, stderr, nil
}
