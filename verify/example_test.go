package verify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authd/authd/dpop"
	"github.com/authd/authd/verify"
	"github.com/golang-jwt/jwt/v5"
)

// A service protects its routes with the middleware. One verifier per
// process: it keeps authd's keys and revocation list in memory.
func Example() {
	authd := startExampleAuthd() // stands in for https://auth.example.com
	defer authd.Close()

	v, err := verify.New(context.Background(), authd.URL, verify.WithAudience("orders"))
	if err != nil {
		log.Fatal(err) // authd unreachable or misconfigured
	}
	defer v.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /orders", v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "orders of %s", c.Subject)
	})))

	for _, token := range []string{authd.token("orders"), authd.token("billing"), ""} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/orders", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		mux.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body.String()[:min(rec.Body.Len(), 18)])
	}
	// Output:
	// 200  orders of user-42
	// 401 Bearer error="invalid_token" {"type":"about:bla
	// 401 Bearer {"type":"about:bla
}

// Verify returns the claims, or an error to test with errors.Is:
// ErrInvalidToken (answer 401) or ErrUnavailable (answer 503: the
// revocation list is stale and the verifier fails closed).
func ExampleVerifier_Verify() {
	authd := startExampleAuthd()
	defer authd.Close()
	v, err := verify.New(context.Background(), authd.URL, verify.WithAudience("billing"))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	for _, token := range []string{authd.token("orders", "billing"), authd.token("orders"), "not-a-token"} {
		c, err := v.Verify(context.Background(), token)
		switch {
		case errors.Is(err, verify.ErrUnavailable):
			fmt.Println("503: try again")
		case errors.Is(err, verify.ErrInvalidToken):
			fmt.Println("401")
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Println(c.Subject, c.Email, c.Audience)
		}
	}
	// Output:
	// user-42 ann@example.com [orders billing]
	// 401
	// 401
}

// RequireRole runs after Middleware and answers 403 to tokens without
// the role.
func ExampleRequireRole() {
	authd := startExampleAuthd()
	defer authd.Close()
	v, err := verify.New(context.Background(), authd.URL, verify.WithAudience("orders"))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "welcome") })
	mux := http.NewServeMux()
	mux.Handle("GET /staff", v.Middleware(verify.RequireRole("staff")(ok)))
	mux.Handle("GET /admin", v.Middleware(verify.RequireRole("admin")(ok)))

	for _, path := range []string{"/staff", "/admin"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+authd.token("orders")) // roles: staff
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(path, rec.Code)
	}
	// Output:
	// /staff 200
	// /admin 403
}

// The options: audiences, leeway, an HTTP client, a logger, the failure
// mode, the cache, and HS256 secrets (authd never publishes those).
func ExampleNew() {
	authd := startExampleAuthd()
	defer authd.Close()
	hs256Secret := make([]byte, 32) // shared out of band with authd under --jwt-alg HS256
	_, _ = rand.Read(hs256Secret)

	v, err := verify.New(context.Background(), authd.URL,
		verify.WithAudience("orders", "orders-admin"),
		verify.WithLeeway(10*time.Second),
		verify.WithHTTPClient(&http.Client{}),
		verify.WithMaxStaleness(5*time.Second), // the default: fail closed after 5 s without the feed
		verify.WithFailOpen(0),                 // the default: no fail-open window
		verify.WithCacheSize(50000),
		verify.WithHMACSecret("hs256-kid", hs256Secret),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	fmt.Println("ready")
	// Output:
	// ready
}

// With WithPublicURL the middleware accepts DPoP-bound tokens (RFC 9449)
// too, each sent as "Authorization: DPoP <token>" with a new proof of
// the token's key in the DPoP header; the same token as a bearer token,
// or a proof used twice, is refused. (The client's side is shown with
// go-jose; a DPoP client library does it for you.)
func ExampleVerifier_Middleware_dpop() {
	authd := startExampleAuthd()
	defer authd.Close()
	v, err := verify.New(context.Background(), authd.URL, verify.WithAudience("orders"),
		verify.WithPublicURL("https://orders.example.com"), // as clients address this service
		// verify.WithReplays(store), // to catch a proof replayed to another instance
		// verify.WithDPoPRequired(), // to refuse bearer tokens altogether
	)
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	mux := http.NewServeMux()
	mux.Handle("GET /orders", v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "orders of %s (bound: %t)", c.Subject, c.JKT != "")
	})))

	// The client's key, and the token authd bound to it.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jkt, _ := dpop.Thumbprint(&key.PublicKey)
	token := authd.boundToken(jkt, "orders")
	proof := func() string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
			(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
		if err != nil {
			log.Fatal(err)
		}
		claims, _ := json.Marshal(map[string]any{"jti": b64(randBytes(16)), "htm": "GET",
			"htu": "https://orders.example.com/orders", "iat": time.Now().Unix(), "ath": dpop.ATH(token)})
		obj, err := signer.Sign(claims)
		if err != nil {
			log.Fatal(err)
		}
		s, _ := obj.CompactSerialize()
		return s
	}
	replayed := proof()

	for _, c := range []struct{ scheme, proof string }{{"DPoP", proof()}, {"DPoP", replayed}, {"DPoP", replayed}, {"Bearer", ""}} {
		req := httptest.NewRequest("GET", "/orders", nil)
		req.Header.Set("Authorization", c.scheme+" "+token)
		if c.proof != "" {
			req.Header.Set("DPoP", c.proof)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			fmt.Println(rec.Code, rec.Body)
		} else {
			challenge, _, _ := strings.Cut(rec.Header().Get("WWW-Authenticate"), ", algs=")
			fmt.Println(rec.Code, challenge)
		}
	}
	// Output:
	// 200 orders of user-42 (bound: true)
	// 200 orders of user-42 (bound: true)
	// 401 DPoP error="invalid_dpop_proof"
	// 401 DPoP error="invalid_token"
}

// exampleAuthd is a stand-in for authd in the examples: discovery, a JWKS
// with one Ed25519 key, an empty revocation feed, and tokens signed as
// authd signs them.
type exampleAuthd struct {
	*httptest.Server
	kid  string
	priv ed25519.PrivateKey
}

func startExampleAuthd() *exampleAuthd {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	a := &exampleAuthd{kid: "key-1", priv: priv}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": a.URL, "jwks_uri": a.URL + "/.well-known/jwks.json"})
	})
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{map[string]string{
			"kty": "OKP", "crv": "Ed25519", "x": b64(pub), "kid": a.kid, "alg": "EdDSA", "use": "sig"}}})
	})
	mux.HandleFunc("GET /v1/revocations", func(w http.ResponseWriter, r *http.Request) {
		if d, _ := time.ParseDuration(r.URL.Query().Get("wait")); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"cursor": "c0", "revoked": []any{}})
	})
	a.Server = httptest.NewServer(mux)
	return a
}

func (a *exampleAuthd) token(aud ...string) string { return a.boundToken("", aud...) }

// boundToken is a token bound to the key of thumbprint jkt (cnf.jkt), as
// authd issues to a client that sent a DPoP proof; unbound when jkt is "".
func (a *exampleAuthd) boundToken(jkt string, aud ...string) string {
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": a.URL, "sub": "user-42", "aud": aud, "exp": now.Add(15 * time.Minute).Unix(),
		"iat": now.Unix(), "nbf": now.Unix(), "jti": b64(randBytes(16)), "sid": "s1",
		"email": "ann@example.com", "roles": []string{"staff"},
	}
	if jkt != "" {
		claims["cnf"] = map[string]string{"jkt": jkt}
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header = map[string]any{"alg": "EdDSA", "kid": a.kid, "typ": "at+jwt"}
	s, err := t.SignedString(a.priv)
	if err != nil {
		log.Fatal(err)
	}
	return s
}
