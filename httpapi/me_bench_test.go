package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
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
// the cost of the connection and of net/http (issue #19, item 3). The
// handler/* runs are the handler stack alone; http/* the same over
// loopback keep-alive connections from 32 clients, whose CPU shares the
// process: the server's part of a profile is under conn.serve.
//
//	go test -run '^$' -bench MeVsHealthz/handler -benchmem -count 5 ./httpapi
//	go test -run '^$' -bench 'MeVsHealthz/http/me-bearer' -benchtime 200000x -cpuprofile /tmp/me.out -o /tmp/httpapi.test ./httpapi
//	go tool pprof -top -cum -focus 'conn..serve' /tmp/httpapi.test /tmp/me.out
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
	sessionReq := func(r *http.Request) {
		for _, ck := range cookies {
			r.AddCookie(ck)
		}
	}
	bearerReq := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok.AccessToken) }
	// handler: the handler stack alone, no connection.
	inProcess := func(b *testing.B, path string, set func(*http.Request)) {
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
	// http: over loopback keep-alive connections from 32 clients, as authd
	// bench sends them; the client's CPU is in the same process, so read
	// the server's share from a profile (conn.serve).
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	overHTTP := func(b *testing.B, path string, set func(*http.Request)) {
		b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest("GET", h.srv.URL+path, nil)
				set(req)
				res, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Errorf("%s: %d", path, res.StatusCode)
					return
				}
			}
		})
	}
	for _, m := range []struct {
		name string
		run  func(*testing.B, string, func(*http.Request))
	}{{"handler", inProcess}, {"http", overHTTP}} {
		b.Run(m.name+"/healthz", func(b *testing.B) { m.run(b, "/healthz", func(*http.Request) {}) })
		b.Run(m.name+"/me-session", func(b *testing.B) { m.run(b, "/v1/me", sessionReq) })
		b.Run(m.name+"/me-bearer", func(b *testing.B) { m.run(b, "/v1/me", bearerReq) })
	}
}
