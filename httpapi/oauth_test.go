package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authd/authd/account"
	"github.com/authd/authd/dpop"
	"github.com/authd/authd/httpapi"
	"github.com/authd/authd/oidc"
	"github.com/authd/authd/session"
)

func (h *harness) oauthConfig() *oauth2.Config {
	return &oauth2.Config{ClientID: "cli", Endpoint: oauth2.Endpoint{TokenURL: h.srv.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
}

// passwordGrant returns the token response of a password grant.
func (h *harness) passwordGrant(email string, extra url.Values) resp {
	h.t.Helper()
	v := url.Values{"grant_type": {"password"}, "username": {email}, "password": {goodPassword}}
	for k, x := range extra {
		v[k] = x
	}
	return h.do(nil, "POST", "/oauth2/token", v)
}

func (h *harness) bearer(tok string) resp {
	h.t.Helper()
	return h.do(nil, "GET", "/v1/me", nil, "Authorization", "Bearer "+tok)
}

func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func TestOAuth2Library(t *testing.T) {
	h := newHarness(t)
	h.register("ann@example.com")
	ctx := context.Background()
	cfg := h.oauthConfig()
	tok, err := cfg.PasswordCredentialsToken(ctx, "ann@example.com", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.Expiry.IsZero() {
		t.Fatalf("token %+v", tok)
	}
	c := cfg.Client(ctx, tok)
	r, err := c.Get(h.srv.URL + "/v1/me")
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("me: %v %v", err, r)
	}
	r.Body.Close()

	// Let the client believe its access token expired: it refreshes by itself.
	old := *tok
	tok.Expiry = time.Now().Add(-time.Minute)
	src := cfg.TokenSource(ctx, tok)
	fresh, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == old.AccessToken || fresh.RefreshToken == old.RefreshToken || fresh.RefreshToken == "" {
		t.Fatal("refresh did not rotate")
	}
	r, err = oauth2.NewClient(ctx, src).Get(h.srv.URL + "/v1/me")
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("me after refresh: %v %v", err, r)
	}
	r.Body.Close()

	// A wrong password is the library's RetrieveError with invalid_grant.
	_, err = cfg.PasswordCredentialsToken(ctx, "ann@example.com", "wrong wrong wrong wrong")
	var re *oauth2.RetrieveError
	if !asRetrieve(err, &re) || re.ErrorCode != "invalid_grant" || re.Response.StatusCode != 400 {
		t.Fatalf("wrong password: %v", err)
	}
}

func asRetrieve(err error, re **oauth2.RetrieveError) bool {
	x, ok := err.(*oauth2.RetrieveError)
	if ok {
		*re = x
	}
	return ok
}

func TestTokenEndpoint(t *testing.T) {
	h := newHarness(t)
	h.register("ann@example.com")
	r := h.passwordGrant("ann@example.com", nil)
	if r.StatusCode != 200 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %v %s", r.StatusCode, r.Header, r.body)
	}
	pair := r.json(t)
	at, rt := pair["access_token"].(string), pair["refresh_token"].(string)
	if pair["token_type"] != "Bearer" || pair["expires_in"].(float64) != 900 {
		t.Fatalf("pair %v", pair)
	}
	me := h.bearer(at)
	if me.StatusCode != 200 || me.json(t)["auth"] != "token" {
		t.Fatalf("bearer me: %d %s", me.StatusCode, me.body)
	}

	errs := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"no grant type", url.Values{}, 400, "invalid_request"},
		{"unknown grant", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}}, 400, "unsupported_grant_type"},
		{"wrong password", url.Values{"grant_type": {"password"}, "username": {"ann@example.com"}, "password": {"nope nope nope nope"}}, 400, "invalid_grant"},
		{"unknown user", url.Values{"grant_type": {"password"}, "username": {"who@example.com"}, "password": {goodPassword}}, 400, "invalid_grant"},
		{"missing password", url.Values{"grant_type": {"password"}, "username": {"ann@example.com"}}, 400, "invalid_request"},
		{"bad resource", url.Values{"grant_type": {"password"}, "username": {"ann@example.com"}, "password": {goodPassword}, "resource": {"billing"}}, 400, "invalid_target"},
		{"garbage refresh", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"garbage"}}, 400, "invalid_grant"},
		{"access token as refresh", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {at}}, 400, "invalid_grant"},
		{"duplicate parameter", url.Values{"grant_type": {"password", "password"}}, 400, "invalid_request"},
		{"JSON body", `{"grant_type":"password"}`, 415, "invalid_request"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(nil, "POST", "/oauth2/token", tt.body)
			if r.StatusCode != tt.status {
				t.Fatalf("status %d: %s", r.StatusCode, r.body)
			}
			if m := r.json(t); m["error"] != tt.code {
				t.Fatalf("error %v, want %s", m["error"], tt.code)
			}
		})
	}
	t.Run("405 in OAuth form", func(t *testing.T) {
		r := h.do(nil, "GET", "/oauth2/token", nil)
		if r.StatusCode != 405 || r.json(t)["error"] != "invalid_request" {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
	})
	t.Run("resource narrows aud and refresh keeps it", func(t *testing.T) {
		r := h.passwordGrant("ann@example.com", url.Values{"resource": {"orders"}})
		p := r.json(t)
		if aud := claimsOf(t, p["access_token"].(string))["aud"]; len(aud.([]any)) != 1 || aud.([]any)[0] != "orders" {
			t.Fatalf("aud %v", aud)
		}
		r = h.do(nil, "POST", "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p["refresh_token"].(string)}})
		if aud := claimsOf(t, r.json(t)["access_token"].(string))["aud"]; len(aud.([]any)) != 1 || aud.([]any)[0] != "orders" {
			t.Fatalf("aud after refresh %v", aud)
		}
	})
	t.Run("reuse kills the family and only it", func(t *testing.T) {
		other := h.passwordGrant("ann@example.com", nil).json(t)
		sess := h.login("reuse@example.com")
		_ = sess
		refresh := func(rt string) resp {
			return h.do(nil, "POST", "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		}
		r1 := refresh(rt)
		if r1.StatusCode != 200 {
			t.Fatalf("first refresh: %d %s", r1.StatusCode, r1.body)
		}
		p1 := r1.json(t)
		// Inside the grace window the same token gets the same successor.
		if again := refresh(rt).json(t); again["refresh_token"] != p1["refresh_token"] {
			t.Fatal("grace retry got a different successor")
		}
		h.clock.Add(11 * time.Second)
		if r := refresh(rt); r.StatusCode != 400 || r.json(t)["error"] != "invalid_grant" {
			t.Fatalf("reuse: %d %s", r.StatusCode, r.body)
		}
		// The family is dead: its live refresh token and its access tokens.
		if r := refresh(p1["refresh_token"].(string)); r.StatusCode != 400 {
			t.Fatalf("successor after reuse: %d", r.StatusCode)
		}
		assertProblem(t, h.bearer(p1["access_token"].(string)), 401)
		assertProblem(t, h.bearer(at), 401)
		// Another family of the same user lives on.
		if r := h.bearer(other["access_token"].(string)); r.StatusCode != 200 {
			t.Fatalf("other family: %d", r.StatusCode)
		}
		if r := refresh(other["refresh_token"].(string)); r.StatusCode != 200 {
			t.Fatalf("other family refresh: %d", r.StatusCode)
		}
	})
}

func TestPasswordGrantSharesThrottle(t *testing.T) {
	h := newHarness(t)
	h.register("ann@example.com")
	for i := 0; i < 3; i++ {
		h.do(nil, "POST", "/v1/login", creds("ann@example.com", "wrong wrong wrong wrong"))
		h.do(nil, "POST", "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"ann@example.com"}, "password": {"nope nope nope nope"}})
	}
	r := h.passwordGrant("ann@example.com", nil)
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" || r.json(t)["error"] == nil {
		t.Fatalf("%d %v %s", r.StatusCode, r.Header, r.body)
	}
	assertProblem(t, h.do(nil, "POST", "/v1/login", creds("ann@example.com", goodPassword)), 429)
}

func TestRevokeEndpoint(t *testing.T) {
	h := newHarness(t)
	h.register("ann@example.com")
	p := h.passwordGrant("ann@example.com", nil).json(t)
	at, rt := p["access_token"].(string), p["refresh_token"].(string)
	for _, tok := range []string{"unknown", strings.Repeat("x", 43), "a.b.c"} {
		if r := h.do(nil, "POST", "/oauth2/revoke", url.Values{"token": {tok}}); r.StatusCode != 200 {
			t.Fatalf("unknown token: %d", r.StatusCode)
		}
	}
	if r := h.do(nil, "POST", "/oauth2/revoke", url.Values{}); r.StatusCode != 400 {
		t.Fatalf("no token: %d", r.StatusCode)
	}
	if r := h.do(nil, "POST", "/oauth2/revoke", url.Values{"token": {at}, "token_type_hint": {"access_token"}}); r.StatusCode != 200 {
		t.Fatal(r.StatusCode)
	}
	r := h.bearer(at)
	assertProblem(t, r, 401)
	if r.Header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
		t.Fatalf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
	}
	// Revoking the refresh token kills the family and its access tokens.
	q := h.do(nil, "POST", "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}).json(t)
	h.do(nil, "POST", "/oauth2/revoke", url.Values{"token": {q["refresh_token"].(string)}})
	assertProblem(t, h.bearer(q["access_token"].(string)), 401)
	if r := h.do(nil, "POST", "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {q["refresh_token"].(string)}}); r.StatusCode != 400 {
		t.Fatalf("refresh after revoke: %d", r.StatusCode)
	}
}

func TestIntrospect(t *testing.T) {
	h := newHarness(t)
	h.register("ann@example.com")
	if _, _, err := h.clients.Create(context.Background(), oidc.ClientSpec{ID: "orders", Secret: strings.Repeat("s", 40)}); err != nil {
		t.Fatal(err)
	}
	// A public client has no secret: its id never authenticates.
	if _, _, err := h.clients.Create(context.Background(), oidc.ClientSpec{ID: "web", Public: true, RedirectURIs: []string{"https://app.example.com/cb"}}); err != nil {
		t.Fatal(err)
	}
	p := h.passwordGrant("ann@example.com", nil).json(t)
	at := p["access_token"].(string)
	intro := func(user, pass, tok string) resp {
		req := url.Values{"token": {tok}}
		hdr := []string{}
		if user != "" {
			hdr = []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
		}
		return h.do(nil, "POST", "/oauth2/introspect", req, hdr...)
	}
	for _, c := range [][2]string{{"", ""}, {"orders", "wrong"}, {"nobody", strings.Repeat("s", 40)},
		{"web", ""}, {"web", strings.Repeat("s", 40)}, {"web", "anything"}} {
		r := intro(c[0], c[1], at)
		if r.StatusCode != 401 || r.json(t)["error"] != "invalid_client" {
			t.Fatalf("client %q: %d %s", c[0], r.StatusCode, r.body)
		}
	}
	r := intro("orders", strings.Repeat("s", 40), at)
	m := r.json(t)
	if r.StatusCode != 200 || m["active"] != true || m["username"] != "ann@example.com" {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	if m := intro("orders", strings.Repeat("s", 40), p["refresh_token"].(string)).json(t); m["active"] != true {
		t.Fatalf("refresh token: %v", m)
	}
	h.do(nil, "POST", "/oauth2/revoke", url.Values{"token": {at}})
	if m := intro("orders", strings.Repeat("s", 40), at).json(t); m["active"] != false || len(m) != 1 {
		t.Fatalf("revoked: %v", m)
	}
}

func TestSessionToken(t *testing.T) {
	h := newHarness(t)
	a := h.login("ann@example.com")
	sid := h.do(a, "GET", "/v1/me", nil).json(t)["session_id"]
	assertProblem(t, h.do(nil, "POST", "/v1/session/token", nil), 401)
	assertProblem(t, h.do(a, "POST", "/v1/session/token", nil, "Sec-Fetch-Site", "cross-site"), 403)
	r := h.do(a, "POST", "/v1/session/token", nil)
	if r.StatusCode != 200 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	m := r.json(t)
	if _, has := m["refresh_token"]; has {
		t.Fatal("session token came with a refresh token")
	}
	at := m["access_token"].(string)
	c := claimsOf(t, at)
	if c["sid"] != sid {
		t.Fatalf("sid %v, want the session's %v", c["sid"], sid)
	}
	me := h.bearer(at).json(t)
	if me["auth"] != "token" || me["session_id"] != sid {
		t.Fatalf("me %v", me)
	}
	authz := h.do(nil, "GET", "/v1/authz", nil, "Authorization", "Bearer "+at)
	if authz.StatusCode != 200 || authz.Header.Get("X-Auth-Email") != "ann@example.com" {
		t.Fatalf("authz %d", authz.StatusCode)
	}
	// Ending the session ends the token, on this node at once.
	h.do(a, "POST", "/v1/logout", nil)
	assertProblem(t, h.bearer(at), 401)
}

func TestPasswordChangeAndLockRevokeTokens(t *testing.T) {
	h := newHarness(t)
	a := h.login("ann@example.com")
	p := h.passwordGrant("ann@example.com", nil).json(t)
	const next = "a brand new passphrase for ann"
	if r := h.do(a, "POST", "/v1/password", `{"current_password":"`+goodPassword+`","new_password":"`+next+`"}`); r.StatusCode != 204 {
		t.Fatal(r.StatusCode)
	}
	waitRefused(t, h, p["access_token"].(string))
	if r := h.do(nil, "POST", "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p["refresh_token"].(string)}}); r.StatusCode != 400 {
		t.Fatalf("refresh after password change: %d", r.StatusCode)
	}
	v := url.Values{"grant_type": {"password"}, "username": {"ann@example.com"}, "password": {next}}
	q := h.do(nil, "POST", "/oauth2/token", v).json(t)
	if err := h.lock("ann@example.com"); err != nil {
		t.Fatal(err)
	}
	waitRefused(t, h, q["access_token"].(string))
}

// waitRefused waits until tok is refused: a revocation written by another
// process reaches this node's set through its poll (10 ms here).
func waitRefused(t *testing.T, h *harness, tok string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if h.bearer(tok).StatusCode == 401 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("token still accepted")
}

func TestDiscovery(t *testing.T) {
	h := newHarness(t)
	r := h.do(nil, "GET", "/.well-known/jwks.json", nil)
	if r.StatusCode != 200 || !strings.Contains(r.Header.Get("Cache-Control"), "max-age") {
		t.Fatalf("jwks %d %v", r.StatusCode, r.Header)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	json.Unmarshal(r.body, &set)
	if len(set.Keys) != 1 || set.Keys[0]["kid"] == nil || set.Keys[0]["alg"] != "EdDSA" || set.Keys[0]["use"] != "sig" || set.Keys[0]["d"] != nil {
		t.Fatalf("jwks %s", r.body)
	}
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		m := h.do(nil, "GET", path, nil).json(t)
		for _, k := range []string{"issuer", "jwks_uri", "token_endpoint", "revocation_endpoint", "introspection_endpoint",
			"grant_types_supported", "token_endpoint_auth_methods_supported", "response_types_supported"} {
			if m[k] == nil {
				t.Errorf("%s lacks %s", path, k)
			}
		}
		if m["issuer"] != "http://authd.test" || m["token_endpoint"] != "http://authd.test/oauth2/token" {
			t.Errorf("%s: %v", path, m)
		}
		if !reflect.DeepEqual(m["token_endpoint_auth_methods_supported"], []any{"none", "client_secret_basic", "client_secret_post"}) ||
			!slices.Contains(m["grant_types_supported"].([]any), any("client_credentials")) {
			t.Errorf("%s: client authentication and the client_credentials grant: %v", path, m)
		}
	}
}

// TestDiscoveryIsTrue: discovery advertises only what authd does: every
// endpoint it names answers, the grants are the enabled ones, the ID token
// algorithms are those of the key that signs them, and nothing not built
// (DPoP) is named.
func TestDiscoveryIsTrue(t *testing.T) {
	for _, pg := range []bool{false, true} {
		h := newHarness(t, with(func(c *httpapi.Config, _ *account.Config, _ *session.Config) { c.PasswordGrant = pg }))
		for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
			m := h.do(nil, "GET", path, nil).json(t)
			for _, k := range []string{"authorization_endpoint", "userinfo_endpoint", "end_session_endpoint", "token_endpoint",
				"revocation_endpoint", "introspection_endpoint", "jwks_uri"} {
				u, _ := m[k].(string)
				p, ok := strings.CutPrefix(u, "http://authd.test")
				if !ok {
					t.Errorf("%s: %s = %q", path, k, u)
					continue
				}
				if r := h.do(nil, "GET", p, nil); r.StatusCode == 404 {
					t.Errorf("%s advertises %s %s, which answers 404", path, k, p)
				}
			}
			if !reflect.DeepEqual(m["id_token_signing_alg_values_supported"], []any{"EdDSA"}) {
				t.Errorf("%s: id_token_signing_alg_values_supported %v", path, m["id_token_signing_alg_values_supported"])
			}
			// DPoP is advertised with exactly the algorithms proofs are
			// checked with.
			if got, want := jsonOf(m["dpop_signing_alg_values_supported"]), jsonOf(dpop.Algorithms()); got != want {
				t.Errorf("%s: dpop_signing_alg_values_supported %s, want %s", path, got, want)
			}
			want := []any{"authorization_code", "refresh_token", "client_credentials"}
			if pg {
				want = append(want, "password")
			}
			if !reflect.DeepEqual(m["grant_types_supported"], want) {
				t.Errorf("password grant %v: %s grant_types_supported %v, want %v", pg, path, m["grant_types_supported"], want)
			}
		}
	}
}

// TestPasswordGrantOffByDefault: without --password-grant (RFC 9700 forbids
// the grant) /oauth2/token refuses it as unsupported, right password or not,
// and checks no password.
func TestPasswordGrantOffByDefault(t *testing.T) {
	h := newHarness(t, with(func(c *httpapi.Config, _ *account.Config, _ *session.Config) { c.PasswordGrant = false }))
	h.register("ann@example.com")
	r := h.passwordGrant("ann@example.com", nil)
	if r.StatusCode != 400 || r.json(t)["error"] != "unsupported_grant_type" {
		t.Fatalf("password grant while off: %d %s", r.StatusCode, r.body)
	}
	if strings.Contains(string(r.body), "password,") || strings.Contains(string(r.body), ", password") {
		t.Fatalf("the error lists the password grant while it is off: %s", r.body)
	}
	if strings.Contains(h.logs.String(), `"event":"login_failed"`) || strings.Contains(h.logs.String(), `"event":"login_succeeded"`) {
		t.Fatal("a refused password grant checked the password")
	}
}

func TestRevocationFeed(t *testing.T) {
	h := newHarness(t)
	a := h.login("ann@example.com")
	bad := h.do(nil, "GET", "/v1/revocations?since=garbage", nil)
	assertProblem(t, bad, 400)
	assertProblem(t, h.do(nil, "GET", "/v1/revocations?wait=forever", nil), 400)

	first := h.do(nil, "GET", "/v1/revocations", nil).json(t)
	cursor := first["cursor"].(string)
	if n := len(first["revoked"].([]any)); n != 0 {
		t.Fatalf("fresh feed has %d entries", n)
	}
	sid := h.do(a, "GET", "/v1/me", nil).json(t)["session_id"].(string)

	// A long-poll returns when the session is revoked, with its sid.
	var wg sync.WaitGroup
	var got map[string]any
	var status int
	start := time.Now()
	wg.Go(func() {
		r := h.do(nil, "GET", "/v1/revocations?wait=10s&since="+url.QueryEscape(cursor), nil)
		status = r.StatusCode
		json.Unmarshal(r.body, &got)
	})
	time.Sleep(100 * time.Millisecond)
	h.do(a, "POST", "/v1/logout", nil)
	wg.Wait()
	if status != 200 {
		t.Fatalf("feed: %d", status)
	}
	entries := got["revoked"].([]any)
	if len(entries) != 1 || entries[0].(map[string]any)["sid"] != sid || entries[0].(map[string]any)["exp"] == nil {
		t.Fatalf("feed %v", got)
	}
	if time.Since(start) > 9*time.Second {
		t.Fatal("long-poll waited for its timeout instead of the revocation")
	}
	if got["cursor"] == cursor {
		t.Fatal("cursor did not move")
	}
}
