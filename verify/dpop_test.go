package verify_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authd/authd/dpop"
	"github.com/authd/authd/internal/jwstest"
	"github.com/authd/authd/verify"
)

// publicURL is the service's public URL in the DPoP tests: not the
// httptest URL, as behind a proxy.
const publicURL = "https://orders.example.com"

// dpopAlgs is the algs parameter the middleware's DPoP challenges carry.
var dpopAlgs = `algs="` + strings.Join(dpop.Algorithms(), " ") + `"`

// proofSpec is a DPoP proof to sign (as dpop's tests build them): go-jose
// writes alg and the header members in Header, and signs Claims with Key.
type proofSpec struct {
	Key    any
	Alg    jose.SignatureAlgorithm
	Header map[string]any
	Claims map[string]any
}

// publicJWK is pub as a JWK, as a JSON object.
func publicJWK(t testing.TB, pub any) map[string]any {
	b, err := json.Marshal(&jose.JSONWebKey{Key: pub})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// newProof is a good ES256 proof by key for method and publicURL+path
// with token at now.
func newProof(t testing.TB, key *ecdsa.PrivateKey, method, path, token string, now time.Time) proofSpec {
	return proofSpec{
		Key: key, Alg: jose.ES256,
		Header: map[string]any{"typ": "dpop+jwt", "jwk": publicJWK(t, &key.PublicKey)},
		Claims: map[string]any{"jti": b64(randBytes(12)), "htm": method, "htu": publicURL + path, "iat": now.Unix(), "ath": dpop.ATH(token)},
	}
}

func (s proofSpec) sign(t testing.TB) string {
	t.Helper()
	return jwstest.Sign(t, s.Key, s.Alg, s.Header, s.Claims)
}

func newECKey(t testing.TB) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jkt, err := dpop.Thumbprint(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, jkt
}

// boundClaims are is.claims bound to jkt, as authd's token.BoundTo
// writes them.
func (is *testIssuer) boundClaims(now time.Time, jkt string) map[string]any {
	c := is.claims(now)
	c["cnf"] = map[string]string{"jkt": jkt}
	return c
}

// serveDPoP sends method path with the Authorization and DPoP headers
// given.
func serveDPoP(h http.Handler, method, path string, auth, proofs []string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// whoami answers the subject and the jkt of the request's claims.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c, ok := verify.ClaimsFrom(r.Context())
	if !ok {
		http.Error(w, "no claims", http.StatusInternalServerError)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"sub": c.Subject, "jkt": c.JKT})
})

// TestMiddlewareDPoP is RFC 9449 §7 at the middleware: a bound token
// only with the DPoP scheme and a proof of its key for this request, an
// unbound one only as a bearer token.
func TestMiddlewareDPoP(t *testing.T) {
	ed := newKey(t, "EdDSA")
	is := newIssuer(t, ed)
	clk := newClock()
	v := newVerifier(t, is, verify.WithClock(clk.Now), verify.WithPublicURL(publicURL+"/"))
	mux := http.NewServeMux()
	mux.Handle("/orders/", v.Middleware(whoami))
	mux.Handle("GET /admin", v.Middleware(verify.RequireRole("admin")(whoami)))

	key, jkt := newECKey(t)
	other, _ := newECKey(t)
	now := clk.Now()
	bound := ed.token(t, is.boundClaims(now, jkt))
	unbound := ed.token(t, is.claims(now))
	revokedClaims := is.boundClaims(now, jkt)
	revoked := ed.token(t, revokedClaims)
	is.revoke("jti", revokedClaims["jti"].(string), now.Add(time.Hour))
	eventually(t, time.Second, "revocation seen", func() bool { return v.RevokedLen() == 1 })

	good := func(method, path, tok string) proofSpec { return newProof(t, key, method, path, tok, now) }
	sign := func(s proofSpec) []string { return []string{s.sign(t)} }
	edit := func(f func(s *proofSpec)) []string {
		s := good("GET", "/orders/1", bound)
		f(&s)
		return sign(s)
	}
	var (
		dpopToken  = `DPoP error="invalid_token", ` + dpopAlgs
		dpopProof  = `DPoP error="invalid_dpop_proof", ` + dpopAlgs
		bearerBad  = `Bearer error="invalid_token"`
		boundAuth  = []string{"DPoP " + bound}
		goodProofs = func() []string { return sign(good("GET", "/orders/1", bound)) }
	)
	tests := []struct {
		name         string
		method, path string
		auth, proofs []string
		status       int
		challenge    []string // WWW-Authenticate, every value
	}{
		{name: "bound token with a good proof", auth: boundAuth, proofs: goodProofs(), status: 200},
		{name: "scheme in any case", auth: []string{"dpop " + bound}, proofs: goodProofs(), status: 200},
		{name: "query ignored", path: "/orders/1?page=2", auth: boundAuth, proofs: goodProofs(), status: 200},
		{name: "POST", method: "POST", auth: boundAuth, proofs: sign(good("POST", "/orders/1", bound)), status: 200},
		{name: "escaped path as sent", path: "/orders/a%2Fb", auth: boundAuth, proofs: sign(good("GET", "/orders/a%2Fb", bound)), status: 200},
		{name: "htu normalized", auth: boundAuth, proofs: edit(func(s *proofSpec) { s.Claims["htu"] = "HTTPS://Orders.Example.COM:443/orders/./1" }), status: 200},
		{name: "unbound token as bearer", auth: []string{"Bearer " + unbound}, status: 200},

		{name: "no Authorization: both challenges", status: 401, challenge: []string{"Bearer", "DPoP " + dpopAlgs}},
		{name: "bound token as bearer", auth: []string{"Bearer " + bound}, status: 401, challenge: []string{dpopToken}},
		{name: "bound token as bearer with a good proof", auth: []string{"Bearer " + bound}, proofs: goodProofs(), status: 401, challenge: []string{dpopToken}},
		{name: "unbound token with the DPoP scheme", auth: []string{"DPoP " + unbound}, proofs: sign(good("GET", "/orders/1", unbound)), status: 401, challenge: []string{dpopToken}},
		{name: "revoked bound token", auth: []string{"DPoP " + revoked}, proofs: sign(good("GET", "/orders/1", revoked)), status: 401, challenge: []string{dpopToken}},
		{name: "garbage token with the DPoP scheme", auth: []string{"DPoP abc.def.ghi"}, proofs: goodProofs(), status: 401, challenge: []string{dpopToken}},
		{name: "two tokens with the DPoP scheme", auth: []string{"DPoP " + bound + " " + bound}, proofs: goodProofs(), status: 401, challenge: []string{dpopToken}},
		{name: "garbage as bearer", auth: []string{"Bearer abc"}, status: 401, challenge: []string{bearerBad}},

		{name: "missing proof", auth: boundAuth, status: 401, challenge: []string{dpopProof}},
		{name: "two proofs", auth: boundAuth, proofs: append(goodProofs(), goodProofs()...), status: 401, challenge: []string{dpopProof}},
		{name: "proof for another method", auth: boundAuth, proofs: sign(good("POST", "/orders/1", bound)), status: 401, challenge: []string{dpopProof}},
		{name: "proof for another path", auth: boundAuth, proofs: sign(good("GET", "/orders/2", bound)), status: 401, challenge: []string{dpopProof}},
		{name: "proof for another host", auth: boundAuth, proofs: edit(func(s *proofSpec) { s.Claims["htu"] = "https://billing.example.com/orders/1" }), status: 401, challenge: []string{dpopProof}},
		{name: "proof for the URL the service sees", auth: boundAuth, proofs: edit(func(s *proofSpec) { s.Claims["htu"] = "http://example.com/orders/1" }), status: 401, challenge: []string{dpopProof}},
		{name: "wrong ath", auth: boundAuth, proofs: edit(func(s *proofSpec) { s.Claims["ath"] = dpop.ATH(unbound) }), status: 401, challenge: []string{dpopProof}},
		{name: "no ath", auth: boundAuth, proofs: edit(func(s *proofSpec) { delete(s.Claims, "ath") }), status: 401, challenge: []string{dpopProof}},
		{name: "proof of another key", auth: boundAuth, proofs: sign(newProof(t, other, "GET", "/orders/1", bound, now)), status: 401, challenge: []string{dpopProof}},
		{name: "stale proof", auth: boundAuth, proofs: edit(func(s *proofSpec) { s.Claims["iat"] = now.Add(-2 * time.Minute).Unix() }), status: 401, challenge: []string{dpopProof}},
		{name: "proof with HS256", auth: boundAuth, proofs: edit(func(s *proofSpec) {
			s.Key, s.Alg = randBytes(32), jose.HS256
		}), status: 401, challenge: []string{dpopProof}},
		{name: "proof with another typ", auth: boundAuth, proofs: edit(func(s *proofSpec) { s.Header["typ"] = "jwt" }), status: 401, challenge: []string{dpopProof}},

		{name: "role missing, DPoP", path: "/admin", auth: boundAuth, proofs: sign(good("GET", "/admin", bound)), status: 403,
			challenge: []string{`DPoP error="insufficient_scope", ` + dpopAlgs}},
		{name: "role missing, bearer", path: "/admin", auth: []string{"Bearer " + unbound}, status: 403,
			challenge: []string{`Bearer error="insufficient_scope"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method, path := tc.method, tc.path
			if method == "" {
				method = "GET"
			}
			if path == "" {
				path = "/orders/1"
			}
			rec := serveDPoP(mux, method, path, tc.auth, tc.proofs)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if got := rec.Header().Values("WWW-Authenticate"); strings.Join(got, "|") != strings.Join(tc.challenge, "|") {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if rec.Code == 200 {
				var got struct{ Sub, JKT string }
				_ = json.Unmarshal(rec.Body.Bytes(), &got)
				want := ""
				if strings.HasPrefix(strings.ToLower(tc.auth[0]), "dpop ") {
					want = jkt
				}
				if got.Sub != "user-1" || got.JKT != want {
					t.Fatalf("claims %s, want jkt %q", rec.Body, want)
				}
			}
			if rec.Code >= 400 && rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("Content-Type %q", rec.Header().Get("Content-Type"))
			}
		})
	}

	t.Run("replay", func(t *testing.T) {
		p := sign(good("GET", "/orders/1", bound))
		if rec := serveDPoP(mux, "GET", "/orders/1", boundAuth, p); rec.Code != 200 {
			t.Fatalf("first use: %d %s", rec.Code, rec.Body)
		}
		rec := serveDPoP(mux, "GET", "/orders/1", boundAuth, p)
		if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != dpopProof {
			t.Fatalf("replay: %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
	})

	t.Run("Verify exposes cnf.jkt", func(t *testing.T) {
		c, err := v.Verify(context.Background(), ed.token(t, is.boundClaims(clk.Now(), jkt)))
		if err != nil || c.JKT != jkt {
			t.Fatalf("JKT %q, err %v; want %q", c.JKT, err, jkt)
		}
		if c, err := v.Verify(context.Background(), ed.token(t, is.claims(clk.Now()))); err != nil || c.JKT != "" {
			t.Fatalf("unbound: JKT %q, err %v", c.JKT, err)
		}
		// A cnf that binds to nothing is no token of authd's.
		bad := is.claims(clk.Now())
		bad["cnf"] = map[string]string{"jkt": ""}
		if _, err := v.Verify(context.Background(), ed.token(t, bad)); !errors.Is(err, verify.ErrInvalidToken) {
			t.Fatalf("cnf with an empty jkt: %v", err)
		}
	})
}

// TestMiddlewareDPoPRequired: WithDPoPRequired refuses every bearer
// token, and asks for DPoP alone.
func TestMiddlewareDPoPRequired(t *testing.T) {
	ed := newKey(t, "EdDSA")
	is := newIssuer(t, ed)
	v := newVerifier(t, is, verify.WithPublicURL(publicURL), verify.WithDPoPRequired())
	h := v.Middleware(whoami)
	key, jkt := newECKey(t)
	now := time.Now()
	bound := ed.token(t, is.boundClaims(now, jkt))
	unbound := ed.token(t, is.claims(now))
	dpopToken := `DPoP error="invalid_token", ` + dpopAlgs

	for _, tc := range []struct {
		name         string
		auth, proofs []string
		status       int
		challenge    string
	}{
		{"bound token with its proof", []string{"DPoP " + bound}, []string{newProof(t, key, "GET", "/x", bound, now).sign(t)}, 200, ""},
		{"unbound bearer token", []string{"Bearer " + unbound}, nil, 401, dpopToken},
		{"bound bearer token", []string{"Bearer " + bound}, nil, 401, dpopToken},
		{"unbound token with the DPoP scheme", []string{"DPoP " + unbound}, []string{newProof(t, key, "GET", "/x", unbound, now).sign(t)}, 401, dpopToken},
		{"malformed", []string{"Basic dXNlcjpwYXNz"}, nil, 401, dpopToken},
		{"no Authorization", nil, nil, 401, "DPoP " + dpopAlgs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serveDPoP(h, "GET", "/x", tc.auth, tc.proofs)
			if rec.Code != tc.status || rec.Header().Get("WWW-Authenticate") != tc.challenge || len(rec.Header().Values("WWW-Authenticate")) > 1 {
				t.Fatalf("%d %q, want %d %q", rec.Code, rec.Header().Values("WWW-Authenticate"), tc.status, tc.challenge)
			}
		})
	}
}

// TestMiddlewareNoPublicURL: without WithPublicURL, DPoP-bound tokens are
// refused however they come, with a warning logged once; bearer tokens
// work as before.
func TestMiddlewareNoPublicURL(t *testing.T) {
	ed := newKey(t, "EdDSA")
	is := newIssuer(t, ed)
	var logs syncBuffer
	v := newVerifier(t, is, verify.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	h := v.Middleware(whoami)
	key, jkt := newECKey(t)
	now := time.Now()
	bound := ed.token(t, is.boundClaims(now, jkt))
	proof := newProof(t, key, "GET", "/x", bound, now).sign(t)

	for _, tc := range []struct {
		name      string
		auth      []string
		status    int
		challenge string
	}{
		{"bound token with the DPoP scheme", []string{"DPoP " + bound}, 401, `Bearer error="invalid_token"`},
		{"bound token as bearer", []string{"Bearer " + bound}, 401, `Bearer error="invalid_token"`},
		{"unbound bearer token", []string{"Bearer " + ed.token(t, is.claims(now))}, 200, ""},
		{"no Authorization", nil, 401, "Bearer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serveDPoP(h, "GET", "/x", tc.auth, []string{proof})
			if rec.Code != tc.status || strings.Join(rec.Header().Values("WWW-Authenticate"), "|") != tc.challenge {
				t.Fatalf("%d %q, want %d %q", rec.Code, rec.Header().Values("WWW-Authenticate"), tc.status, tc.challenge)
			}
		})
	}
	if n := strings.Count(logs.String(), "verify.WithPublicURL"); n != 1 {
		t.Fatalf("the missing public URL was logged %d times, want once:\n%s", n, logs.String())
	}
}

// syncBuffer is a bytes.Buffer for a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestDPoPOptions(t *testing.T) {
	is := newIssuer(t, newKey(t, "EdDSA"))
	for _, tc := range []struct {
		name string
		opts []verify.Option
	}{
		{"required without a public URL", []verify.Option{verify.WithDPoPRequired()}},
		{"relative public URL", []verify.Option{verify.WithPublicURL("orders.example.com")}},
		{"public URL with a path", []verify.Option{verify.WithPublicURL("https://example.com/orders")}},
		{"public URL with a query", []verify.Option{verify.WithPublicURL("https://example.com/?a=1")}},
		{"public URL with user info", []verify.Option{verify.WithPublicURL("https://u@example.com")}},
		{"public URL of another scheme", []verify.Option{verify.WithPublicURL("wss://example.com")}},
		{"nil replay set", []verify.Option{verify.WithReplays(nil)}},
		{"replay capacity 0", []verify.Option{verify.WithReplayCapacity(0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]verify.Option{verify.WithAudience("orders"), verify.WithLogger(quietLogger)}, tc.opts...)
			if v, err := verify.New(context.Background(), is.URL, opts...); err == nil {
				v.Close()
				t.Fatal("accepted")
			}
		})
	}
}

// mapReplays is a replay set shared by verifiers, standing in for one of
// authd's stores; fail makes Remember fail.
type mapReplays struct {
	mu   sync.Mutex
	m    map[string]time.Time
	fail bool
}

func (r *mapReplays) Remember(_ context.Context, key string, exp, now time.Time) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return false, errors.New("store down")
	}
	if e, ok := r.m[key]; ok && !e.Before(now) {
		return false, nil
	}
	r.m[key] = exp
	return true, nil
}

// TestDPoPReplayAcrossInstances: the verifier's own replay set is its
// process's; a proof replayed to another instance is caught only with a
// shared set (WithReplays). A failing set fails closed with 503.
func TestDPoPReplayAcrossInstances(t *testing.T) {
	ed := newKey(t, "EdDSA")
	is := newIssuer(t, ed)
	key, jkt := newECKey(t)
	now := time.Now()
	bound := ed.token(t, is.boundClaims(now, jkt))
	auth := []string{"DPoP " + bound}

	t.Run("own sets", func(t *testing.T) {
		a := newVerifier(t, is, verify.WithPublicURL(publicURL)).Middleware(whoami)
		b := newVerifier(t, is, verify.WithPublicURL(publicURL)).Middleware(whoami)
		p := []string{newProof(t, key, "GET", "/x", bound, now).sign(t)}
		for i, h := range []http.Handler{a, b} {
			if rec := serveDPoP(h, "GET", "/x", auth, p); rec.Code != 200 {
				t.Fatalf("instance %d: %d (each has its own set: the documented limit)", i, rec.Code)
			}
		}
	})
	t.Run("shared set", func(t *testing.T) {
		shared := &mapReplays{m: map[string]time.Time{}}
		a := newVerifier(t, is, verify.WithPublicURL(publicURL), verify.WithReplays(shared)).Middleware(whoami)
		b := newVerifier(t, is, verify.WithPublicURL(publicURL), verify.WithReplays(shared)).Middleware(whoami)
		p := []string{newProof(t, key, "GET", "/x", bound, now).sign(t)}
		if rec := serveDPoP(a, "GET", "/x", auth, p); rec.Code != 200 {
			t.Fatalf("first use: %d", rec.Code)
		}
		if rec := serveDPoP(b, "GET", "/x", auth, p); rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != `DPoP error="invalid_dpop_proof", `+dpopAlgs {
			t.Fatalf("replay to the other instance: %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
		shared.mu.Lock()
		shared.fail = true
		shared.mu.Unlock()
		rec := serveDPoP(a, "GET", "/x", auth, []string{newProof(t, key, "GET", "/x", bound, now).sign(t)})
		if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || rec.Header().Get("WWW-Authenticate") != "" {
			t.Fatalf("failing set: %d %v", rec.Code, rec.Header())
		}
	})
	t.Run("own set full", func(t *testing.T) {
		v := newVerifier(t, is, verify.WithPublicURL(publicURL), verify.WithReplayCapacity(2))
		h := v.Middleware(whoami)
		for i := range 3 {
			rec := serveDPoP(h, "GET", "/x", auth, []string{newProof(t, key, "GET", "/x", bound, now).sign(t)})
			if want := []int{200, 200, 503}[i]; rec.Code != want {
				t.Fatalf("proof %d: %d, want %d", i, rec.Code, want)
			}
		}
		if n := v.OwnReplaysLen(); n != 2 {
			t.Fatalf("%d proofs held", n)
		}
	})
}

// TestReplaySet is the verifier's own set against authd.ReplaySet's
// Remember contract, and its bound.
func TestReplaySet(t *testing.T) {
	ctx := context.Background()
	t0 := time.Unix(1700000000, 0)
	s := verify.NewReplaySet(3)
	remember := func(key string, exp, now time.Time) (bool, error) { return s.Remember(ctx, key, exp, now) }
	must := func(ok bool, err error) func(want bool, wantErr error) {
		return func(want bool, wantErr error) {
			t.Helper()
			if ok != want || !errors.Is(err, wantErr) {
				t.Fatalf("Remember = %v, %v; want %v, %v", ok, err, want, wantErr)
			}
		}
	}
	must(remember("a", t0.Add(10*time.Second), t0))(true, nil)
	must(remember("a", t0.Add(20*time.Second), t0.Add(5*time.Second)))(false, nil)                     // live: a replay
	must(remember("a", t0.Add(20*time.Second), t0.Add(10*time.Second)))(false, nil)                    // alive until its expiry, included
	must(remember("b", t0.Add(30*time.Second), t0))(true, nil)                                         //
	must(remember("c", t0.Add(40*time.Second), t0))(true, nil)                                         //
	must(remember("d", t0.Add(40*time.Second), t0.Add(5*time.Second)))(false, verify.ErrReplaySetFull) // full of live records: fail closed
	if s.Len() != 3 {
		t.Fatalf("Len %d after a refusal", s.Len())
	}
	// "a" expires: its place goes to "d", and "a" is new again later.
	must(remember("d", t0.Add(50*time.Second), t0.Add(11*time.Second)))(true, nil)
	must(remember("a", t0.Add(60*time.Second), t0.Add(31*time.Second)))(true, nil) // "b" expired too
	must(remember("c", t0.Add(60*time.Second), t0.Add(31*time.Second)))(false, nil)
	if s.Len() != 3 {
		t.Fatalf("Len %d", s.Len())
	}
	must(remember("e", t0.Add(99*time.Second), t0.Add(61*time.Second)))(true, nil) // all expired
	if s.Len() != 1 {
		t.Fatalf("Len %d after every record expired", s.Len())
	}
}

// TestReplaySetConcurrent: of concurrent Remembers of one key, exactly
// one reports true.
func TestReplaySetConcurrent(t *testing.T) {
	s := verify.NewReplaySet(1000)
	now := time.Now()
	var wins sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for range 50 {
		wins.Go(func() {
			ok, err := s.Remember(context.Background(), "k", now.Add(time.Minute), now)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				n++
				mu.Unlock()
			}
		})
	}
	wins.Wait()
	if n != 1 {
		t.Fatalf("%d of 50 concurrent Remembers won", n)
	}
}
