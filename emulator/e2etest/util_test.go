package e2etest

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"time"
)

func itoa(i int) string { return strconv.Itoa(i) }

// runBinary runs a short-lived mcs-emulator sub-command.
func runBinary(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, args...).CombinedOutput()
	return string(out), err
}

func writeFile(t interface{ Fatal(...any) }, path, data string) {
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
