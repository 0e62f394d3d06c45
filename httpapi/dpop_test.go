package httpapi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authd/authd/account"
	"github.com/authd/authd/dpop"
	"github.com/authd/authd/httpapi"
	"github.com/authd/authd/internal/jwstest"
	"github.com/authd/authd/oidc"
	"github.com/authd/authd/session"
)

// dpopKey is a client's DPoP key.
type dpopKey struct {
	t   *testing.T
	key *ecdsa.PrivateKey
	jkt string
}

func newDPoPKey(t *testing.T) *dpopKey {
	k := newKeyB(t)
	k.t = t
	return k
}

func newKeyB(t testing.TB) *dpopKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jkt, err := dpop.Thumbprint(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return &dpopKey{key: k, jkt: jkt}
}

// proof signs a DPoP proof for method and the harness's public URL of
// path (or a full URL), with the access token tok ("" for none) at iat;
// edit changes the claims before signing.
func (k *dpopKey) proof(h *harness, method, path, tok string, edit ...func(map[string]any)) string {
	k.t.Helper()
	return k.proofB(k.t, h, method, path, tok, edit...)
}

// proofB is proof for any test or benchmark.
func (k *dpopKey) proofB(t testing.TB, h *harness, method, path, tok string, edit ...func(map[string]any)) string {
	t.Helper()
	u := path
	if !strings.Contains(path, "://") {
		u = h.issuer + path
	}
	jti := make([]byte, 12)
	rand.Read(jti)
	claims := map[string]any{"jti": base64.RawURLEncoding.EncodeToString(jti), "htm": method, "htu": u, "iat": h.clock.Now().Unix()}
	if tok != "" {
		claims["ath"] = dpop.ATH(tok)
	}
	for _, f := range edit {
		f(claims)
	}
	return jwstest.Sign(t, k.key, jose.ES256, map[string]any{"typ": "dpop+jwt", "jwk": jose.JSONWebKey{Key: &k.key.PublicKey}}, claims)
}

// boundToken gets a DPoP-bound token pair for ann through the password
// grant with a proof of k.
func boundToken(t *testing.T, h *harness, k *dpopKey) (access, refresh string) {
	t.Helper()
	r := h.do(nil, "POST", "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"ann@example.com"}, "password": {goodPassword}},
		"DPoP", k.proof(h, "POST", "/oauth2/token", ""))
	m := r.json(t)
	if r.StatusCode != http.StatusOK || m["token_type"] != "DPoP" {
		t.Fatalf("password grant with a proof: %d %s", r.StatusCode, r.body)
	}
	return m["access_token"].(string), m["refresh_token"].(string)
}

// TestDPoPTokenEndpoint: a proof binds what is issued (cnf.jkt, token_type
// DPoP); a bad proof is invalid_dpop_proof; the refresh of a bound family
// needs a proof of its key.
func TestDPoPTokenEndpoint(t *testing.T) {
	h := newHarness(t)
	h.register("ann@example.com")
	k := newDPoPKey(t)
	access, refresh := boundToken(t, h, k)
	c, err := h.tokens.Verify(context.Background(), access)
	if err != nil || c.JKT != k.jkt {
		t.Fatalf("the access token's jkt %q, want %q (%v)", c.JKT, k.jkt, err)
	}
	form := url.Values{"grant_type": {"password"}, "username": {"ann@example.com"}, "password": {goodPassword}}
	for name, proof := range map[string]string{
		"for another URL":    k.proof(h, "POST", "/oauth2/revoke", ""),
		"for another method": k.proof(h, "GET", "/oauth2/token", ""),
		"with an ath":        k.proof(h, "POST", "/oauth2/token", "some token"),
		"stale":              k.proof(h, "POST", "/oauth2/token", "", func(c map[string]any) { c["iat"] = h.clock.Now().Add(-5 * time.Minute).Unix() }),
		"garbage":            "not.a.proof",
	} {
		t.Run(name, func(t *testing.T) {
			r := h.do(nil, "POST", "/oauth2/token", form, "DPoP", proof)
			if r.StatusCode != http.StatusBadRequest || r.json(t)["error"] != "invalid_dpop_proof" {
				t.Fatalf("%d %s", r.StatusCode, r.body)
			}
		})
	}
	// A replayed proof at the token endpoint.
	p := k.proof(h, "POST", "/oauth2/token", "")
	h.do(nil, "POST", "/oauth2/token", form, "DPoP", p)
	if r := h.do(nil, "POST", "/oauth2/token", form, "DPoP", p); r.json(t)["error"] != "invalid_dpop_proof" {
		t.Fatalf("replayed proof: %d %s", r.StatusCode, r.body)
	}
	// Refresh: without a proof, or with another key's, the bound family
	// refuses, and nothing is spent; with the key it rotates.
	rform := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}
	if r := h.do(nil, "POST", "/oauth2/token", rform); r.json(t)["error"] != "invalid_grant" {
		t.Fatalf("refresh without a proof: %d %s", r.StatusCode, r.body)
	}
	other := newDPoPKey(t)
	if r := h.do(nil, "POST", "/oauth2/token", rform, "DPoP", other.proof(h, "POST", "/oauth2/token", "")); r.json(t)["error"] != "invalid_grant" {
		t.Fatalf("refresh with another key: %d %s", r.StatusCode, r.body)
	}
	r := h.do(nil, "POST", "/oauth2/token", rform, "DPoP", k.proof(h, "POST", "/oauth2/token", ""))
	if r.StatusCode != http.StatusOK || r.json(t)["token_type"] != "DPoP" {
		t.Fatalf("refresh with the key: %d %s", r.StatusCode, r.body)
	}
	// Discovery says which algorithms proofs may use.
	md := h.do(nil, "GET", "/.well-known/openid-configuration", nil).json(t)
	if !strings.Contains(jsonOf(md["dpop_signing_alg_values_supported"]), "ES256") {
		t.Fatalf("discovery: %v", md["dpop_signing_alg_values_supported"])
	}
}

// TestDPoPResources is SECURITY K1 at the resources: a bound token is
// accepted only as DPoP with a good proof of its key for this request.
func TestDPoPResources(t *testing.T) {
	h := newHarness(t)
	h.register("ann@example.com")
	k := newDPoPKey(t)
	access, _ := boundToken(t, h, k)
	dpopAuth := "DPoP " + access
	ok := func(path string) string { return k.proof(h, "GET", path, access) }
	cases := []struct {
		name   string
		hdr    []string
		status int
	}{
		{"good proof", []string{"Authorization", dpopAuth, "DPoP", ok("/v1/me")}, 200},
		{"as a bearer token", []string{"Authorization", "Bearer " + access}, 401},
		{"as a bearer token with a proof", []string{"Authorization", "Bearer " + access, "DPoP", ok("/v1/me")}, 401},
		{"no proof", []string{"Authorization", dpopAuth}, 401},
		{"proof for another URL", []string{"Authorization", dpopAuth, "DPoP", ok("/v1/sessions")}, 401},
		{"proof for another host", []string{"Authorization", dpopAuth, "DPoP", k.proof(h, "GET", "https://evil.example/v1/me", access)}, 401},
		{"proof for another method", []string{"Authorization", dpopAuth, "DPoP", k.proof(h, "POST", "/v1/me", access)}, 401},
		{"proof without ath", []string{"Authorization", dpopAuth, "DPoP", k.proof(h, "GET", "/v1/me", "")}, 401},
		{"proof with another token's ath", []string{"Authorization", dpopAuth, "DPoP", k.proof(h, "GET", "/v1/me", "another token")}, 401},
		{"proof of another key", []string{"Authorization", dpopAuth, "DPoP", newDPoPKey(t).proof(h, "GET", "/v1/me", access)}, 401},
		{"stale proof", []string{"Authorization", dpopAuth, "DPoP", k.proof(h, "GET", "/v1/me", access, func(c map[string]any) { c["iat"] = h.clock.Now().Add(-2 * time.Minute).Unix() })}, 401},
		{"future proof", []string{"Authorization", dpopAuth, "DPoP", k.proof(h, "GET", "/v1/me", access, func(c map[string]any) { c["iat"] = h.clock.Now().Add(2 * time.Minute).Unix() })}, 401},
		{"two proofs", []string{"Authorization", dpopAuth, "DPoP", ok("/v1/me") + ", " + ok("/v1/me")}, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(nil, "GET", "/v1/me", nil, tc.hdr...)
			if r.StatusCode != tc.status {
				t.Fatalf("%d, want %d: %s", r.StatusCode, tc.status, r.body)
			}
			if tc.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "DPoP ") {
				t.Fatalf("challenge %q", r.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// A replayed proof, on the same node.
	p := ok("/v1/me")
	if r := h.do(nil, "GET", "/v1/me", nil, "Authorization", dpopAuth, "DPoP", p); r.StatusCode != 200 {
		t.Fatalf("first use: %d %s", r.StatusCode, r.body)
	}
	if r := h.do(nil, "GET", "/v1/me", nil, "Authorization", dpopAuth, "DPoP", p); r.StatusCode != 401 {
		t.Fatalf("replay: %d %s", r.StatusCode, r.body)
	}
	// An unbound token as DPoP is refused; as bearer it works.
	plain := h.do(nil, "POST", "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"ann@example.com"}, "password": {goodPassword}}).json(t)["access_token"].(string)
	if r := h.do(nil, "GET", "/v1/me", nil, "Authorization", "DPoP "+plain, "DPoP", k.proof(h, "GET", "/v1/me", plain)); r.StatusCode != 401 {
		t.Fatalf("an unbound token as DPoP: %d %s", r.StatusCode, r.body)
	}
	if r := h.do(nil, "GET", "/v1/me", nil, "Authorization", "Bearer "+plain); r.StatusCode != 200 {
		t.Fatalf("an unbound token as bearer: %d %s", r.StatusCode, r.body)
	}
	// Introspection shows the binding.
	h.clients.Create(context.Background(), oidc.ClientSpec{ID: "rs", Secret: adminSecret})
	in := h.do(nil, "POST", "/oauth2/introspect", url.Values{"token": {access}, "client_id": {"rs"}, "client_secret": {adminSecret}}).json(t)
	if in["token_type"] != "DPoP" || jsonOf(in["cnf"]) != `{"jkt":"`+k.jkt+`"}` {
		t.Fatalf("introspection %v", in)
	}
}

// TestDPoPAuthz: forward auth checks the proof against the original
// request, as a trusted proxy forwards it.
func TestDPoPAuthz(t *testing.T) {
	h := newHarness(t, with(func(hc *httpapi.Config, _ *account.Config, _ *session.Config) {
		hc.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}))
	h.register("ann@example.com")
	k := newDPoPKey(t)
	access, _ := boundToken(t, h, k)
	orig := "https://app.example.com/orders/42"
	for _, tc := range []struct {
		name   string
		hdr    []string
		status int
	}{
		{"Traefik headers", []string{"X-Forwarded-Method", "GET", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "app.example.com", "X-Forwarded-Uri", "/orders/42",
			"DPoP", k.proof(h, "GET", orig, access)}, 200},
		{"X-Original headers", []string{"X-Original-Method", "GET", "X-Original-URL", orig, "DPoP", k.proof(h, "GET", orig, access)}, 200},
		{"deploy/nginx headers (the original Host)", []string{"Host", "app.example.com", "X-Forwarded-Method", "GET", "X-Forwarded-Proto", "https", "X-Forwarded-Uri", "/orders/42",
			"DPoP", k.proof(h, "GET", orig, access)}, 200},
		{"a proof for authd's own URL", []string{"X-Original-Method", "GET", "X-Original-URL", orig, "DPoP", k.proof(h, "GET", "/v1/authz", access)}, 401},
		{"no forwarding headers", []string{"DPoP", k.proof(h, "GET", orig, access)}, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(nil, "GET", "/v1/authz", nil, append([]string{"Authorization", "DPoP " + access}, tc.hdr...)...)
			if r.StatusCode != tc.status {
				t.Fatalf("%d, want %d: %s", r.StatusCode, tc.status, r.body)
			}
		})
	}
}

// TestDPoPRequired: --dpop-required refuses bearer use altogether.
func TestDPoPRequired(t *testing.T) {
	h := newHarness(t, with(func(hc *httpapi.Config, _ *account.Config, _ *session.Config) { hc.DPoPRequired = true }))
	h.register("ann@example.com")
	form := url.Values{"grant_type": {"password"}, "username": {"ann@example.com"}, "password": {goodPassword}}
	if r := h.do(nil, "POST", "/oauth2/token", form); r.json(t)["error"] != "invalid_dpop_proof" {
		t.Fatalf("token request without a proof: %d %s", r.StatusCode, r.body)
	}
	k := newDPoPKey(t)
	access, _ := boundToken(t, h, k)
	if r := h.do(nil, "GET", "/v1/me", nil, "Authorization", "DPoP "+access, "DPoP", k.proof(h, "GET", "/v1/me", access)); r.StatusCode != 200 {
		t.Fatalf("bound token: %d %s", r.StatusCode, r.body)
	}
	// A session's own token is a bearer token: refused at resources.
	c := h.login("bob@example.com")
	tok := h.do(c, "POST", "/v1/session/token", nil).json(t)["access_token"].(string)
	if r := h.do(nil, "GET", "/v1/me", nil, "Authorization", "Bearer "+tok); r.StatusCode != 401 {
		t.Fatalf("a bearer token under --dpop-required: %d %s", r.StatusCode, r.body)
	}
}

// TestDPoPNonce: with server nonces, a proof without one is answered
// use_dpop_nonce and a DPoP-Nonce to use.
func TestDPoPNonce(t *testing.T) {
	h := newHarness(t, func(o *options) { o.dpopNonce = true })
	h.register("ann@example.com")
	k := newDPoPKey(t)
	form := url.Values{"grant_type": {"password"}, "username": {"ann@example.com"}, "password": {goodPassword}}
	r := h.do(nil, "POST", "/oauth2/token", form, "DPoP", k.proof(h, "POST", "/oauth2/token", ""))
	nonce := r.Header.Get("DPoP-Nonce")
	if r.StatusCode != http.StatusBadRequest || r.json(t)["error"] != "use_dpop_nonce" || nonce == "" {
		t.Fatalf("without a nonce: %d %v %s", r.StatusCode, r.Header, r.body)
	}
	r = h.do(nil, "POST", "/oauth2/token", form, "DPoP", k.proof(h, "POST", "/oauth2/token", "", func(c map[string]any) { c["nonce"] = nonce }))
	if r.StatusCode != http.StatusOK || r.json(t)["token_type"] != "DPoP" {
		t.Fatalf("with the nonce: %d %s", r.StatusCode, r.body)
	}
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMeDPoP is the cost of a DPoP-checked GET /v1/me against a
// bearer /v1/me (the same token check and handler, no proof) and against
// the floor of DPoP: one ES256 proof verification (dpop.Checker.Check with
// its replay record in SQLite) plus the cached token check
// (token.Service.Verify). Proofs are signed before the timer starts. Each
// reports cpu-ns/op (user+system CPU of the whole process per request)
// beside ns/op.
//
//	go test -run '^$' -bench MeDPoP -benchtime 2000x -count 5 ./httpapi
func BenchmarkMeDPoP(b *testing.B) {
	h := newHarness(b)
	h.register("ann@example.com")
	k := newKeyB(b)
	handler := h.srv.Config.Handler
	form := url.Values{"grant_type": {"password"}, "username": {"ann@example.com"}, "password": {goodPassword}}
	get := func(extra ...string) map[string]any {
		req := httptest.NewRequest("POST", "/oauth2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(extra); i += 2 {
			req.Header.Set(extra[i], extra[i+1])
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		var m map[string]any
		json.Unmarshal(rec.Body.Bytes(), &m)
		return m
	}
	bearerTok := get()["access_token"].(string)
	bound := get("DPoP", k.proofB(b, h, "POST", "/oauth2/token", ""))["access_token"].(string)
	run := func(b *testing.B, req func(i int) *http.Request) {
		start := cpuTime()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req(i))
			if rec.Code != http.StatusOK {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
	b.Run("bearer", func(b *testing.B) {
		run(b, func(int) *http.Request {
			r := httptest.NewRequest("GET", "/v1/me", nil)
			r.Header.Set("Authorization", "Bearer "+bearerTok)
			return r
		})
	})
	b.Run("dpop", func(b *testing.B) {
		proofs := make([]string, b.N)
		for i := range proofs {
			proofs[i] = k.proofB(b, h, "GET", "/v1/me", bound)
		}
		run(b, func(i int) *http.Request {
			r := httptest.NewRequest("GET", "/v1/me", nil)
			r.Header.Set("Authorization", "DPoP "+bound)
			r.Header.Set("DPoP", proofs[i])
			return r
		})
	})
	b.Run("floor", func(b *testing.B) {
		proofs := make([]string, b.N)
		for i := range proofs {
			proofs[i] = k.proofB(b, h, "GET", "/v1/me", bound)
		}
		ctx := context.Background()
		start := cpuTime()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := h.tokens.Verify(ctx, bound); err != nil {
				b.Fatal(err)
			}
			if _, err := h.dpop.Check(ctx, []string{proofs[i]}, dpop.Request{Method: "GET", URL: h.issuer + "/v1/me", AccessToken: bound}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	})
}
