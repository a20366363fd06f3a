package e2etest

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestISCSIPortalsServedFromModel starts the binary with its iSCSI target
// (on a free port) and checks every node portal accepts connections.
func TestISCSIPortalsServedFromModel(t *testing.T) {
	e := startEmu(t, t.TempDir(), "--iscsi=true", "--iscsi-port", "-1")
	info, err := e.control().Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(info.ISCSIPortals) != 2 {
		t.Fatalf("portals %v, want one per node (127.0.0.1, 127.0.0.2)", info.ISCSIPortals)
	}
	for _, p := range info.ISCSIPortals {
		c, err := net.DialTimeout("tcp", p, 5*time.Second)
		if err != nil {
			t.Fatalf("portal %s: %v", p, err)
		}
		c.Close()
	}
}
