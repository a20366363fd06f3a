// Package cli is the array's MCS command-line front end: it tokenises one
// command line, dispatches mcsinq/mcsop sub-commands to the model and
// prints list/detail views and CMMVC errors exactly as mcs-cli.md describes.
// It only parses and prints; every rule lives in emulator/model.
package cli

import (
	"context"
	"errors"
	"strings"
	"time"

	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/emulator/model"
)

// CLI runs command lines against one array; safe for concurrent use.
type CLI struct {
	a *model.Array
}

// New returns the CLI of array a. *CLI implements sshd.Runner.
func New(a *model.Array) *CLI { return &CLI{a: a} }

// Run executes one command line as user. Success: exit 0, output on stdout,
// empty stderr. Failure: exit 1, empty stdout, "CMMVCnnnnE text\n" on
// stderr (mcs-cli.md §1.3).
func (c *CLI) Run(ctx context.Context, user, line string) (stdout, stderr []byte, exit int) {
	start := time.Now()
	out, err := c.run(ctx, line)
	if err != nil {
		var me *model.Error
		if !errors.As(err, &me) {
			me = &model.Error{Code: "CMMVC5786E", Text: "The action failed because the cluster is not in a stable state."}
		}
		klog.V(2).InfoS("CLI command failed", "user", user, "command", commandName(line), "code", me.Code,
			"duration", time.Since(start))
		return nil, []byte(me.Code + " " + me.Text + "\n"), 1
	}
	klog.V(4).InfoS("CLI command", "user", user, "command", commandName(line), "duration", time.Since(start))
	return out, nil, 0
}

// commandName is what may be logged of a line: the first two words only,
// never arguments (chhost -chapsecret carries a secret).
func commandName(line string) string {
	f := strings.Fields(line)
	if len(f) > 2 {
		f = f[:2]
	}
	s := strings.Join(f, " ")
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}
