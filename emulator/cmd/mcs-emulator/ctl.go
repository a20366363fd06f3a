package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/instorage-csi/instorage-csi/emulator/config"
	"github.com/instorage-csi/instorage-csi/emulator/control"
	"github.com/instorage-csi/instorage-csi/emulator/fault"
)

const ctlUsage = `usage: mcs-emulator ctl [--control-addr ADDR] [--token-file FILE] <command>

commands:
  info                         addresses and host key fingerprint
  faults                       list fault rules with their counters
  fault-add '<JSON rule>'      e.g. '{"command":"mkvdisk","drop":true,"when":"after","times":1}'
  fault-rm ID                  remove one rule
  faults-clear                 remove every rule
  node NAME online|offline     take a node offline or back
  pool NAME FREE_BYTES         force a pool's free capacity (-1 clears)

For containers without curl: kubectl exec <pod> -- /mcs-emulator ctl faults
`

// runCtl is a small client of the control API.
func runCtl(args []string) error {
	fs := flag.NewFlagSet("ctl", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, ctlUsage) }
	addr := fs.String("control-addr", config.DefaultControlAddr, "control API address")
	tokenFile := fs.String("token-file", "", "bearer token file (control.tokenFile of the server)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c := control.NewClient(*addr)
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return err
		}
		c.Token = strings.TrimSpace(string(b))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	a := fs.Args()
	if len(a) == 0 {
		fs.Usage()
		return errors.New("missing command")
	}
	need := func(n int) error {
		if len(a) != n+1 {
			return fmt.Errorf("%s takes %d argument(s)\n\n%s", a[0], n, ctlUsage)
		}
		return nil
	}
	switch a[0] {
	case "info":
		if err := need(0); err != nil {
			return err
		}
		i, err := c.Info(ctx)
		if err != nil {
			return err
		}
		return printJSON(i)
	case "faults":
		if err := need(0); err != nil {
			return err
		}
		l, err := c.ListFaults(ctx)
		if err != nil {
			return err
		}
		return printJSON(l)
	case "fault-add":
		if err := need(1); err != nil {
			return err
		}
		var r fault.Rule
		dec := json.NewDecoder(bytes.NewReader([]byte(a[1])))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return fmt.Errorf("rule: %w", err)
		}
		id, err := c.AddFault(ctx, r)
		if err != nil {
			return err
		}
		fmt.Println(id)
		return nil
	case "fault-rm":
		if err := need(1); err != nil {
			return err
		}
		return c.RemoveFault(ctx, a[1])
	case "faults-clear":
		if err := need(0); err != nil {
			return err
		}
		return c.ClearFaults(ctx)
	case "node":
		if err := need(2); err != nil {
			return err
		}
		if a[2] != "online" && a[2] != "offline" {
			return fmt.Errorf("node state %q: want online or offline", a[2])
		}
		return c.SetNodeOnline(ctx, a[1], a[2] == "online")
	case "pool":
		if err := need(2); err != nil {
			return err
		}
		free, err := strconv.ParseInt(a[2], 10, 64)
		if err != nil {
			return fmt.Errorf("free bytes %q: %w", a[2], err)
		}
		return c.SetPoolFree(ctx, a[1], free)
	}
	return fmt.Errorf("unknown ctl command %q\n\n%s", a[0], ctlUsage)
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
