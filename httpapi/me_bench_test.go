package httpapi_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/authd/authd/account"
	"github.com/authd/authd/httpapi"
	"github.com/authd/authd/session"
)

// BenchmarkMeVsHealthz is what GET /v1/me costs in the handler stack
// beyond the bare endpoint, GET /healthz, with the caches on as serve runs
// them: the session cookie through the session cache, the bearer token
// through the verified-token cache, and the user's email_verified from
// this node's memory. Logging is at serve's default level (info). The
// difference in ns/op between me/* and healthz is the whole of what
// authentication adds to a request; authd bench's ratio puts it beside
// the cost of the connection and of net/http (issue #19, item 3).
//
//	go test -run '^$' -bench MeVsHealthz -benchmem -count 5 ./httpapi
//	go test -run '^$' -bench 'MeVsHealthz/me-session' -cpuprofile /tmp/me.out ./httpapi
//	go tool pprof -top -cum -focus ServeHTTP httpapi.test /tmp/me.out
func BenchmarkMeVsHealthz(b *testing.B) {
	quiet := slog.New(slog.NewTextHandler(nil, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := newHarness(b, func(o *options) { o.sessionCache = true },
		with(func(hc *httpapi.Config, ac *account.Config, sc *session.Config) { hc.Logger = quiet }))
	c := h.login("ann@example.com")
	r := h.do(c, "POST", "/v1/session/token", nil)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(r.body, &tok); err != nil || tok.AccessToken == "" {
		b.Fatalf("session token: %d %s", r.StatusCode, r.body)
	}
	srvURL, err := url.Parse(h.srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	cookies := c.Jar.Cookies(srvURL)
	handler := h.srv.Config.Handler
	run := func(b *testing.B, path string, set func(*http.Request)) {
		for b.Loop() {
			req := httptest.NewRequest("GET", path, nil)
			set(req)
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
			}
		}
	}
	b.Run("healthz", func(b *testing.B) { run(b, "/healthz", func(*http.Request) {}) })
	b.Run("me-session", func(b *testing.B) {
		run(b, "/v1/me", func(r *http.Request) {
			for _, ck := range cookies {
				r.AddCookie(ck)
			}
		})
	})
	b.Run("me-bearer", func(b *testing.B) {
		run(b, "/v1/me", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok.AccessToken) })
	})
}
