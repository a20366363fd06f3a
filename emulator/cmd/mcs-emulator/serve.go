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
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/emulator/cli"
	"github.com/instorage-csi/instorage-csi/emulator/config"
	"github.com/instorage-csi/instorage-csi/emulator/console"
	"github.com/instorage-csi/instorage-csi/emulator/control"
	"github.com/instorage-csi/instorage-csi/emulator/fault"
	"github.com/instorage-csi/instorage-csi/emulator/model"
	"github.com/instorage-csi/instorage-csi/emulator/sshd"
)

// shutdownGrace is how long SIGTERM waits for commands in flight.
const shutdownGrace = 10 * time.Second

// KnownHostsFile is written into the state dir at start so OpenSSH and
// driver configs can pin the host key (knownHostsFile).
const KnownHostsFile = "known_hosts"

func runServe(ctx context.Context, args []string) error {
	var o Options
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	o.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.parsed(fs)
	c, err := o.Resolve()
	if err != nil {
		return err
	}
	if len(c.Users) == 0 {
		if !config.IsLoopback(c.SSH.Addr) {
			return fmt.Errorf("no CLI account configured and SSH listens on %s; give --user or users in --config", c.SSH.Addr)
		}
		klog.InfoS("WARNING: no CLI account configured; using the demo account admin:admin. Only for demos on loopback; give --user NAME:PASSWORD or users in --config",
			"user", config.DemoUser)
		c.Users = []config.User{{Name: config.DemoUser, Password: config.DemoPassword}}
	}
	creds, err := config.Credentials(c.Users)
	if err != nil {
		return err
	}
	token, err := controlToken(c)
	if err != nil {
		return err
	}

	if err := os.MkdirAll(c.StateDir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	lock, err := lockStateDir(c.StateDir)
	if err != nil {
		return err
	}
	defer lock.Close()
	topo, err := c.ResolvedTopology()
	if err != nil {
		return err
	}
	arr, err := model.Open(filepath.Join(c.StateDir, config.ArrayDir), topo)
	if err != nil {
		return fmt.Errorf("open array state: %w", err)
	}
	defer func() {
		if err := arr.Close(); err != nil {
			klog.ErrorS(err, "Closing array state")
		}
	}()
	inj := fault.NewInjector()
	for _, r := range c.Faults.Rules {
		if _, err := inj.Add(r); err != nil {
			return err
		}
	}

	// The console reads through the plain CLI so it keeps working while
	// faults are injected; the log records what SSH clients ran.
	arrayCLI := cli.New(arr)
	cmdLog := console.NewCommandLog(200)

	hostKey, err := sshd.LoadOrCreateHostKey(filepath.Join(c.StateDir, sshd.HostKeyFile))
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	limits, _ := c.SSH.Limits.Resolved()
	srv, err := sshd.New(sshd.Config{
		Runner:      loggedRunner{inner: inj.Wrap(arrayCLI), log: cmdLog},
		Credentials: creds,
		HostKey:     hostKey,
		Limits: sshd.Limits{MaxConnections: limits.MaxSessions, ConnectionsPerSecond: limits.ConnectionsPerSecond,
			ConnectionBurst: limits.ConnectionBurst},
		CommandTimeout: config.Duration(c.SSH.CommandTimeout),
		IdleTimeout:    config.Duration(c.SSH.IdleTimeout),
		Metrics:        sshd.NewMetrics(reg),
	})
	if err != nil {
		return err
	}
	sshAddr, sshDone, err := srv.Listen(c.SSH.Addr)
	if err != nil {
		return err
	}
	defer srv.Close()
	fp := gossh.FingerprintSHA256(hostKey.PublicKey())
	if err := writeKnownHosts(c.StateDir, sshAddr.String(), hostKey.PublicKey()); err != nil {
		return err
	}

	portals, stopISCSI, err := startISCSI(ctx, c, arr)
	if err != nil {
		return err
	}
	defer stopISCSI()
	// After the portals are bound, so a node configured offline at start can
	// come back online later and serve again.
	if err := c.Faults.State.Apply(arr); err != nil {
		return fmt.Errorf("faults: %w", err)
	}

	var ctlAddr string
	var ctlDone <-chan error
	var ctl *http.Server
	if c.Control.Addr != "off" {
		mux := control.NewHandler(control.Config{
			Injector: inj, Array: arr, Gatherer: reg, Token: token,
			Console: console.Handler(console.Sources{Runner: arrayCLI, Log: cmdLog}),
			Info: func() control.Info {
				return control.Info{Version: version, SSHAddr: sshAddr.String(), HostKeyFingerprint: fp,
					ISCSIPortals: portals, StateDir: c.StateDir}
			},
		})
		ctl = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		ln, err := net.Listen("tcp", c.Control.Addr)
		if err != nil {
			return fmt.Errorf("control API: %w", err)
		}
		ctlAddr = ln.Addr().String()
		done := make(chan error, 1)
		go func() { done <- ctl.Serve(ln) }()
		ctlDone = done
		klog.InfoS("Control API listening", "addr", ctlAddr, "token", token != "")
	}

	klog.InfoS("mcs-emulator ready", "ssh", sshAddr.String(), "hostKey", fp, "control", ctlAddr,
		"iscsi", portals, "stateDir", c.StateDir, "version", version)
	// One machine-readable line on stdout for scripts and tests.
	fmt.Printf("mcs-emulator ready ssh=%s control=%s hostkey=%s\n", sshAddr, orOff(ctlAddr), fp)

	select {
	case <-ctx.Done():
		klog.InfoS("Shutting down", "grace", shutdownGrace)
	case err := <-sshDone:
		return fmt.Errorf("SSH server stopped: %w", err)
	case err := <-ctlDone:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("control API stopped: %w", err)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		klog.InfoS("Closing SSH connections still open after grace period", "err", err)
	}
	if ctl != nil {
		_ = ctl.Shutdown(sctx)
	}
	return nil
}

func orOff(s string) string {
	if s == "" {
		return "off"
	}
	return s
}

// controlToken reads control.tokenFile; a non-loopback control API without
// one is refused, since it can change array state.
func controlToken(c *config.Config) (string, error) {
	if c.Control.Addr == "off" {
		return "", nil
	}
	if c.Control.TokenFile == "" {
		if !config.IsLoopback(c.Control.Addr) {
			return "", fmt.Errorf("control API on %s needs control.tokenFile (or listen on loopback)", c.Control.Addr)
		}
		return "", nil
	}
	b, err := os.ReadFile(c.Control.TokenFile)
	if err != nil {
		return "", fmt.Errorf("control token: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("control token file %s is empty", c.Control.TokenFile)
	}
	return t, nil
}

// writeKnownHosts records the host key as an OpenSSH known_hosts line for
// the bound address (and 127.0.0.1 when listening on all addresses).
func writeKnownHosts(dir, addr string, key gossh.PublicKey) error {
	host, port, _ := net.SplitHostPort(addr)
	var hosts []string
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		hosts = append(hosts, knownhosts.Normalize(net.JoinHostPort("127.0.0.1", port)))
	} else {
		hosts = append(hosts, knownhosts.Normalize(addr))
	}
	line := knownhosts.Line(hosts, key) + "\n"
	return os.WriteFile(filepath.Join(dir, KnownHostsFile), []byte(line), 0o644)
}
