package array

import (
	"context"
	"fmt"
	"strings"
)

// Transport carries one CLI command to the array and returns what it
// printed. argv has already passed ValidateArgv; implementations join it
// with single spaces (no quoting is needed or done) and never hand it to a
// local shell. A non-zero exit status is reported as *ExitError together
// with the output; failures where the command may not have reached the
// array wrap ErrTransport.
type Transport interface {
	Run(ctx context.Context, argv []string) (stdout, stderr []byte, err error)
}

// ExitError is a non-zero exit status from the array's CLI. It is not a
// transport failure: the command ran and its stderr says why it failed.
type ExitError struct{ Status int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Status) }

// JoinArgv is the one place a command line is built from argv (§1.2).
func JoinArgv(argv []string) string { return strings.Join(argv, " ") }

// secretFlags are flags whose value must never be logged or put in errors.
var secretFlags = map[string]bool{"-chapsecret": true}

// redact returns the command line for logs and errors, secrets replaced.
func redact(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if i > 0 && secretFlags[argv[i-1]] {
			out[i] = "<redacted>"
			continue
		}
		out[i] = a
	}
	return JoinArgv(out)
}
