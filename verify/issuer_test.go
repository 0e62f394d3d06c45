package verify_test

// A test issuer: an httptest server that serves a discovery document, a
// JWKS and a revocation feed the test controls, and signs tokens locally
// with golang-jwt. It stands in for authd in the unit tests and the
// benchmarks; integration_test.go runs against the real authd.

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/verify"
	"github.com/golang-jwt/jwt/v5"
)

// testKey is a signing key of the test issuer.
type testKey struct {
	kid, alg string
	priv     any
	jwk      map[string]any // nil for HS256
}

var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// newKey makes a key of alg with a fresh kid. RSA keys are generated once
// per test binary (2048-bit generation is slow).
func newKey(t testing.TB, alg string) *testKey {
	t.Helper()
	k := &testKey{kid: b64(randBytes(16)), alg: alg}
	switch alg {
	case "EdDSA":
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		k.priv = priv
		k.jwk = map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(pub)}
	case "ES256":
		priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		pt, _ := priv.PublicKey.Bytes()
		k.priv = priv
		k.jwk = map[string]any{"kty": "EC", "crv": "P-256", "x": b64(pt[1:33]), "y": b64(pt[33:65])}
	case "RS256":
		keysOnce.Do(func() {
			var err error
			if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				panic(err)
			}
		})
		k.priv = rsaKey
		k.jwk = map[string]any{"kty": "RSA", "n": b64(rsaKey.N.Bytes()), "e": b64(big.NewInt(int64(rsaKey.E)).Bytes())}
	case "HS256":
		k.priv = randBytes(32)
	default:
		t.Fatalf("newKey: unknown alg %s", alg)
	}
	if k.jwk != nil {
		k.jwk["kid"], k.jwk["alg"], k.jwk["use"] = k.kid, alg, "sig"
	}
	return k
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// signRaw signs header and payload, given as JSON text, with k's
// algorithm: a token whose every byte the test chose.
func (k *testKey) signRaw(t testing.TB, header, payload string) string {
	t.Helper()
	in := b64([]byte(header)) + "." + b64([]byte(payload))
	sig, err := jwt.GetSigningMethod(k.alg).Sign(in, k.priv)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return in + "." + b64(sig)
}

// header is k's standard header.
func (k *testKey) header() string {
	return fmt.Sprintf(`{"alg":%q,"kid":%q,"typ":"at+jwt"}`, k.alg, k.kid)
}

// token signs claims with the standard header.
func (k *testKey) token(t testing.TB, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return k.signRaw(t, k.header(), string(b))
}

// testIssuer serves discovery, JWKS and the revocation feed.
type testIssuer struct {
	srv *httptest.Server
	URL string

	mu           sync.Mutex
	published    []*testKey
	cacheControl string
	revoked      []map[string]string // the feed's log, in order; index+1 is the cursor
	changed      chan struct{}       // closed when revoked grows or the feed goes down
	feedDown     bool                // answer 503 (and end long-polls)

	requests atomic.Int64 // every request
	jwksHits atomic.Int64
	feedHits atomic.Int64
}

func newIssuer(t testing.TB, keys ...*testKey) *testIssuer {
	t.Helper()
	is := &testIssuer{published: keys, changed: make(chan struct{}), cacheControl: "public, max-age=300"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", is.discovery)
	mux.HandleFunc("GET /.well-known/jwks.json", is.jwks)
	mux.HandleFunc("GET /v1/revocations", is.feed)
	is.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		is.requests.Add(1)
		mux.ServeHTTP(w, r)
	}))
	is.URL = is.srv.URL
	t.Cleanup(func() {
		is.setFeedDown(true) // end the long-polls so Close returns at once
		is.srv.Close()
	})
	return is
}

func (is *testIssuer) discovery(w http.ResponseWriter, r *http.Request) {
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                   is.URL,
		"jwks_uri":                 is.URL + "/.well-known/jwks.json",
		"revocation_feed_endpoint": is.URL + "/v1/revocations",
	})
}

func (is *testIssuer) jwks(w http.ResponseWriter, r *http.Request) {
	is.jwksHits.Add(1)
	is.mu.Lock()
	keys := []any{}
	for _, k := range is.published {
		if k.jwk != nil {
			keys = append(keys, k.jwk)
		}
	}
	cc := is.cacheControl
	is.mu.Unlock()
	w.Header().Set("Cache-Control", cc)
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
}

// feed follows authd's contract: without since every entry, with since
// the entries after it, waiting up to wait for one; 400 for a cursor it
// did not issue.
func (is *testIssuer) feed(w http.ResponseWriter, r *http.Request) {
	is.feedHits.Add(1)
	q := r.URL.Query()
	wait, _ := time.ParseDuration(q.Get("wait"))
	from := 0
	if s := q.Get("since"); s != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(s, "c"))
		is.mu.Lock()
		bad := err != nil || !strings.HasPrefix(s, "c") || n < 0 || n > len(is.revoked)
		is.mu.Unlock()
		if bad {
			http.Error(w, "since is not a cursor this server issued", http.StatusBadRequest)
			return
		}
		from = n
	}
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	for {
		is.mu.Lock()
		down, changed := is.feedDown, is.changed
		reset := from > len(is.revoked) // the list was replaced while this request waited
		var entries []map[string]string
		if !reset {
			entries = append([]map[string]string{}, is.revoked[from:]...)
		}
		cursor := "c" + strconv.Itoa(len(is.revoked))
		is.mu.Unlock()
		if reset {
			http.Error(w, "since is not a cursor this server issued", http.StatusBadRequest)
			return
		}
		if down {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		if len(entries) > 0 || wait <= 0 {
			_ = json.NewEncoder(w).Encode(map[string]any{"cursor": cursor, "revoked": entries})
			return
		}
		select {
		case <-changed:
		case <-timeout.C:
			wait = 0
		case <-r.Context().Done():
			return
		}
	}
}

func (is *testIssuer) wake() {
	close(is.changed)
	is.changed = make(chan struct{})
}

// revoke puts a jti or sid ("jti" or "sid") on the feed.
func (is *testIssuer) revoke(kind, id string, exp time.Time) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.revoked = append(is.revoked, map[string]string{kind: id, "exp": exp.UTC().Format(time.RFC3339)})
	is.wake()
}

func (is *testIssuer) setFeedDown(down bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.feedDown = down
	is.wake()
}

func (is *testIssuer) publish(keys ...*testKey) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.published = keys
}

// clock is a settable clock for WithClock.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// claims returns valid claims for is, at now, for audience aud.
func (is *testIssuer) claims(now time.Time, aud ...string) map[string]any {
	if len(aud) == 0 {
		aud = []string{"orders"}
	}
	return map[string]any{
		"iss": is.URL, "sub": "user-1", "aud": aud,
		"exp": now.Add(15 * time.Minute).Unix(), "nbf": now.Unix(), "iat": now.Unix(),
		"jti": b64(randBytes(16)), "sid": b64(randBytes(16)),
		"email": "ann@example.com", "roles": []string{"staff"},
	}
}

// quietLogger drops everything: the tests provoke warnings on purpose.
var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// newVerifier makes a verifier of is for audience "orders" with opts
// after the defaults, closed at the end of the test.
func newVerifier(t testing.TB, is *testIssuer, opts ...verify.Option) *verify.Verifier {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	all := append([]verify.Option{verify.WithAudience("orders"), verify.WithLogger(quietLogger)}, opts...)
	v, err := verify.New(ctx, is.URL, all...)
	if err != nil {
		t.Fatalf("verify.New: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// eventually polls cond every 10 ms until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}
