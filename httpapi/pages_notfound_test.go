package httpapi_test

import (
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
