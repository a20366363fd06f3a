package sshd

import "context"

// Runner executes one CLI command line (the SSH exec payload, untouched) as
// user and returns what the array would print. The CLI front end
// (emulator/cli) implements it; the SSH layer only authenticates and
// dispatches, so each can be tested without the other.
type Runner interface {
	Run(ctx context.Context, user, commandLine string) (stdout, stderr []byte, exitStatus int)
}
