package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// Unknown paths outside the APIs are a page; inside them, a problem.
func TestNotFoundPage(t *testing.T) {
	h := newHarness(t)
	r := h.do(nil, "GET", "/no/such/page", nil)
	if r.StatusCode != 404 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), "Page not found") {
		t.Fatalf("%d %q %s", r.StatusCode, r.Header.Get("Content-Type"), r.body)
	}
	if r.Header.Get("Content-Security-Policy") == "" {
		t.Fatal("404 page without CSP")
	}
	assertProblem(t, h.do(nil, "GET", "/v1/no/such", nil), 404)
}

// TestGetOnFormURLs: a browser GET on a URL that a form posts to is a
// redirect to the page with the form — never raw JSON, never a state
// change (the session lives on after GET /logout and friends).
func TestGetOnFormURLs(t *testing.T) {
	h := newHarness(t)
	a := h.login("ann@example.com")
	noRedirect := *a
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	tests := []struct{ path, to string }{
		{"/signup", "/login"},
		{"/logout", "/account"},
		{"/account/sessions/x/revoke", "/account"},
		{"/account/sessions/revoke-others", "/account"},
		{"/account/signout-everywhere", "/account"},
		{"/account/password", "/account"},
		{"/account/token", "/account"},
	}
	for _, tt := range tests {
		anon := &http.Client{CheckRedirect: noRedirect.CheckRedirect}
		for _, c := range []*http.Client{&noRedirect, anon} {
			r := h.do(c, "GET", tt.path, nil)
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != tt.to {
				t.Errorf("GET %s (signed in %v): %d Location %q, want 303 to %s", tt.path, c != anon, r.StatusCode, r.Header.Get("Location"), tt.to)
			}
		}
	}
	if r := h.do(a, "GET", "/v1/me", nil); r.StatusCode != 200 {
		t.Fatalf("the session died of GETs on form URLs: %d", r.StatusCode)
	}
	// Another method on a page URL is a page too.
	r := h.do(nil, "PUT", "/account/password", nil)
	if r.StatusCode != 405 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(r.Header.Get("Allow"), "POST") {
		t.Fatalf("PUT /account/password: %d %q Allow %q", r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Allow"))
	}
	assertProblem(t, h.do(nil, "PUT", "/v1/me", nil), 405)
}
