package hostexec_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/instorage-csi/instorage-csi/driver/pkg/host/hostexec"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/hostexec/hostexectest"
	utilsexec "k8s.io/utils/exec"
)

func TestRun_FailureCarriesExitCodeAndRedactsSecret(t *testing.T) {
	f := hostexectest.New()
	f.Handle("iscsiadm", hostexectest.Fail("iscsiadm: no records found", 21))
	_, err := hostexec.RunRedacted(context.Background(), f, []int{3}, "iscsiadm", "-n", "node.session.auth.password", "-v", "s3cret")
	var he *hostexec.Error
	if !errors.As(err, &he) || he.ExitCode != 21 || hostexec.ExitCode(err) != 21 {
		t.Fatalf("want exit 21, got %v", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("secret leaked into error: %v", err)
	}
}

func TestNSEnter_WrapsOnlyDaemonClients(t *testing.T) {
	f := hostexectest.New()
	f.Unhandled = hostexectest.OK("")
	e := hostexec.NSEnter(f, "/host/proc", nil)
	_, _ = hostexec.Run(context.Background(), e, "iscsiadm", "-m", "session")
	_, _ = hostexec.Run(context.Background(), e, "blockdev", "--flushbufs", "/dev/sda")
	got := f.Calls()
	want := []string{
		"nsenter --mount=/host/proc/1/ns/mnt --net=/host/proc/1/ns/net -- iscsiadm -m session",
		"blockdev --flushbufs /dev/sda",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestWithTimeout_KillsHungCommand runs a real process: the timeout must end it.
func TestWithTimeout_KillsHungCommand(t *testing.T) {
	e := hostexec.WithTimeout(utilsexec.New(), 200*time.Millisecond)
	start := time.Now()
	_, err := hostexec.Run(context.Background(), e, "sleep", "10")
	if err == nil {
		t.Fatal("sleep 10 finished under a 200ms timeout")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("timeout not enforced: took %v", d)
	}
	// mount-utils calls Command without a context; the timeout must still apply.
	start = time.Now()
	if err := e.Command("sleep", "10").Run(); err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("Command without ctx not bounded: err=%v after %v", err, time.Since(start))
	}
}

// A command that cannot die when killed (uninterruptible sleep: umount on a
// map that queues I/O) must not hold the caller: after KillGrace it is
// abandoned with ErrAbandoned. The fake's handler ignores the context, as
// such a process ignores SIGKILL.
func TestWithTimeout_UnkillableCommandAbandonedAfterGrace(t *testing.T) {
	old := hostexec.KillGrace
	hostexec.KillGrace = 200 * time.Millisecond
	t.Cleanup(func() { hostexec.KillGrace = old })
	f := hostexectest.New()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.Handle("umount", func([]string) (string, int) { <-release; return "", 0 })
	e := hostexec.WithTimeout(f, 100*time.Millisecond)
	start := time.Now()
	_, err := e.Command("umount", "/stage").CombinedOutput()
	if !errors.Is(err, hostexec.ErrAbandoned) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want ErrAbandoned after the deadline, got %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("caller held for %v", d)
	}
}
