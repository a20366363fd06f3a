package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	gossh "golang.org/x/crypto/ssh"
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
	creds, err := accounts(c)
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
	if topo.ClusterID, err = c.ClusterIdentity(topo.ClusterID); err != nil {
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
		Runner:      cmdLog.Wrap(inj.Wrap(arrayCLI)),
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
	// Before SSH serves: lsportip must never show an address initiators cannot use.
	arr.SetPortIPAliases(portIPAliases(c, arr))
	sshAddr, sshDone, err := srv.Listen(c.SSH.Addr)
	if err != nil {
		return err
	}
	defer srv.Close()
	fp := gossh.FingerprintSHA256(hostKey.PublicKey())
	if err := writeKnownHosts(c.StateDir, sshAddr.String(), hostKey.PublicKey()); err != nil {
		return err
	}

	target, stopISCSI, err := startISCSI(ctx, c, arr)
	if err != nil {
		return err
	}
	defer stopISCSI()
	var portals []string
	if target != nil {
		portals = target.Addrs()
	}
	// After the portals are bound: a node configured offline at start keeps
	// its listener and serves again once brought back online.
	if err := c.Faults.State.Apply(arr); err != nil {
		return fmt.Errorf("faults: %w", err)
	}

	ctl, err := startControl(c.Control.Addr, token, control.Config{
		Injector: inj, Array: arr, Gatherer: reg, Token: token,
		Console: console.Handler(console.Sources{Runner: arrayCLI, Log: cmdLog, Sessions: consoleSessions(target)}),
		Info: func() control.Info {
			return control.Info{Version: version, SSHAddr: sshAddr.String(), HostKeyFingerprint: fp,
				ISCSIPortals: portals, StateDir: c.StateDir}
		},
	})
	if err != nil {
		return err
	}

	klog.InfoS("mcs-emulator ready", "ssh", sshAddr.String(), "hostKey", fp, "control", ctl.addr,
		"iscsi", portals, "stateDir", c.StateDir, "version", version)
	// One machine-readable line on stdout for scripts and tests.
	fmt.Printf("mcs-emulator ready ssh=%s control=%s hostkey=%s\n", sshAddr, orOff(ctl.addr), fp)

	select {
	case <-ctx.Done():
		klog.InfoS("Shutting down", "grace", shutdownGrace)
	case err := <-sshDone:
		return fmt.Errorf("SSH server stopped: %w", err)
	case err := <-ctl.done:
		return fmt.Errorf("control API stopped: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		klog.InfoS("Closing SSH connections still open after grace period", "err", err)
	}
	ctl.shutdown(sctx)
	return nil
}
