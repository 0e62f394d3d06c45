package httpapi_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/oidc"
)

// receiver is a client's back-channel logout endpoint: it records the
// logout tokens it gets and answers with the statuses of fail first.
type receiver struct {
	mu     sync.Mutex
	tokens []string
	fail   int // answer 500 this many times first
	calls  int
	srv    *httptest.Server
}

func newReceiver(t *testing.T, fail int) *receiver {
	rc := &receiver{fail: fail}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.calls++
		if rc.calls <= rc.fail {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		rc.tokens = append(rc.tokens, r.PostForm.Get("logout_token"))
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) received() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.tokens...)
}

// waitFor polls cond for up to 10 s (no timing is asserted: the bound
// only keeps a broken delivery from hanging the test).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lgClient registers a confidential-less web client with back-channel
// and post-logout URIs.
func lgClient(t *testing.T, h *harness, id, backchannel string, firstParty bool) {
	t.Helper()
	_, _, err := h.clients.Create(context.Background(), oidc.ClientSpec{ID: id, Name: "App " + id, Public: true,
		RedirectURIs: []string{"http://127.0.0.1:9/cb"}, PostLogoutRedirectURIs: []string{"http://127.0.0.1:9/bye"},
		BackchannelLogoutURI: backchannel, FirstParty: firstParty})
	if err != nil {
		t.Fatal(err)
	}
}

// lgCodeFlow runs the code flow for the signed-in browser c and returns
// the token response. It approves the consent page when one comes.
func lgCodeFlow(t *testing.T, h *harness, c *http.Client, clientID, scope string) map[string]any {
	t.Helper()
	verifier, challenge := pkce()
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {"http://127.0.0.1:9/cb"},
		"scope": {scope}, "state": {"s"}, "nonce": {"n"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	r := h.do(c, "GET", "/oauth2/authorize?"+q.Encode(), nil)
	if r.StatusCode == http.StatusOK {
		m := regexp.MustCompile(`name="request" value="([^"]*)"[\s\S]*name="csrf" value="([^"]*)"`).FindSubmatch(r.body)
		if m == nil {
			t.Fatalf("no consent form: %s", r.body)
		}
		r = h.do(c, "POST", "/oauth2/consent", url.Values{"request": {html.UnescapeString(string(m[1]))},
			"csrf": {string(m[2])}, "decision": {"approve"}}, "Sec-Fetch-Site", "same-origin")
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	r = h.do(nil, "POST", "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"client_id": {clientID}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "code_verifier": {verifier}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %s", r.StatusCode, r.body)
	}
	return r.json(t)
}

// jwtParts decodes a JWT's header and payload (the signature is the
// receiving library's business; these tests read what authd sent).
func jwtParts(t *testing.T, jwt string) (hdr, claims map[string]any) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", jwt)
	}
	for i, dst := range []*map[string]any{&hdr, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, dst) != nil {
			t.Fatalf("segment %d does not decode", i)
		}
	}
	return hdr, claims
}

func auditEvents(t *testing.T, h *harness, event string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT detail FROM audit_events WHERE event = ? ORDER BY id`, event)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d sql.NullString
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d.String)
	}
	return out
}

// TestOIDCBackchannelLogout: a session that ends sends a logout token to
// every client that got tokens through it (Back-Channel Logout 1.0).
func TestOIDCBackchannelLogout(t *testing.T) {
	h := newHarness(t)
	rc := newReceiver(t, 0)
	other := newReceiver(t, 0)
	lgClient(t, h, "app", rc.srv.URL+"/logout", true)
	lgClient(t, h, "unused", other.srv.URL+"/logout", true)
	c := h.login("ann@example.com")
	tok := lgCodeFlow(t, h, c, "app", "openid")
	_, idc := jwtParts(t, tok["id_token"].(string))

	if r := h.do(c, "POST", "/v1/logout", nil, "Sec-Fetch-Site", "same-origin"); r.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	waitFor(t, "the logout token", func() bool { return len(rc.received()) == 1 })
	hdr, lc := jwtParts(t, rc.received()[0])
	if hdr["typ"] != "logout+jwt" {
		t.Errorf("typ %v, want logout+jwt", hdr["typ"])
	}
	if lc["sid"] != idc["sid"] || lc["sub"] != idc["sub"] || lc["aud"] != "app" && !strings.Contains(jsonOf(lc["aud"]), `"app"`) {
		t.Errorf("logout token claims %v do not name the session %v", lc, idc)
	}
	if _, ok := lc["nonce"]; ok {
		t.Error("a logout token has a nonce")
	}
	ev, _ := lc["events"].(map[string]any)
	if _, ok := ev["http://schemas.openid.net/event/backchannel-logout"]; !ok {
		t.Errorf("events %v lack the back-channel logout event", lc["events"])
	}
	for _, k := range []string{"iss", "iat", "exp", "jti"} {
		if lc[k] == nil {
			t.Errorf("logout token lacks %s", k)
		}
	}
	waitFor(t, "the audit event", func() bool { return len(auditEvents(t, h, "backchannel_logout_sent")) == 1 })
	if n := len(other.received()); n != 0 {
		t.Errorf("a client that got no tokens through the session got %d logout tokens", n)
	}
}

// TestOIDCBackchannelRetries: a client that is down gets the logout token
// later; one that stays down past the retry window is given up, audited.
func TestOIDCBackchannelRetries(t *testing.T) {
	t.Run("delivered after failures", func(t *testing.T) {
		h := newHarness(t)
		rc := newReceiver(t, 2)
		lgClient(t, h, "app", rc.srv.URL, true)
		c := h.login("ann@example.com")
		lgCodeFlow(t, h, c, "app", "openid")
		h.do(c, "POST", "/v1/logout", nil, "Sec-Fetch-Site", "same-origin")
		waitFor(t, "delivery after two failures", func() bool {
			h.clock.Add(5 * time.Second) // past each backoff
			return len(rc.received()) == 1
		})
		if f := auditEvents(t, h, "backchannel_logout_failed"); len(f) != 2 || !strings.Contains(f[0], "retrying") {
			t.Errorf("failed attempts audited as %q", f)
		}
	})
	t.Run("given up", func(t *testing.T) {
		h := newHarness(t)
		rc := newReceiver(t, 1<<30)
		lgClient(t, h, "app", rc.srv.URL, true)
		c := h.login("ann@example.com")
		lgCodeFlow(t, h, c, "app", "openid")
		h.do(c, "POST", "/v1/logout", nil, "Sec-Fetch-Site", "same-origin")
		seen := 0
		waitFor(t, "giving up", func() bool {
			f := auditEvents(t, h, "backchannel_logout_failed")
			if len(f) > seen {
				// After each failed attempt, time moves to its retry.
				seen = len(f)
				h.clock.Add(oidc.BackchannelDelay(seen))
			}
			return len(f) > 0 && strings.Contains(f[len(f)-1], "given up")
		})
		f := auditEvents(t, h, "backchannel_logout_failed")
		if len(f) < 5 {
			t.Errorf("given up after %d attempts; want retries over at least 10 minutes", len(f))
		}
	})
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestOIDCRPInitiatedLogout: RP-Initiated Logout 1.0.
func TestOIDCRPInitiatedLogout(t *testing.T) {
	h := newHarness(t)
	lgClient(t, h, "app", "", true)
	t.Run("with id_token_hint: signed out at once, back to the client with state", func(t *testing.T) {
		c := h.login("ann@example.com")
		tok := lgCodeFlow(t, h, c, "app", "openid")
		q := url.Values{"id_token_hint": {tok["id_token"].(string)}, "post_logout_redirect_uri": {"http://127.0.0.1:9/bye"}, "state": {"x y"}}
		r := h.do(c, "GET", "/oauth2/logout?"+q.Encode(), nil)
		if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "http://127.0.0.1:9/bye?state=x+y" {
			t.Fatalf("logout: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
		if r := h.do(c, "GET", "/v1/me", nil); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("session alive after logout: %d", r.StatusCode)
		}
		if r := h.do(nil, "GET", "/v1/me", nil, "Authorization", "Bearer "+tok["access_token"].(string)); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("the session's access token still works: %d", r.StatusCode)
		}
	})
	t.Run("without a hint: a confirmation page, then signed out", func(t *testing.T) {
		h.register("bob@example.com")
		c := h.client()
		h.do(c, "POST", "/v1/login", creds("bob@example.com", goodPassword))
		q := url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {"http://127.0.0.1:9/bye"}, "state": {"s"}}
		r := h.do(c, "GET", "/oauth2/logout?"+q.Encode(), nil)
		if r.StatusCode != http.StatusOK || !strings.Contains(string(r.body), "Sign out?") {
			t.Fatalf("no confirmation page: %d %s", r.StatusCode, r.body)
		}
		if r := h.do(c, "GET", "/v1/me", nil); r.StatusCode != http.StatusOK {
			t.Fatalf("signed out without confirming: %d", r.StatusCode)
		}
		csrf := regexp.MustCompile(`name="csrf" value="([^"]*)"`).FindSubmatch(r.body)
		form := url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {"http://127.0.0.1:9/bye"}, "state": {"s"}, "csrf": {"forged"}}
		if r := h.do(c, "POST", "/oauth2/logout", form, "Sec-Fetch-Site", "same-origin"); r.StatusCode != http.StatusForbidden {
			t.Errorf("a forged confirmation: %d", r.StatusCode)
		}
		if r := h.do(c, "POST", "/oauth2/logout", form, "Sec-Fetch-Site", "cross-site"); r.StatusCode != http.StatusForbidden {
			t.Errorf("a cross-site confirmation: %d", r.StatusCode)
		}
		form.Set("csrf", string(csrf[1]))
		r = h.do(c, "POST", "/oauth2/logout", form, "Sec-Fetch-Site", "same-origin")
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "http://127.0.0.1:9/bye?state=s" {
			t.Fatalf("confirmed logout: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
		if r := h.do(c, "GET", "/v1/me", nil); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("still signed in: %d", r.StatusCode)
		}
	})
	t.Run("unregistered post_logout_redirect_uri: an error page, no redirect", func(t *testing.T) {
		for _, uri := range []string{"http://127.0.0.1:9/bye/", "https://evil.example/bye", "http://127.0.0.1:9/BYE"} {
			q := url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {uri}}
			r := h.do(h.client(), "GET", "/oauth2/logout?"+q.Encode(), nil)
			if r.StatusCode != http.StatusBadRequest || r.Header.Get("Location") != "" {
				t.Errorf("%s: %d %q", uri, r.StatusCode, r.Header.Get("Location"))
			}
		}
	})
}

// TestOIDCConnectedApps: consents are listed on /account and revocable,
// which ends the app's refresh families.
func TestOIDCConnectedApps(t *testing.T) {
	h := newHarness(t)
	lgClient(t, h, "app", "", false)
	c := h.login("ann@example.com")
	tok := lgCodeFlow(t, h, c, "app", "openid offline_access")
	r := h.do(c, "GET", "/account", nil)
	if !strings.Contains(string(r.body), "Connected apps") || !strings.Contains(string(r.body), "App app") {
		t.Fatalf("account page lacks the app: %s", r.body)
	}
	r = h.do(c, "POST", "/account/apps/revoke", url.Values{"client_id": {"app"}}, "Sec-Fetch-Site", "same-origin")
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", r.StatusCode, r.body)
	}
	r = h.do(nil, "POST", "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}, "client_id": {"app"}})
	if r.StatusCode != http.StatusBadRequest {
		t.Errorf("refresh after the app was disconnected: %d %s", r.StatusCode, r.body)
	}
	if r := h.do(nil, "GET", "/v1/me", nil, "Authorization", "Bearer "+tok["access_token"].(string)); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the app's access token still works: %d", r.StatusCode)
	}
	if ev := auditEvents(t, h, "consent_revoked"); len(ev) != 1 {
		t.Errorf("consent_revoked audited %d times", len(ev))
	}
	// The consent is asked again.
	verifier, challenge := pkce()
	_ = verifier
	q := url.Values{"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {"http://127.0.0.1:9/cb"},
		"scope": {"openid"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	if r := h.do(c, "GET", "/oauth2/authorize?"+q.Encode(), nil); r.StatusCode != http.StatusOK {
		t.Errorf("after revocation the consent page is not shown again: %d", r.StatusCode)
	}
}

// TestOIDCDiscovery: discovery names every endpoint and what is really
// supported.
func TestOIDCDiscovery(t *testing.T) {
	h := newHarness(t, realIssuer())
	r := h.do(nil, "GET", "/.well-known/openid-configuration", nil)
	md := r.json(t)
	want := map[string]string{
		"issuer":                                         h.issuer,
		"authorization_endpoint":                         h.issuer + "/oauth2/authorize",
		"token_endpoint":                                 h.issuer + "/oauth2/token",
		"userinfo_endpoint":                              h.issuer + "/oauth2/userinfo",
		"end_session_endpoint":                           h.issuer + "/oauth2/logout",
		"jwks_uri":                                       h.issuer + "/.well-known/jwks.json",
		"response_types_supported":                       `["code"]`,
		"code_challenge_methods_supported":               `["S256"]`,
		"id_token_signing_alg_values_supported":          `["EdDSA"]`,
		"subject_types_supported":                        `["public"]`,
		"backchannel_logout_supported":                   "true",
		"backchannel_logout_session_supported":           "true",
		"authorization_response_iss_parameter_supported": "true",
		"acr_values_supported":                           `["aal1","aal2"]`,
	}
	for k, v := range want {
		got, _ := md[k].(string)
		if got == "" {
			got = jsonOf(md[k])
		}
		if got != v {
			t.Errorf("%s = %s, want %s", k, got, v)
		}
	}
	if g := jsonOf(md["grant_types_supported"]); !strings.Contains(g, "authorization_code") || !strings.Contains(g, "refresh_token") {
		t.Errorf("grant_types_supported %s", g)
	}
	for _, k := range []string{"scopes_supported", "claims_supported", "token_endpoint_auth_methods_supported"} {
		if md[k] == nil {
			t.Errorf("discovery lacks %s", k)
		}
	}
}

// TestOIDCAuthorizeByPOST: the authorization endpoint takes its
// parameters as a form too (OpenID Connect Core §3.1.2.1), under the same
// rules; a malformed body is an error page.
func TestOIDCAuthorizeByPOST(t *testing.T) {
	h := newHarness(t)
	lgClient(t, h, "app", "", true)
	c := h.login("ann@example.com")
	_, challenge := pkce()
	form := url.Values{"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {"http://127.0.0.1:9/cb"},
		"scope": {"openid"}, "state": {"s p"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	r := h.do(c, "POST", "/oauth2/authorize", form, "Sec-Fetch-Site", "cross-site")
	loc, _ := url.Parse(r.Header.Get("Location"))
	if r.StatusCode != http.StatusFound || loc.Query().Get("code") == "" || loc.Query().Get("state") != "s p" {
		t.Fatalf("POST authorize: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	form.Set("code_challenge_method", "plain")
	r = h.do(c, "POST", "/oauth2/authorize", form)
	if loc, _ := url.Parse(r.Header.Get("Location")); r.StatusCode != http.StatusFound || loc.Query().Get("error") != "invalid_request" {
		t.Fatalf("POST authorize with plain PKCE: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = h.do(c, "POST", "/oauth2/authorize", []byte("client_id=app"), "Content-Type", "application/json")
	if r.StatusCode != http.StatusBadRequest || r.Header.Get("Location") != "" {
		t.Fatalf("POST authorize with JSON: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}
