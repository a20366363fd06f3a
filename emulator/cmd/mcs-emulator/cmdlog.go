package main

import (
	"context"
	"strings"
	"time"

	"github.com/instorage-csi/instorage-csi/emulator/console"
	"github.com/instorage-csi/instorage-csi/emulator/sshd"
)

// loggedRunner records every SSH command in the console's log with secrets
// (chhost -chapsecret) redacted, since the console is a web page.
type loggedRunner struct {
	inner sshd.Runner
	log   *console.CommandLog
}

func (r loggedRunner) Run(ctx context.Context, user, line string) ([]byte, []byte, int) {
	start := time.Now()
	out, errOut, code := r.inner.Run(ctx, user, line)
	r.log.Add(console.Entry{
		Time:      start.UTC(),
		User:      user,
		Command:   sshd.Redact(line),
		LatencyMS: float64(time.Since(start).Microseconds()) / 1000,
		Exit:      code,
		Error:     strings.TrimSpace(string(errOut)),
	})
	return out, errOut, code
}
