package main

import (
	"fmt"

	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/emulator/config"
	"github.com/instorage-csi/instorage-csi/emulator/sshd"
)

// accounts builds the CLI accounts. With none configured, the demo account
// admin:admin is used, but only on loopback and with a loud warning.
func accounts(c *config.Config) (*sshd.Credentials, error) {
	if len(c.Users) == 0 {
		if !config.IsLoopback(c.SSH.Addr) {
			return nil, fmt.Errorf("no CLI account configured and SSH listens on %s; give --user or users in --config", c.SSH.Addr)
		}
		klog.InfoS("WARNING: no CLI account configured; using the demo account admin:admin. Only for demos on loopback; give --user NAME:PASSWORD or users in --config",
			"user", config.DemoUser)
		c.Users = []config.User{{Name: config.DemoUser, Password: config.DemoPassword}}
	}
	return config.Credentials(c.Users)
}
