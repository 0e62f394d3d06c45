package verify_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/verify"
)

func TestMiddleware(t *testing.T) {
	ed := newKey(t, "EdDSA")
	is := newIssuer(t, ed)
	clk := newClock()
	v := newVerifier(t, is, verify.WithClock(clk.Now))

	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := verify.ClaimsFrom(r.Context())
		if !ok {
			t.Error("handler called without claims")
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"sub": c.Subject, "roles": c.Roles})
	})
	mux := http.NewServeMux()
	mux.Handle("GET /me", v.Middleware(whoami))
	mux.Handle("GET /staff", v.Middleware(verify.RequireRole("staff")(whoami)))
	mux.Handle("GET /admin", v.Middleware(verify.RequireRole("admin")(whoami)))
	mux.Handle("GET /misordered", verify.RequireRole("admin")(whoami))

	good := ed.token(t, is.claims(clk.Now()))
	revokedClaims := is.claims(clk.Now())
	revoked := ed.token(t, revokedClaims)
	is.revoke("jti", revokedClaims["jti"].(string), clk.Now().Add(time.Hour))
	eventually(t, time.Second, "revocation seen", func() bool { return v.RevokedLen() == 1 })

	tests := []struct {
		name, path string
		auth       []string
		status     int
		challenge  string // WWW-Authenticate
		body       string // a piece of the body
	}{
		{"valid", "/me", []string{"Bearer " + good}, 200, "", `"sub":"user-1"`},
		{"scheme in lower case", "/me", []string{"bearer " + good}, 200, "", `"sub":"user-1"`},
		{"no header", "/me", nil, 401, `Bearer`, "bearer token is required"},
		{"basic", "/me", []string{"Basic dXNlcjpwYXNz"}, 401, `Bearer error="invalid_token"`, ""},
		{"no token", "/me", []string{"Bearer "}, 401, `Bearer error="invalid_token"`, ""},
		{"two tokens", "/me", []string{"Bearer " + good + " " + good}, 401, `Bearer error="invalid_token"`, ""},
		{"two headers", "/me", []string{"Bearer " + good, "Bearer " + good}, 401, `Bearer error="invalid_token"`, ""},
		{"garbage", "/me", []string{"Bearer abc.def.ghi"}, 401, `Bearer error="invalid_token"`, ""},
		{"oversized", "/me", []string{"Bearer " + strings.Repeat("a", 9<<10)}, 401, `Bearer error="invalid_token"`, ""},
		{"revoked", "/me", []string{"Bearer " + revoked}, 401, `Bearer error="invalid_token"`, ""},
		{"role held", "/staff", []string{"Bearer " + good}, 200, "", `"roles":["staff"]`},
		{"role missing", "/admin", []string{"Bearer " + good}, 403, `Bearer error="insufficient_scope"`, "does not grant"},
		{"RequireRole without Middleware", "/misordered", []string{"Bearer " + good}, 401, `Bearer`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(mux, tc.path, tc.auth)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if !strings.Contains(rec.Body.String(), tc.body) {
				t.Fatalf("body %s, want %q in it", rec.Body, tc.body)
			}
			if rec.Code >= 400 {
				if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
					t.Fatalf("Content-Type %q", ct)
				}
				// No internal detail reaches the client (J13).
				if strings.Contains(rec.Body.String(), "signature") || strings.Contains(rec.Body.String(), "revoked") {
					t.Fatalf("body leaks the reason: %s", rec.Body)
				}
			}
		})
	}

	t.Run("stale revocation list", func(t *testing.T) {
		is.setFeedDown(true)
		defer is.setFeedDown(false)
		clk.Advance(verify.DefaultMaxStaleness + time.Second)
		rec := serve(mux, "/me", []string{"Bearer " + good})
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
		}
		if rec.Header().Get("WWW-Authenticate") != "" {
			t.Fatal("a 503 carries a bearer challenge")
		}
	})
}

func serve(h http.Handler, path string, auth []string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestWithClaims(t *testing.T) {
	// Handlers behind the middleware can be tested without a verifier.
	h := verify.RequireRole("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFrom(r.Context())
		_, _ = io.WriteString(w, c.Subject)
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req = req.WithContext(verify.WithClaims(req.Context(), verify.Claims{Subject: "u1", Roles: []string{"admin"}}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.String() != "u1" {
		t.Fatalf("%d %q", rec.Code, rec.Body)
	}
}

// TestMiddlewareClaimsAreTheHandlers: a handler that changes its claims
// changes nothing for the next request (the cache keeps its own).
func TestMiddlewareClaimsAreTheHandlers(t *testing.T) {
	ed := newKey(t, "EdDSA")
	is := newIssuer(t, ed)
	v := newVerifier(t, is)
	var seen []string
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFrom(r.Context())
		seen = append(seen, c.Roles[0]+"/"+c.Audience[0])
		c.Roles[0], c.Audience[0] = "admin", "billing"
		if again, _ := verify.ClaimsFrom(r.Context()); again.Roles[0] != "admin" {
			t.Error("ClaimsFrom returned a different copy within one request")
		}
	}))
	cl := is.claims(time.Now())
	cl["roles"] = []string{"staff", "a", "b", "c", "d", "e", "f", "g", "h"} // past the inline buffer too
	for _, tok := range []string{ed.token(t, is.claims(time.Now())), ed.token(t, cl)} {
		seen = nil
		for range 2 {
			serve(h, "/", []string{"Bearer " + tok})
		}
		if len(seen) != 2 || seen[0] != "staff/orders" || seen[1] != "staff/orders" {
			t.Fatalf("handlers saw %q", seen)
		}
	}
}
