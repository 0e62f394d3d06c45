package verify

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

type claimsKey struct{}

// ClaimsFrom returns the claims Middleware put into the request's context.
func ClaimsFrom(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	if !ok {
		return Claims{}, false
	}
	return *c, true
}

// WithClaims returns a copy of ctx carrying c, as Middleware does (for
// tests of handlers that read ClaimsFrom).
func WithClaims(ctx context.Context, c Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, &c)
}

// Middleware authenticates every request by its "Authorization: Bearer"
// token and calls next with the claims in the request's context
// (ClaimsFrom). Otherwise it answers:
//   - 401 with "WWW-Authenticate: Bearer" when there is no Authorization
//     header, and with `Bearer error="invalid_token"` when the header is
//     not one bearer token or the token is refused (RFC 6750 §3); the body
//     says nothing about why (the reason is logged at debug level);
//   - 503 with Retry-After when the token cannot be checked because the
//     revocation list is stale (fail closed).
//
// Put CORS handling in front of it: a preflight (OPTIONS) request carries
// no token and would get the 401.
//
// NOTE: tokens are read from the Authorization header only, never from
// the URL, a form or a cookie (SECURITY J13).
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, present, ok := bearer(r)
		if !present {
			unauthorized(w, `Bearer`)
			return
		}
		if !ok {
			unauthorized(w, `Bearer error="invalid_token"`)
			return
		}
		c, err := v.verify(r.Context(), tok)
		if err != nil {
			if errors.Is(err, ErrUnavailable) {
				w.Header().Set("Retry-After", "1")
				problem(w, http.StatusServiceUnavailable, "the token cannot be checked right now; try again shortly")
				return
			}
			v.cfg.log.DebugContext(r.Context(), "verify: token refused", "err", err)
			unauthorized(w, `Bearer error="invalid_token"`)
			return
		}
		next.ServeHTTP(w, r.WithContext(newClaimsContext(r.Context(), c)))
	})
}

// claimsContext carries a request's claims: the context, the caller's copy
// of the claims and, for the usual few audiences and roles, their slices,
// in one allocation (the middleware runs on every request).
type claimsContext struct {
	context.Context
	claims Claims
	buf    [8]string
}

func newClaimsContext(parent context.Context, c *Claims) *claimsContext {
	cc := &claimsContext{Context: parent, claims: *c}
	na, nr := len(c.Audience), len(c.Roles)
	if na+nr > len(cc.buf) {
		cc.claims = c.clone()
		return cc
	}
	// Copies, so that a handler changing its claims changes nothing held
	// by the verifier's cache.
	if c.Audience != nil {
		cc.claims.Audience = cc.buf[:na:na]
		copy(cc.claims.Audience, c.Audience)
	}
	if c.Roles != nil {
		cc.claims.Roles = cc.buf[na : na+nr : na+nr]
		copy(cc.claims.Roles, c.Roles)
	}
	return cc
}

// Value answers claimsKey with the claims and defers everything else to
// the parent, as context.WithValue does.
func (cc *claimsContext) Value(key any) any {
	if key == (claimsKey{}) {
		return &cc.claims
	}
	return cc.Context.Value(key)
}

// RequireRole returns middleware that lets through only requests whose
// claims (put there by Middleware, which must run first) carry role; others
// get 403 with `WWW-Authenticate: Bearer error="insufficient_scope"` (RFC
// 6750 §3.1), or 401 when there are no claims at all.
//
//	mux.Handle("GET /admin", v.Middleware(verify.RequireRole("admin")(admin)))
func RequireRole(role string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := ClaimsFrom(r.Context())
			if !ok {
				unauthorized(w, `Bearer`)
				return
			}
			if !c.HasRole(role) {
				w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
				problem(w, http.StatusForbidden, "the token does not grant this role")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// bearer returns the token of the request's "Authorization: Bearer"
// header: present is false without the header; ok is false when there is
// more than one, or it is not one bearer token, or it is too long.
func bearer(r *http.Request) (tok string, present, ok bool) {
	h := r.Header["Authorization"]
	switch {
	case len(h) == 0:
		return "", false, false
	case len(h) > 1 || len(h[0]) > MaxTokenSize+len("Bearer "):
		return "", true, false
	}
	scheme, tok, found := strings.Cut(h[0], " ")
	// (IndexByte, not ContainsAny: this runs on every request.)
	if !found || !strings.EqualFold(scheme, "Bearer") || tok == "" || strings.IndexByte(tok, ' ') >= 0 || strings.IndexByte(tok, '\t') >= 0 {
		return "", true, false
	}
	return tok, true, true
}

func unauthorized(w http.ResponseWriter, challenge string) {
	w.Header().Set("WWW-Authenticate", challenge)
	problem(w, http.StatusUnauthorized, "a valid bearer token is required")
}

// problem writes a small RFC 9457 body; detail never carries the reason a
// token was refused.
func problem(w http.ResponseWriter, status int, detail string) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"type":"about:blank","title":"` + http.StatusText(status) + `","status":` +
		strconv.Itoa(status) + `,"detail":"` + detail + `"}`))
}
