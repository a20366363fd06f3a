// Command mcs-emulator is an Inspur InStorage/MCS array emulator: the MCS
// CLI over SSH, an iSCSI target, and an HTTP control API for fault
// injection. See `mcs-emulator help`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/klog/v2"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `usage: mcs-emulator <command> [flags]

commands:
  serve        run the emulated array (SSH CLI, iSCSI target, control API)
  fingerprint  print the SSH host key fingerprint of a state directory
  ctl          change faults, nodes and pools of a running emulator (control API client)
  version      print the version

Run "mcs-emulator <command> -h" for the flags of a command.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		// After the first signal the default handling returns, so a second
		// one ends a shutdown that hangs.
		go func() { <-ctx.Done(); stop() }()
		err = runServe(ctx, os.Args[2:])
		stop()
	case "fingerprint":
		err = runFingerprint(os.Args[2:])
	case "ctl":
		err = runCtl(os.Args[2:])
	case "version", "--version":
		fmt.Println(version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "mcs-emulator: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	klog.Flush()
	if err != nil {
		fmt.Fprintf(os.Stderr, "mcs-emulator: %v\n", err)
		os.Exit(1)
	}
}
