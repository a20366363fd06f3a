package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
)

// arrayEndpoint is one -arrays entry: the array's name and either the address
// of its SSH CLI (arrays outside the cluster, reached directly) or the name of
// the emulator pod serving it (in-cluster demo, reached by port-forward).
type arrayEndpoint struct {
	name string
	addr string // host:port, direct SSH
	pod  string // emulator pod in -driver-namespace
}

// parseArrays reads "name=HOST:PORT,name=POD,...": a value with ':' is an SSH
// address, anything else an emulator pod name.
func parseArrays(v string) ([]arrayEndpoint, error) {
	var out []arrayEndpoint
	seen := map[string]bool{}
	for _, pair := range strings.Split(v, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		name, target, ok := strings.Cut(pair, "=")
		name, target = strings.TrimSpace(name), strings.TrimSpace(target)
		if !ok || name == "" || target == "" {
			return nil, fmt.Errorf("-arrays entry %q: want name=HOST:PORT or name=POD", pair)
		}
		if seen[name] {
			return nil, fmt.Errorf("-arrays: array %q listed twice", name)
		}
		seen[name] = true
		if !strings.Contains(target, ":") {
			out = append(out, arrayEndpoint{name: name, pod: target})
			continue
		}
		host, port, err := net.SplitHostPort(target)
		if err != nil || host == "" {
			return nil, fmt.Errorf("-arrays entry %q: %q is not HOST:PORT", pair, target)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("-arrays entry %q: port %q must be 1-65535", pair, port)
		}
		out = append(out, arrayEndpoint{name: name, addr: target})
	}
	if len(out) == 0 {
		return nil, errors.New("-arrays is empty (or pass -skip-array-checks)")
	}
	return out, nil
}

// directAccess is the CLI account and the pinned host keys for arrays reached
// directly. The password is read from a file so it never appears on a
// command line, and it is never put into an error or a log line.
type directAccess struct {
	user       string
	password   string
	knownHosts string
}

func loadDirectAccess(user, passwordFile, knownHosts string) (directAccess, error) {
	if user == "" {
		return directAccess{}, errors.New("-array-user is required for arrays given as HOST:PORT")
	}
	if passwordFile == "" || knownHosts == "" {
		return directAccess{}, errors.New("-array-password-file and -array-known-hosts are required for arrays given as HOST:PORT (host keys are always verified)")
	}
	// One trailing newline is the file's, not the password's (as secretDir).
	pw, err := config.ReadValueFile(passwordFile)
	if err != nil {
		return directAccess{}, fmt.Errorf("-array-password-file: %w", err)
	}
	if _, err := os.Stat(knownHosts); err != nil {
		return directAccess{}, fmt.Errorf("-array-known-hosts: %w", err)
	}
	return directAccess{user: user, password: pw, knownHosts: knownHosts}, nil
}

// dialDirect connects to an array's SSH CLI with its host key checked against
// known_hosts (an "[ip]:port" line) and proves the session with lssystem.
func dialDirect(ctx context.Context, name, addr string, a directAccess) (*array.CLI, error) {
	cb, err := array.KnownHostsHostKeyCallback(a.knownHosts)
	if err != nil {
		return nil, err
	}
	tr, err := array.NewSSHTransport(array.SSHOptions{Addr: addr, User: a.user, Password: a.password,
		HostKeyCallback: cb, HostKeyAlgorithms: array.KnownHostsAlgorithms(a.knownHosts, addr),
		ArrayName: name, MaxConns: 1, DialTimeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	cli := array.NewCLI(tr, array.WithArrayName(name), array.WithCommandTimeout(60*time.Second))
	if _, err := cli.LsSystem(ctx); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("lssystem on %s at %s: %w", name, addr, err)
	}
	return cli, nil
}
