package e2etest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/instorage-csi/instorage-csi/emulator/control"
)

// Test account of every emulator these tests start.
const (
	testUser     = "superuser"
	testPassword = "passw0rd-e2e"
)

// binary is the mcs-emulator under test: $MCS_EMULATOR_BIN, or built once
// by TestMain.
var binary string

func TestMain(m *testing.M) {
	code, err := buildAndRun(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2etest:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func buildAndRun(m *testing.M) (int, error) {
	defer stopBigArray()
	if b := os.Getenv("MCS_EMULATOR_BIN"); b != "" {
		binary = b
		return m.Run(), nil
	}
	dir, err := os.MkdirTemp("", "mcs-emulator-e2e")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "mcs-emulator")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", binary,
		"github.com/instorage-csi/instorage-csi/emulator/cmd/mcs-emulator").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("build mcs-emulator: %v\n%s", err, out)
	}
	return m.Run(), nil
}

// emu is one running mcs-emulator process.
type emu struct {
	t           testing.TB
	cmd         *exec.Cmd
	stateDir    string
	SSHAddr     string
	ControlAddr string
	Fingerprint string
	logPath     string
	done        chan struct{} // closed when the process has exited
	waitErr     error
}

var readyRE = regexp.MustCompile(`^mcs-emulator ready ssh=(\S+) control=(\S+) hostkey=(\S+)$`)

// startEmu runs `mcs-emulator serve` on free loopback ports and waits for
// its ready line; the process is killed when the test ends.
func startEmu(t testing.TB, stateDir string, args ...string) *emu {
	t.Helper()
	e, err := launch(t.TempDir(), stateDir, args...)
	if e != nil {
		e.t = t
		t.Cleanup(e.kill)
	}
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// launch starts the binary without a test to report to (shared benchmark
// fixtures); logs go to logDir.
func launch(logDir, stateDir string, args ...string) (*emu, error) {
	logPath := filepath.Join(logDir, "emulator.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	base := []string{"serve", "--state-dir", stateDir, "--ssh-addr", "127.0.0.1:0", "--control-addr", "127.0.0.1:0",
		"--iscsi=false", "--user", testUser + ":" + testPassword}
	cmd := exec.Command(binary, append(base, args...)...)
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	e := &emu{cmd: cmd, stateDir: stateDir, logPath: logPath, done: make(chan struct{})}
	ready := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := readyRE.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { e.waitErr = cmd.Wait(); logFile.Close(); close(e.done) }()
	select {
	case m := <-ready:
		e.SSHAddr, e.ControlAddr, e.Fingerprint = m[1], m[2], m[3]
		return e, nil
	case <-e.done:
		return e, fmt.Errorf("mcs-emulator exited before ready: %v\n%s", e.waitErr, e.log())
	case <-time.After(60 * time.Second):
		return e, fmt.Errorf("mcs-emulator not ready after 60s\n%s", e.log())
	}
}

// kill ends the process if it still runs (cleanup).
func (e *emu) kill() {
	select {
	case <-e.done:
	default:
		e.cmd.Process.Kill()
		<-e.done
	}
}

func (e *emu) log() string {
	b, _ := os.ReadFile(e.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// stop sends SIGTERM and requires a clean exit within the shutdown grace.
func (e *emu) stop() {
	e.t.Helper()
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
		if e.waitErr != nil {
			e.t.Fatalf("exit after SIGTERM: %v\n%s", e.waitErr, e.log())
		}
	case <-time.After(20 * time.Second):
		e.t.Fatalf("no exit 20s after SIGTERM\n%s", e.log())
	}
}

// kill9 kills the process without giving it any chance to clean up.
func (e *emu) kill9() {
	e.t.Helper()
	e.cmd.Process.Signal(syscall.SIGKILL)
	<-e.done
}

func (e *emu) control() *control.Client { return control.NewClient(e.ControlAddr) }

// dial logs in with the test account, verifying the host key against the
// known_hosts file the emulator wrote into its state dir.
func (e *emu) dial() *gossh.Client {
	e.t.Helper()
	c, err := e.tryDial(testUser, gossh.Password(testPassword))
	if err != nil {
		e.t.Fatalf("dial %s: %v", e.SSHAddr, err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

func (e *emu) tryDial(user string, auth gossh.AuthMethod) (*gossh.Client, error) {
	hk, err := knownhosts.New(filepath.Join(e.stateDir, "known_hosts"))
	if err != nil {
		return nil, err
	}
	return gossh.Dial("tcp", e.SSHAddr, &gossh.ClientConfig{User: user, Auth: []gossh.AuthMethod{auth},
		HostKeyCallback: hk, Timeout: 10 * time.Second})
}

// result is one command's complete answer.
type result struct {
	Stdout, Stderr string
	Status         int
}

// run executes one command on its own session, as both clients do.
func run(t testing.TB, c *gossh.Client, cmd string) result {
	t.Helper()
	r, err := tryRun(c, cmd)
	if err != nil {
		t.Fatalf("%q: %v", cmd, err)
	}
	return r
}

// tryRun bounds the whole exchange, as the driver's transport does:
// x/crypto/ssh's NewSession can wait forever on a connection the server has
// just closed (openChannel registers its channel after the read loop's
// dropAll and the open message still goes out), which hung this package's
// drop test for 3 minutes. On timeout the client is closed and the command
// reported as a transport error.
func tryRun(c *gossh.Client, cmd string) (result, error) {
	type answer struct {
		r   result
		err error
	}
	done := make(chan answer, 1)
	go func() {
		r, err := runSession(c, cmd)
		done <- answer{r, err}
	}()
	select {
	case a := <-done:
		return a.r, a.err
	case <-time.After(commandDeadline):
		c.Close()
		return result{}, fmt.Errorf("no answer to %q within %s; connection closed", cmd, commandDeadline)
	}
}

// commandDeadline is far above any emulator command's time, even under -race on a loaded machine.
const commandDeadline = 30 * time.Second

func runSession(c *gossh.Client, cmd string) (result, error) {
	sess, err := c.NewSession()
	if err != nil {
		return result{}, err
	}
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	sess.Stdout, sess.Stderr = &stdout, &stderr
	err = sess.Run(cmd)
	r := result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exitErr *gossh.ExitError
	switch {
	case err == nil:
		return r, nil
	case errors.As(err, &exitErr):
		r.Status = exitErr.ExitStatus()
		return r, nil
	}
	return r, err
}

// mustOK runs cmd and requires exit 0 with empty stderr.
func mustOK(t testing.TB, c *gossh.Client, cmd string) string {
	t.Helper()
	r := run(t, c, cmd)
	if r.Status != 0 || r.Stderr != "" {
		t.Fatalf("%q: status %d stderr %q stdout %q", cmd, r.Status, r.Stderr, r.Stdout)
	}
	return r.Stdout
}

var createdRE = regexp.MustCompile(`\[([0-9]+)\], successfully created`)

// createdID extracts the id the way [G] does (mcs-cli.md §1.3).
func createdID(t testing.TB, out string) int {
	t.Helper()
	m := createdRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no id in %q", out)
	}
	id, _ := strconv.Atoi(m[1])
	return id
}

// rows parses a -delim ! list view into maps, failing on ragged rows
// (both clients reject them, §2.2).
func rows(t testing.TB, out string) []map[string]string {
	t.Helper()
	if out == "" {
		return nil
	}
	if !strings.HasSuffix(out, "\n") || strings.HasSuffix(out, "\n\n") || strings.Contains(out, "\r") {
		t.Fatalf("list output must end in exactly one \\n and have no \\r: %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	header := strings.Split(lines[0], "!")
	var res []map[string]string
	for _, l := range lines[1:] {
		f := strings.Split(l, "!")
		if len(f) != len(header) {
			t.Fatalf("row has %d fields, header %d: %q", len(f), len(header), l)
		}
		m := map[string]string{}
		for i, h := range header {
			m[h] = f[i]
		}
		res = append(res, m)
	}
	return res
}
