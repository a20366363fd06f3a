package array

import (
	"fmt"

	"golang.org/x/crypto/ssh"
	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
)

// HostKeyCallbackFor builds the host-key check a storage[] entry asks for:
// knownHostsFile, hostKeyFingerprint, or (demos only) none.
func HostKeyCallbackFor(s *config.Storage) (ssh.HostKeyCallback, error) {
	switch {
	case s.KnownHostsFile != "":
		return KnownHostsHostKeyCallback(s.KnownHostsFile)
	case s.HostKeyFingerprint != "":
		return FingerprintHostKeyCallback(s.HostKeyFingerprint)
	case s.InsecureSkipHostKeyVerify:
		klog.InfoS("WARNING: SSH host key of the array is NOT verified (insecureSkipHostKeyVerify: true); use only for demos",
			"storage", s.Name, "host", s.Host)
		return ssh.InsecureIgnoreHostKey(), nil
	}
	return nil, fmt.Errorf("storage %s: no host key verification configured (knownHostsFile or hostKeyFingerprint)", s.Name)
}

// Connect returns the Client for one loaded (config.Load) storage entry,
// over a pooled SSH transport. Nothing is dialled until the first command.
// m may be nil. Close the returned CLI to release its connections.
func Connect(s *config.Storage, m *Metrics) (*CLI, error) {
	cb, err := HostKeyCallbackFor(s)
	if err != nil {
		return nil, err
	}
	o := SSHOptions{
		Addr: s.Host, User: s.Username, Password: s.Password,
		HostKeyCallback: cb, ArrayName: s.Name, Metrics: m,
	}
	if s.KnownHostsFile != "" {
		o.HostKeyAlgorithms = KnownHostsAlgorithms(s.KnownHostsFile, s.Host)
	}
	t, err := NewSSHTransport(o)
	if err != nil {
		return nil, fmt.Errorf("storage %s: %w", s.Name, err)
	}
	return NewCLI(t, WithArrayName(s.Name), WithMetrics(m)), nil
}
