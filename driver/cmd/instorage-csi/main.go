// Command instorage-csi is the CSI driver for Inspur InStorage/MCS arrays:
// the Controller service (Deployment), the Node service (DaemonSet), or
// both in one process. `instorage-csi shadow` turns a password into the
// storage[].shadow form of instorage.yaml.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
	"github.com/instorage-csi/instorage-csi/driver/pkg/driver"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// shutdownGrace lets calls in progress finish after SIGTERM; kubelet's
// default termination grace period is 30s.
const shutdownGrace = 25 * time.Second

func main() {
	if len(os.Args) > 1 && os.Args[1] == "shadow" {
		os.Exit(config.ShadowCommand(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(run())
}

func run() int {
	var opts driver.Options
	klog.InitFlags(flag.CommandLine)
	opts.AddFlags(flag.CommandLine)
	flag.Parse()
	if err := opts.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	// Only the controller talks to arrays; a node plugin is not given their
	// credentials or host keys, so it validates everything else.
	load := config.LoadHostOnly
	if opts.RunsController() {
		load = config.Load
	}
	cfg, err := load(opts.ConfigPath)
	if err != nil {
		klog.ErrorS(err, "Loading configuration")
		return 1
	}
	klog.InfoS("Starting instorage-csi", "version", version, "mode", opts.Mode, "driver", opts.DriverName, "config", cfg)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	metricsMgr, arrayMetrics, stopMetrics, err := startMetrics(opts)
	if err != nil {
		klog.ErrorS(err, "Starting metrics")
		return 1
	}
	defer stopMetrics()

	dcfg := driver.Config{Name: opts.DriverName, Version: version, Metrics: metricsMgr, Topology: opts.Topology}
	if opts.RunsController() {
		ctrl, closeArrays, err := newController(cfg, arrayMetrics, opts.Topology)
		if err != nil {
			klog.ErrorS(err, "Setting up the controller service")
			return 1
		}
		defer closeArrays()
		dcfg.Controller, dcfg.Prober = ctrl, ctrl
	}
	if opts.RunsNode() {
		n, err := newNode(opts, cfg)
		if err != nil {
			klog.ErrorS(err, "Setting up the node service")
			return 1
		}
		dcfg.Node = n
	}
	if err := driver.New(dcfg).Serve(ctx, opts.Endpoint, shutdownGrace); err != nil {
		klog.ErrorS(err, "Serving CSI")
		return 1
	}
	klog.InfoS("Stopped")
	return 0
}
