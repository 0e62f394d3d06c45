package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type metrics struct {
	requests        *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	logins          *prometheus.CounterVec
	sessionsCreated prometheus.Counter
	sessionsRevoked prometheus.Counter
	handler         http.Handler
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authd_http_requests_total", Help: "HTTP requests by route, status code and outcome.",
		}, []string{"route", "code", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "authd_http_request_duration_seconds", Help: "HTTP request latency by route and outcome.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "outcome"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authd_logins_total", Help: "Password logins (form, JSON and password grant) by result: ok, failed, throttled.",
		}, []string{"result"}),
		sessionsCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "authd_sessions_created_total", Help: "Sessions created.",
		}),
		sessionsRevoked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "authd_sessions_revoked_total", Help: "Sessions ended by logout, revocation, password change or lock.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.logins, m.sessionsCreated, m.sessionsRevoked} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, r := range []string{"ok", "failed", "throttled"} {
		m.logins.WithLabelValues(r)
	}
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	return m, nil
}

func outcome(code int) string {
	switch {
	case code < 400:
		return "ok"
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return "denied"
	case code == http.StatusTooManyRequests:
		return "throttled"
	case code < 500:
		return "client_error"
	default:
		return "server_error"
	}
}

func (m *metrics) observe(route string, code int, d time.Duration) {
	o := outcome(code)
	m.requests.WithLabelValues(route, strconv.Itoa(code), o).Inc()
	m.duration.WithLabelValues(route, o).Observe(d.Seconds())
}
