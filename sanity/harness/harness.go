// Package harness starts the array emulator in-process for driver tests:
// model + CLI front end, reached through the fault injector either directly
// (in-process transport) or over real SSH (emulator/sshd + array.SSHTransport).
package harness

import (
	"context"
	"testing"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/emulator/cli"
	"github.com/instorage-csi/instorage-csi/emulator/fault"
	"github.com/instorage-csi/instorage-csi/emulator/model"
	"github.com/instorage-csi/instorage-csi/emulator/sshd"
)

// User is the array account the harness logs in as.
const User = "superuser"

// Emulator is one running emulated array.
type Emulator struct {
	Model  *model.Array
	Faults *fault.Injector
	Runner sshd.Runner // CLI behind the fault injector
	Client array.Client
	// Commands counts CLI commands that reached the runner.
	Commands *Counter
}

// Options choose the topology (default model.DefaultTopology()).
type Options struct {
	Topology *model.Topology
}

// Start opens a fresh array in t.TempDir and an in-process client to it.
func Start(t testing.TB, o Options) *Emulator {
	t.Helper()
	topo := model.DefaultTopology()
	if o.Topology != nil {
		topo = *o.Topology
	}
	m, err := model.Open(t.TempDir(), topo)
	if err != nil {
		t.Fatalf("opening emulator model: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	e := &Emulator{Model: m, Faults: fault.NewInjector(), Commands: &Counter{}}
	e.Runner = e.Commands.Wrap(e.Faults.Wrap(cli.New(m)))
	e.Client = array.NewCLI(InProcess{Runner: e.Runner, User: User}, array.WithArrayName("emu"))
	return e
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
