package main

// The back-channel logout endpoint against go-oidc's test provider: what
// it must refuse (400) and what a valid logout token ends. The sign-in
// itself is tested end to end, with authd and Chromium, in
// examples/webapp_test.go.

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"
	"github.com/go-jose/go-jose/v4"
)

const event = "http://schemas.openid.net/event/backchannel-logout"

func TestBackchannelLogout(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	op := &oidctest.Server{
		PublicKeys: []oidctest.PublicKey{{PublicKey: pub, KeyID: "k1", Algorithm: oidc.EdDSA}},
		Algorithms: []string{oidc.EdDSA},
	}
	srv := httptest.NewServer(op)
	defer srv.Close()
	op.SetIssuer(srv.URL)
	base, _ := url.Parse("http://127.0.0.1:8090")
	a, err := newApp(t.Context(), srv.URL, "webapp", "secret", base)
	if err != nil {
		t.Fatal(err)
	}

	// sign makes a JWT with header typ and claims: the valid logout token
	// for sid s1 of user u1, with the changes in claims (nil deletes).
	sign := func(typ string, claims map[string]any) string {
		c := map[string]any{
			"iss": srv.URL, "aud": "webapp", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix(),
			"jti": rand.Text(), "sub": "u1", "sid": "s1", "events": map[string]any{event: map[string]any{}},
		}
		for k, v := range claims {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: priv},
			(&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", "k1"))
		if err != nil {
			t.Fatal(err)
		}
		payload, _ := json.Marshal(c)
		jws, err := signer.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := jws.CompactSerialize()
		return s
	}
	post := func(token string) int {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/backchannel-logout", strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		a.backchannelLogout(w, req)
		if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
		return w.Code
	}
	later := time.Now().Add(time.Hour)
	a.sessions = map[string]*session{
		"a": {sub: "u1", sid: "s1", expires: later},
		"b": {sub: "u1", sid: "s2", expires: later},
		"c": {sub: "u2", sid: "s3", expires: later},
	}

	// forged: a valid token's header and signature over another payload.
	forged := strings.Split(sign("logout+jwt", nil), ".")
	forged[1] = strings.Split(sign("logout+jwt", map[string]any{"sid": "s2"}), ".")[1]

	refused := []struct {
		name, token string
	}{
		{"empty", ""},
		{"not a JWT", "not-a-jwt"},
		{"forged", strings.Join(forged, ".")},
		{"typ JWT (an ID token's)", sign("JWT", nil)},
		{"no typ", sign("", nil)},
		{"a nonce", sign("logout+jwt", map[string]any{"nonce": "n"})},
		{"no event", sign("logout+jwt", map[string]any{"events": nil})},
		{"another event", sign("logout+jwt", map[string]any{"events": map[string]any{"urn:other": map[string]any{}}})},
		{"another audience", sign("logout+jwt", map[string]any{"aud": "other"})},
		{"another issuer", sign("logout+jwt", map[string]any{"iss": "http://elsewhere"})},
		{"expired", sign("logout+jwt", map[string]any{"exp": time.Now().Add(-time.Minute).Unix()})},
		{"no jti", sign("logout+jwt", map[string]any{"jti": nil})},
		{"neither sub nor sid", sign("logout+jwt", map[string]any{"sub": nil, "sid": nil})},
	}
	for _, tc := range refused {
		if code := post(tc.token); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", tc.name, code)
		}
	}
	if len(a.sessions) != 3 || len(a.logouts) != 0 {
		t.Fatalf("refused tokens ended sessions: %d left, %v recorded", len(a.sessions), a.logouts)
	}

	// A valid one ends the sessions of its sid only; "application/" and
	// case are allowed in typ (a media type).
	valid := sign("application/Logout+JWT", nil)
	if code := post(valid); code != http.StatusOK {
		t.Fatalf("valid logout token: %d", code)
	}
	if _, ok := a.sessions["a"]; ok || len(a.sessions) != 2 {
		t.Fatalf("after the logout of s1: %v", a.sessions)
	}
	// The same token again: 200 (a retry), recorded once.
	if code := post(valid); code != http.StatusOK || len(a.logouts) != 1 {
		t.Fatalf("replay: %d, %v recorded", code, a.logouts)
	}
	// Without sid: every session of the sub.
	if code := post(sign("logout+jwt", map[string]any{"sid": nil})); code != http.StatusOK {
		t.Fatalf("sub-only logout token: %d", code)
	}
	if _, ok := a.sessions["c"]; !ok || len(a.sessions) != 1 {
		t.Fatalf("after the logout of u1: %v", a.sessions)
	}

	w := httptest.NewRecorder()
	a.listLogouts(w, httptest.NewRequest(http.MethodGet, "/backchannel-logouts", nil))
	var got []logoutRecord
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || len(got) != 2 ||
		got[0] != (logoutRecord{SID: "s1", Sub: "u1"}) || got[1] != (logoutRecord{Sub: "u1"}) {
		t.Fatalf("GET /backchannel-logouts: %s", w.Body)
	}
}
