package sshd

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the SSH front end's Prometheus collectors.
type Metrics struct {
	connections *prometheus.CounterVec
	active      prometheus.Gauge
	commands    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
}

// NewMetrics creates the collectors and registers them on reg (nil: kept
// unregistered, e.g. in tests that start several servers).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcs_emulator_ssh_connections_total",
			Help: "SSH connections by outcome (accepted, refused_limit, refused_rate, handshake_failed).",
		}, []string{"result"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mcs_emulator_ssh_connections_active",
			Help: "SSH connections currently open.",
		}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcs_emulator_commands_total",
			Help: "CLI commands run over SSH by sub-command and exit status.",
		}, []string{"command", "exit_status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mcs_emulator_command_duration_seconds",
			Help:    "Time to run one CLI command, including injected latency.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"command"}),
	}
	if reg != nil {
		reg.MustRegister(m.connections, m.active, m.commands, m.duration)
	}
	return m
}
