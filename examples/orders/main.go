// Command orders is an example service that trusts authd's access tokens
// through verify's middleware, the shortest way: every route is wrapped in
// Verifier.Middleware, which answers 401 for a missing, forged, expired,
// revoked or other-audience token and 503 while the revocation list is
// stale, before any handler runs. Handlers read the verified claims with
// verify.ClaimsFrom.
//
//	GET /orders       the caller's identity (standing in for their orders),
//	                  for any token whose aud names "orders"
//	GET /orders/all   the same, for tokens that also carry the role "admin"
//	                  (verify.RequireRole: 403 otherwise)
//
//	orders --addr 127.0.0.1:8081 --issuer http://127.0.0.1:8080
//
// examples/billing checks tokens without the middleware. See
// examples/README.md.
package main

import (
	"net/http"

	"github.com/authd/authd/examples/internal/service"
	"github.com/authd/authd/verify"
)

func main() { service.Main("orders", "127.0.0.1:8081", routes) }

// routes puts the verifier's middleware in front of every route.
func routes(mux *http.ServeMux, v *verify.Verifier) {
	mux.Handle("GET /orders", v.Middleware(http.HandlerFunc(listOrders)))
	mux.Handle("GET /orders/all", v.Middleware(verify.RequireRole("admin")(http.HandlerFunc(listOrders))))
}

// listOrders answers who is asking: the claims the middleware verified.
func listOrders(w http.ResponseWriter, r *http.Request) {
	c, _ := verify.ClaimsFrom(r.Context())
	service.JSON(w, map[string]any{
		"service": "orders",
		"subject": c.Subject,
		"email":   c.Email,
		"roles":   c.Roles,
		"orders":  []string{},
	})
}
