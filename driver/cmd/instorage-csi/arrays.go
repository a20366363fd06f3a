package main

import (
	"fmt"

	gossh "golang.org/x/crypto/ssh"
	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
	"github.com/instorage-csi/instorage-csi/driver/pkg/controller"
)

// newController connects (lazily) to every configured array and builds the
// Controller service. closeAll drops the SSH connections.
func newController(cfg *config.Config, m *array.Metrics) (*controller.Server, func(), error) {
	clients := map[string]array.Client{}
	var closers []func() error
	closeAll := func() {
		for _, c := range closers {
			_ = c()
		}
	}
	for _, st := range cfg.Storage {
		cb, err := hostKeyCallback(st)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("storage %s: %w", st.Name, err)
		}
		t, err := array.NewSSHTransport(array.SSHOptions{
			Addr: st.Host, User: st.Username, Password: st.Password,
			HostKeyCallback: cb, ArrayName: st.Name, Metrics: m,
		})
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("storage %s: %w", st.Name, err)
		}
		cli := array.NewCLI(t, array.WithArrayName(st.Name), array.WithMetrics(m))
		closers = append(closers, cli.Close)
		clients[st.Name] = cli
	}
	ctrl, err := controller.New(cfg.Storage, clients, controller.Options{
		HostnamePrefix: cfg.Host.HostnamePrefix, Link: cfg.Host.Link, Task: cfg.Task,
	})
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return ctrl, closeAll, nil
}

// hostKeyCallback verifies the array's SSH host key: a pinned fingerprint,
// else a known_hosts file; skipping verification must be asked for.
func hostKeyCallback(st config.Storage) (gossh.HostKeyCallback, error) {
	switch {
	case st.HostKeyFingerprint != "":
		return array.FingerprintHostKeyCallback(st.HostKeyFingerprint)
	case st.KnownHostsFile != "":
		return array.KnownHostsHostKeyCallback(st.KnownHostsFile)
	case st.InsecureSkipHostKeyVerify:
		klog.InfoS("WARNING: SSH host key of the array is not verified (insecureSkipHostKeyVerify); use only for demos", "storage", st.Name)
		return gossh.InsecureIgnoreHostKey(), nil
	}
	return nil, fmt.Errorf("no SSH host key check configured: set hostKeyFingerprint or knownHostsFile")
}
