package main

import (
	"net"
	"os"
	"path/filepath"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// KnownHostsFile is written into the state dir at start so OpenSSH and
// driver configs can pin the host key (knownHostsFile).
const KnownHostsFile = "known_hosts"

// writeKnownHosts records the host key as an OpenSSH known_hosts line for
// the bound address (and 127.0.0.1 when listening on all addresses).
func writeKnownHosts(dir, addr string, key gossh.PublicKey) error {
	host, port, _ := net.SplitHostPort(addr)
	var hosts []string
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		hosts = append(hosts, knownhosts.Normalize(net.JoinHostPort("127.0.0.1", port)))
	} else {
		hosts = append(hosts, knownhosts.Normalize(addr))
	}
	line := knownhosts.Line(hosts, key) + "\n"
	return os.WriteFile(filepath.Join(dir, KnownHostsFile), []byte(line), 0o644)
}
