package e2etest

import (
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// TestMetricsCountSSHActivity: /metrics on the control address counts
// connections and commands by outcome.
func TestMetricsCountSSHActivity(t *testing.T) {
	e := startEmu(t, t.TempDir())
	c := e.dial()
	mustOK(t, c, "mcsinq lssystem -delim !")
	run(t, c, "mcsinq lsvdisk -delim ! no-such-vdisk")
	if _, err := e.tryDial(testUser, gossh.Password("wrong")); err == nil {
		t.Fatal("wrong password accepted")
	}
	wants := []string{
		`mcs_emulator_commands_total{command="lssystem",exit_status="0"} 1`,
		`mcs_emulator_commands_total{command="lsvdisk",exit_status="1"} 1`,
		`mcs_emulator_ssh_connections_total{result="accepted"} 2`,
		`mcs_emulator_ssh_connections_total{result="handshake_failed"} 1`,
		`mcs_emulator_ssh_connections_active 1`,
		`process_resident_memory_bytes`,
	}
	// The refused connection is torn down asynchronously on the server.
	deadline := time.Now().Add(5 * time.Second)
	for {
		m := httpGet(t, "http://"+e.ControlAddr+"/metrics")
		var missing []string
		for _, w := range wants {
			if !strings.Contains(m, w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %q", missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
