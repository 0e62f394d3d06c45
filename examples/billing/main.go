// Command billing is an example service that checks authd's access tokens
// itself, without verify's middleware: its handler takes the bearer token
// from the request, calls Verifier.Verify, and turns the error into an
// answer (ErrInvalidToken: 401; ErrUnavailable: 503). That is the shape
// for a handler that needs more control than the middleware gives, or for
// a token that does not come over HTTP. It also reports its readiness
// from Verifier.Ready, so that a load balancer sends requests elsewhere
// while it cannot check tokens.
//
//	GET /invoices   the caller's identity (standing in for their invoices),
//	                for any token whose aud names "billing"
//	GET /readyz     200, or 503 while the revocation list is stale
//
//	billing --addr 127.0.0.1:8082 --issuer http://127.0.0.1:8080
//
// examples/orders does the same through the middleware. See
// examples/README.md.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/authd/authd/examples/internal/service"
	"github.com/authd/authd/verify"
)

func main() { service.Main("billing", "127.0.0.1:8082", routes) }

// routes hands the verifier to the handlers, which call it themselves.
func routes(mux *http.ServeMux, v *verify.Verifier) {
	mux.Handle("GET /invoices", invoices{v})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := v.Ready(); err != nil {
			http.Error(w, "revocation list stale", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
}

// invoices answers GET /invoices with the identity of the token's holder.
type invoices struct{ v *verify.Verifier }

func (h invoices) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tok, present := bearerToken(r)
	if !present {
		w.Header().Set("WWW-Authenticate", "Bearer")
		http.Error(w, "a bearer token is required", http.StatusUnauthorized)
		return
	}
	c, err := h.v.Verify(r.Context(), tok)
	switch {
	case errors.Is(err, verify.ErrUnavailable):
		// NOTE: fail closed. The revocation list is stale, so nobody can
		// tell whether the token was revoked meanwhile.
		w.Header().Set("Retry-After", "1")
		http.Error(w, "try again shortly", http.StatusServiceUnavailable)
		return
	case err != nil: // wraps verify.ErrInvalidToken
		// NOTE: the reason is for the logs; the client is never told why.
		slog.DebugContext(r.Context(), "billing: token refused", "err", err)
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	service.JSON(w, map[string]any{
		"service":  "billing",
		"subject":  c.Subject,
		"email":    c.Email,
		"invoices": []string{},
	})
}

// bearerToken returns the token of the request's "Authorization: Bearer"
// header: present is false without the header; tok is "" (which Verify
// refuses) when there are several or it is not a bearer token. Verify
// checks the rest, the token's size first of all.
//
// NOTE: the token is taken from that header only, never from the URL or a
// cookie, as the middleware does (SECURITY J13).
func bearerToken(r *http.Request) (tok string, present bool) {
	h := r.Header.Values("Authorization")
	if len(h) == 0 {
		return "", false
	}
	if scheme, tok, ok := strings.Cut(h[0], " "); ok && len(h) == 1 && strings.EqualFold(scheme, "Bearer") {
		return tok, true
	}
	return "", true
}
