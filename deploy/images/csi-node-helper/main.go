// Command csi-node-helper stands in for node-driver-registrar and livenessprobe
// on clusters built offline: the Go module proxy does not serve those two
// sidecars, so they cannot be built from source there. Production manifests keep
// the official images; deploy/kubernetes/overlays/offline swaps in these, which
// accept the same flags (the subset this project's manifests use).
//
//	csi-node-helper registrar     --csi-address=/csi/csi.sock --kubelet-registration-path=...
//	csi-node-helper livenessprobe --csi-address=/csi/csi.sock --health-port=9808
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/klog/v2"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: csi-node-helper registrar|livenessprobe [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	klog.InitFlags(fs)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	var err error
	switch os.Args[1] {
	case "registrar":
		o := registrarOptions{}
		o.AddFlags(fs)
		_ = fs.Parse(os.Args[2:])
		if err = o.Validate(); err == nil {
			err = runRegistrar(ctx, o)
		}
	case "livenessprobe":
		o := probeOptions{}
		o.AddFlags(fs)
		_ = fs.Parse(os.Args[2:])
		if err = o.Validate(); err == nil {
			err = runLivenessProbe(ctx, o)
		}
	default:
		err = fmt.Errorf("unknown command %q (want registrar or livenessprobe)", os.Args[1])
	}
	if err != nil {
		klog.ErrorS(err, "csi-node-helper failed", "command", os.Args[1])
		klog.Flush()
		os.Exit(1)
	}
}
