package array

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the array client's Prometheus series. One *Metrics serves all
// arrays (label "array"); a nil *Metrics records nothing.
type Metrics struct {
	commandSeconds *prometheus.HistogramVec // array, command, result
	commandErrors  *prometheus.CounterVec   // array, command, code
	poolConns      *prometheus.GaugeVec     // array
	poolSessions   *prometheus.GaugeVec     // array
	poolWaits      *prometheus.CounterVec   // array
	poolDials      *prometheus.CounterVec   // array, result
	poolDrops      *prometheus.CounterVec   // array
}

// NewMetrics creates the series and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		commandSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "instorage", Subsystem: "array", Name: "command_duration_seconds",
			Help:    "Latency of MCS CLI commands by sub-command and result (ok, cli_error, transport_error, invalid, bad_output).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"array", "command", "result"}),
		commandErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "instorage", Subsystem: "array", Name: "command_errors_total",
			Help: "Failed MCS CLI commands by sub-command and CMMVC code (or transport_error, invalid, bad_output, no_code).",
		}, []string{"array", "command", "code"}),
		poolConns: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "instorage", Subsystem: "ssh", Name: "connections",
			Help: "Open SSH connections in the pool.",
		}, []string{"array"}),
		poolSessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "instorage", Subsystem: "ssh", Name: "sessions_in_use",
			Help: "SSH sessions (commands) currently running.",
		}, []string{"array"}),
		poolWaits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "instorage", Subsystem: "ssh", Name: "session_waits_total",
			Help: "Commands that had to wait for a free session slot.",
		}, []string{"array"}),
		poolDials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "instorage", Subsystem: "ssh", Name: "dials_total",
			Help: "New SSH connections attempted, by result (ok, error).",
		}, []string{"array", "result"}),
		poolDrops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "instorage", Subsystem: "ssh", Name: "connections_dropped_total",
			Help: "Connections dropped as broken (failed keepalive, session error, EOF); the next command reconnects.",
		}, []string{"array"}),
	}
	for _, c := range []prometheus.Collector{m.commandSeconds, m.commandErrors, m.poolConns, m.poolSessions, m.poolWaits, m.poolDials, m.poolDrops} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func resultOf(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrTransport):
		return "transport_error"
	case errors.Is(err, ErrInvalidArgument):
		return "invalid"
	case errors.Is(err, ErrUnexpectedOutput):
		return "bad_output"
	}
	return "cli_error"
}

func (m *Metrics) observeCommand(array, command string, d time.Duration, err error) {
	if m == nil {
		return
	}
	r := resultOf(err)
	m.commandSeconds.WithLabelValues(array, command, r).Observe(d.Seconds())
	if err == nil {
		return
	}
	code := r
	if r == "cli_error" {
		if code = ErrorCode(err); code == "" {
			code = "no_code"
		}
	}
	m.commandErrors.WithLabelValues(array, command, code).Inc()
}

func (m *Metrics) addConns(array string, n int) {
	if m != nil {
		m.poolConns.WithLabelValues(array).Add(float64(n))
	}
}

func (m *Metrics) addSessions(array string, n int) {
	if m != nil {
		m.poolSessions.WithLabelValues(array).Add(float64(n))
	}
}

func (m *Metrics) incWaits(array string) {
	if m != nil {
		m.poolWaits.WithLabelValues(array).Inc()
	}
}

func (m *Metrics) incDials(array string, err error) {
	if m == nil {
		return
	}
	r := "ok"
	if err != nil {
		r = "error"
	}
	m.poolDials.WithLabelValues(array, r).Inc()
}

func (m *Metrics) incDrops(array string) {
	if m != nil {
		m.poolDrops.WithLabelValues(array).Inc()
	}
}
