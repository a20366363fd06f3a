package main

import (
	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
	"github.com/instorage-csi/instorage-csi/driver/pkg/controller"
)

// newController connects (lazily, with host-key verification) to every
// configured array and builds the Controller service. closeAll drops the
// SSH connections.
func newController(cfg *config.Config, m *array.Metrics, topology bool) (*controller.Server, func(), error) {
	clients := map[string]array.Client{}
	var closers []func() error
	closeAll := func() {
		for _, c := range closers {
			_ = c()
		}
	}
	for i := range cfg.Storage {
		cli, err := array.Connect(&cfg.Storage[i], m)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		closers = append(closers, cli.Close)
		clients[cfg.Storage[i].Name] = cli
	}
	ctrl, err := controller.New(cfg.Storage, clients, controller.Options{
		HostnamePrefix: cfg.Host.HostnamePrefix, Link: cfg.Host.Link, Task: cfg.Task, Topology: topology,
	})
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return ctrl, closeAll, nil
}
