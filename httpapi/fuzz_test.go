package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRequest throws arbitrary bodies, media types, cookies, bearer tokens
// and forwarded-for headers at every route that parses outside input. The
// invariant: never a 5xx (a panic would be a 500 from the recover).
//
//	go test -fuzz FuzzRequest -fuzztime 60s ./httpapi
func FuzzRequest(f *testing.F) {
	h := newHarness(f)
	h.register("ann@example.com")
	routes := []struct{ method, path string }{
		{"POST", "/v1/login"}, {"POST", "/v1/register"}, {"POST", "/v1/password"}, {"GET", "/v1/me"},
		{"GET", "/v1/authz"}, {"POST", "/oauth2/token"}, {"POST", "/oauth2/revoke"}, {"POST", "/oauth2/introspect"},
		{"GET", "/v1/revocations"}, {"DELETE", "/v1/sessions/x"}, {"POST", "/v1/logout"},
	}
	f.Add(uint8(0), "application/json", `{"email":"ann@example.com","password":"correct horse battery staple"}`, "", "", "", "")
	f.Add(uint8(1), "application/x-www-form-urlencoded", "email=a%40b.c&password=x&email=y", "authd_session=AAAA", "", "1.2.3.4", "")
	f.Add(uint8(3), "", "", "authd_session=\"quoted\"; authd_session=x", "Bearer eyJhbGciOiJub25lIn0.e30.", "", "")
	f.Add(uint8(5), "application/x-www-form-urlencoded", "grant_type=password&username=ann%40example.com&password=%ff%fe&resource=x&resource=authd", "", "", "::1, 999.1.1.1", "")
	f.Add(uint8(7), "application/x-www-form-urlencoded", "token=a.b.c", "", "Basic Og==", "", "")
	f.Add(uint8(8), "", "", "", "", "", "since=r-1&wait=-5s")
	handler := h.srv.Config.Handler
	f.Fuzz(func(t *testing.T, route uint8, ct, body, cookie, authz, xff, query string) {
		rt := routes[int(route)%len(routes)]
		target := rt.path
		if query != "" && !strings.ContainsAny(query, " #\x00") {
			target += "?" + query
		}
		req, err := http.NewRequest(rt.method, target, strings.NewReader(body))
		if err != nil {
			return
		}
		req.RemoteAddr = "127.0.0.1:1234"
		for k, v := range map[string]string{"Content-Type": ct, "Cookie": cookie, "Authorization": authz, "X-Forwarded-For": xff} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: %d %s", rt.method, target, rec.Code, rec.Body)
		}
	})
}
