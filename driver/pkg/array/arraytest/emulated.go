package arraytest

import (
	"context"
	"testing"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/emulator/cli"
	"github.com/instorage-csi/instorage-csi/emulator/model"
)

// EmulatorUser is the array account used by the in-process transport.
const EmulatorUser = "superuser"

// Runner is the emulator's CLI front end (emulator/sshd.Runner).
type Runner interface {
	Run(ctx context.Context, user, commandLine string) (stdout, stderr []byte, exitStatus int)
}

// InProcess is an array.Transport calling the emulator's CLI directly with
// the same command line the SSH transport would send.
type InProcess struct {
	Runner Runner
	User   string
}

var _ array.Transport = InProcess{}

func (p InProcess) Run(ctx context.Context, argv []string) ([]byte, []byte, error) {
	if err := array.ValidateArgv(argv); err != nil {
		return nil, nil, err
	}
	stdout, stderr, status := p.Runner.Run(ctx, p.User, array.JoinArgv(argv))
	if status != 0 {
		return stdout, stderr, &array.ExitError{Status: status}
	}
	return stdout, stderr, nil
}

// NewEmulated is a real *array.CLI over a fresh in-process emulator with
// the default topology (one I/O group, Pool0 and Pool1), closed when t ends.
//
//	c, m := arraytest.NewEmulated(t)
func NewEmulated(t testing.TB) (*array.CLI, *model.Array) {
	return NewEmulatedTopology(t, model.DefaultTopology())
}

// NewEmulatedTopology is NewEmulated with a chosen topology
// (e.g. model.TwoSiteTopology() for active-active).
func NewEmulatedTopology(t testing.TB, topo model.Topology) (*array.CLI, *model.Array) {
	t.Helper()
	m, err := model.Open(t.TempDir(), topo)
	if err != nil {
		t.Fatalf("opening emulator: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return array.NewCLI(InProcess{Runner: cli.New(m), User: EmulatorUser}, array.WithArrayName("emu")), m
}
