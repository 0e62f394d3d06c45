package httpapi_test

// SECURITY A1–A5 (authorization code and OpenID Connect): the refusals,
// each with the exact status and error code API.md gives.

import (
	"context"
	"database/sql"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authd/authd/oidc"
)

// The clients of these tests.
const (
	secWeb      = "web"   // public, third-party
	secApp      = "app"   // confidential, third-party
	secFP       = "fp"    // public, first-party (no consent page)
	secOther    = "other" // confidential, third-party, same redirect URI as app
	secWebCB    = "http://127.0.0.1:9/cb"
	secWebQuery = "http://127.0.0.1:9/q?x=1" // web's second URI, with a query
	secAppCB    = "http://127.0.0.1:9/app/cb"
)

// secHarness is a harness with the clients above.
func secHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	ctx := context.Background()
	for _, spec := range []oidc.ClientSpec{
		{ID: secWeb, Name: "Web", Public: true, RedirectURIs: []string{secWebCB, secWebQuery}},
		{ID: secApp, Name: "App", Secret: rpSecret, RedirectURIs: []string{secAppCB}},
		{ID: secFP, Name: "First", Public: true, FirstParty: true, RedirectURIs: []string{secWebCB}},
		{ID: secOther, Name: "Other", Secret: rpSecret, RedirectURIs: []string{secAppCB}},
	} {
		if _, _, err := h.clients.Create(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// authzQuery is a valid authorization request of client to redirect with
// the PKCE challenge of verifier; kv pairs then set (or, with an empty
// value, delete) parameters.
func authzQuery(client, redirect, verifier string, kv ...string) url.Values {
	q := url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirect},
		"scope": {"openid email offline_access"}, "state": {"st"}, "nonce": {"n1"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	return q
}

func secAuthorize(h *harness, c *http.Client, q url.Values) resp {
	h.t.Helper()
	return h.do(c, "GET", "/oauth2/authorize?"+q.Encode(), nil)
}

// secCode runs the browser flow for client (approving consent when asked)
// and returns the code and its verifier; kv as authzQuery.
func secCode(t *testing.T, h *harness, c *http.Client, client, redirect string, kv ...string) (code, verifier string) {
	t.Helper()
	verifier = oauth2.GenerateVerifier()
	back, _ := ocAuthorize(t, h, c, h.srv.URL+"/oauth2/authorize?"+authzQuery(client, redirect, verifier, kv...).Encode())
	code = back.Query().Get("code")
	if code == "" {
		t.Fatalf("no code: %s", back)
	}
	return code, verifier
}

// basic is the client_secret_basic Authorization header value.
func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// secToken posts form to /oauth2/token as client: HTTP Basic when secret
// is set, client_id in the form when only client is, nothing when both
// are empty.
func secToken(h *harness, client, secret string, form url.Values) resp {
	h.t.Helper()
	var hdr []string
	switch {
	case secret != "":
		hdr = []string{"Authorization", basic(client, secret)}
	case client != "":
		form.Set("client_id", client)
	}
	return h.do(nil, "POST", "/oauth2/token", form, hdr...)
}

func secExchange(h *harness, client, secret, code, redirect, verifier string) resp {
	h.t.Helper()
	return secToken(h, client, secret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirect}, "code_verifier": {verifier}})
}

func secRefresh(h *harness, client, secret, rt string) resp {
	h.t.Helper()
	return secToken(h, client, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

// wantOAuthError checks an RFC 6749 §5.2 error response.
func wantOAuthError(t *testing.T, r resp, status int, code string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d (%s): %s", r.StatusCode, status, code, r.body)
	}
	if got := r.json(t)["error"]; got != code {
		t.Fatalf("error %v, want %s: %s", got, code, r.body)
	}
	if strings.Contains(string(r.body), "access_token") {
		t.Fatalf("an error response carries a token: %s", r.body)
	}
}

// wantTokens checks a 200 token response and returns it.
func wantTokens(t *testing.T, r resp) map[string]any {
	t.Helper()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %s", r.StatusCode, r.body)
	}
	m := r.json(t)
	if s, _ := m["access_token"].(string); s == "" {
		t.Fatalf("no access token: %s", r.body)
	}
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Fatalf("token response Cache-Control %q, want no-store (RFC 6749 §5.1)", cc)
	}
	return m
}

// wantRedirectError checks an authorization error answered by a redirect
// to redirect: error code, state and iss (RFC 6749 §4.1.2.1, RFC 9207),
// and no code or token anywhere in the URL.
func wantRedirectError(t *testing.T, h *harness, r resp, redirect, code, state string) *url.URL {
	t.Helper()
	if r.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want a 302 with error=%s: %s", r.StatusCode, code, r.body)
	}
	raw := r.Header.Get("Location")
	if !strings.HasPrefix(raw, redirect+"?") && !strings.HasPrefix(raw, redirect+"&") {
		t.Fatalf("redirected to %s, want %s", raw, redirect)
	}
	loc, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	if q.Get("error") != code {
		t.Fatalf("error %q, want %q: %s", q.Get("error"), code, raw)
	}
	if q.Get("state") != state {
		t.Fatalf("state %q, want %q: %s", q.Get("state"), state, raw)
	}
	if q.Get("iss") != h.issuer {
		t.Fatalf("iss %q, want %q: %s", q.Get("iss"), h.issuer, raw)
	}
	for _, k := range []string{"code", "access_token", "id_token", "token"} {
		if q.Has(k) {
			t.Fatalf("error redirect carries %s: %s", k, raw)
		}
	}
	if loc.Fragment != "" || strings.Contains(raw, "#") {
		t.Fatalf("error redirect has a fragment: %s", raw)
	}
	return loc
}

// wantErrorPage checks an authorization request answered by authd's own
// error page: 400 HTML, sent nowhere.
func wantErrorPage(t *testing.T, r resp) {
	t.Helper()
	if r.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s %s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	if loc := r.Header.Get("Location"); loc != "" {
		t.Fatalf("an error page with Location %s", loc)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type %q, want HTML", ct)
	}
}

// bearerStatus is the status of GET /v1/me with tok as bearer.
func bearerStatus(h *harness, tok string) int {
	h.t.Helper()
	return h.do(nil, "GET", "/v1/me", nil, "Authorization", "Bearer "+tok).StatusCode
}

// TestOIDCRedirectURIExactMatch: a redirect_uri that is not exactly
// registered, or an unknown client, gets an error page — never a redirect
// (SECURITY A1), even when the request is bad in other ways too.
func TestOIDCRedirectURIExactMatch(t *testing.T) {
	h := secHarness(t)
	c := h.login("ann@example.com")
	v := oauth2.GenerateVerifier()
	cases := map[string]url.Values{
		"trailing slash":        authzQuery(secWeb, secWebCB+"/", v),
		"path case":             authzQuery(secWeb, "http://127.0.0.1:9/CB", v),
		"host case":             authzQuery(secWeb, "http://LOCALHOST:9/cb", v),
		"scheme case":           authzQuery(secWeb, "HTTP://127.0.0.1:9/cb", v),
		"extra query":           authzQuery(secWeb, secWebCB+"?x=1", v),
		"registered query + 1":  authzQuery(secWeb, secWebQuery+"&y=2", v),
		"registered query gone": authzQuery(secWeb, "http://127.0.0.1:9/q", v),
		"fragment":              authzQuery(secWeb, secWebCB+"#x", v),
		"prefix":                authzQuery(secWeb, secWebCB+"x", v),
		"sub path":              authzQuery(secWeb, secWebCB+"/evil", v),
		"dot segment":           authzQuery(secWeb, "http://127.0.0.1:9/x/../cb", v),
		"percent-encoded":       authzQuery(secWeb, "http://127.0.0.1:9/%63b", v),
		"default port added":    authzQuery(secWeb, "http://127.0.0.1:9/cb:80", v),
		"other port":            authzQuery(secWeb, "http://127.0.0.1:10/cb", v),
		"userinfo":              authzQuery(secWeb, "http://evil@127.0.0.1:9/cb", v),
		"another client's URI":  authzQuery(secWeb, secAppCB, v),
		"missing redirect_uri":  authzQuery(secWeb, "", v),
		"unknown client":        authzQuery("nobody", secWebCB, v),
		"client id case":        authzQuery("WEB", secWebCB, v),
		"missing client_id":     authzQuery("", secWebCB, v),
		"bad uri and implicit":  authzQuery(secWeb, secWebCB+"/", v, "response_type", "token"),
		"bad uri and plain":     authzQuery(secWeb, secWebCB+"/", v, "code_challenge_method", "plain"),
		"bad uri and prompt=none": authzQuery(secWeb, "http://127.0.0.1:9/cb/", v,
			"prompt", "none"),
	}
	for name, q := range cases {
		t.Run(name, func(t *testing.T) {
			wantErrorPage(t, secAuthorize(h, c, q))
			// Without a session too: the check comes before anything else.
			wantErrorPage(t, secAuthorize(h, h.client(), q))
		})
	}
	t.Run("repeated redirect_uri", func(t *testing.T) {
		q := authzQuery(secWeb, secWebCB, v)
		q.Add("redirect_uri", "http://evil.example/cb")
		wantErrorPage(t, secAuthorize(h, c, q))
	})
	t.Run("repeated client_id", func(t *testing.T) {
		q := authzQuery(secWeb, secWebCB, v)
		q.Add("client_id", secApp)
		wantErrorPage(t, secAuthorize(h, c, q))
	})
}

// TestOIDCPKCERequired: PKCE S256 for every client; plain and a missing
// challenge are invalid_request, redirected with state and iss (A1).
func TestOIDCPKCERequired(t *testing.T) {
	h := secHarness(t)
	c := h.login("ann@example.com")
	v := oauth2.GenerateVerifier()
	for _, cl := range []struct{ id, cb string }{{secWeb, secWebCB}, {secApp, secAppCB}, {secFP, secWebCB}} {
		cases := map[string]url.Values{
			"plain":                    authzQuery(cl.id, cl.cb, v, "code_challenge_method", "plain", "code_challenge", v),
			"plain with S256 value":    authzQuery(cl.id, cl.cb, v, "code_challenge_method", "plain"),
			"missing challenge":        authzQuery(cl.id, cl.cb, v, "code_challenge", ""),
			"missing both":             authzQuery(cl.id, cl.cb, v, "code_challenge", "", "code_challenge_method", ""),
			"missing method (= plain)": authzQuery(cl.id, cl.cb, v, "code_challenge_method", ""),
			"method case":              authzQuery(cl.id, cl.cb, v, "code_challenge_method", "s256"),
			"short challenge":          authzQuery(cl.id, cl.cb, v, "code_challenge", "abc"),
		}
		for name, q := range cases {
			t.Run(cl.id+"/"+name, func(t *testing.T) {
				wantRedirectError(t, h, secAuthorize(h, c, q), cl.cb, "invalid_request", "st")
			})
		}
	}
}

// TestOIDCImplicitFlowRefused: only response_type=code; the implicit and
// hybrid flows are unsupported_response_type and never put a token in
// the URL (A3).
func TestOIDCImplicitFlowRefused(t *testing.T) {
	h := secHarness(t)
	c := h.login("ann@example.com")
	v := oauth2.GenerateVerifier()
	for _, rt := range []string{"token", "id_token", "id_token token", "code id_token", "code token", "code id_token token", "none", "CODE"} {
		for _, cl := range []struct{ id, cb string }{{secWeb, secWebCB}, {secFP, secWebCB}} {
			t.Run(cl.id+"/"+rt, func(t *testing.T) {
				wantRedirectError(t, h, secAuthorize(h, c, authzQuery(cl.id, cl.cb, v, "response_type", rt)), cl.cb, "unsupported_response_type", "st")
			})
		}
	}
	t.Run("missing response_type", func(t *testing.T) {
		wantRedirectError(t, h, secAuthorize(h, c, authzQuery(secFP, secWebCB, v, "response_type", "")), secWebCB, "invalid_request", "st")
	})
	t.Run("response_mode=fragment", func(t *testing.T) {
		wantRedirectError(t, h, secAuthorize(h, c, authzQuery(secFP, secWebCB, v, "response_mode", "fragment")), secWebCB, "invalid_request", "st")
	})
}

// auditCount counts the audit events named event.
func auditCount(t *testing.T, h *harness, event string) int {
	t.Helper()
	db, err := sql.Open("sqlite", h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM audit_events WHERE event = ?`, event).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOIDCCodeReplay: a code presented twice is invalid_grant and revokes
// what the first exchange issued: the access token, the refresh family
// (A2, RFC 6749 §4.1.2); the reuse is audited.
func TestOIDCCodeReplay(t *testing.T) {
	h := secHarness(t)
	c := h.login("ann@example.com")
	code, v := secCode(t, h, c, secApp, secAppCB)
	tok := wantTokens(t, secExchange(h, secApp, rpSecret, code, secAppCB, v))
	at, rt := tok["access_token"].(string), tok["refresh_token"].(string)
	if rt == "" {
		t.Fatal("no refresh token")
	}
	if s := bearerStatus(h, at); s != http.StatusOK {
		t.Fatalf("the fresh access token: /v1/me %d", s)
	}
	if n := auditCount(t, h, "code_reuse_detected"); n != 0 {
		t.Fatalf("%d code_reuse_detected before any reuse", n)
	}

	wantOAuthError(t, secExchange(h, secApp, rpSecret, code, secAppCB, v), http.StatusBadRequest, "invalid_grant")

	if s := bearerStatus(h, at); s != http.StatusUnauthorized {
		t.Errorf("the first exchange's access token after the replay: /v1/me %d, want 401", s)
	}
	r := h.do(nil, "POST", "/oauth2/introspect", url.Values{"token": {at}}, "Authorization", basic(secApp, rpSecret))
	if r.StatusCode != http.StatusOK || r.json(t)["active"] != false {
		t.Errorf("introspect the access token: %d %s", r.StatusCode, r.body)
	}
	r = h.do(nil, "POST", "/oauth2/introspect", url.Values{"token": {rt}}, "Authorization", basic(secApp, rpSecret))
	if r.StatusCode != http.StatusOK || r.json(t)["active"] != false {
		t.Errorf("introspect the refresh token: %d %s", r.StatusCode, r.body)
	}
	wantOAuthError(t, secRefresh(h, secApp, rpSecret, rt), http.StatusBadRequest, "invalid_grant")
	if n := auditCount(t, h, "code_reuse_detected"); n != 1 {
		t.Errorf("%d code_reuse_detected audit events, want 1", n)
	}
	// A third presentation is refused as well.
	wantOAuthError(t, secExchange(h, secApp, rpSecret, code, secAppCB, v), http.StatusBadRequest, "invalid_grant")
}

// TestOIDCCodeReplayPublic: the same for a public client, whose refresh
// family is bound to it.
func TestOIDCCodeReplayPublic(t *testing.T) {
	h := secHarness(t)
	c := h.login("ann@example.com")
	code, v := secCode(t, h, c, secWeb, secWebCB)
	tok := wantTokens(t, secExchange(h, secWeb, "", code, secWebCB, v))
	wantOAuthError(t, secExchange(h, secWeb, "", code, secWebCB, v), http.StatusBadRequest, "invalid_grant")
	if s := bearerStatus(h, tok["access_token"].(string)); s != http.StatusUnauthorized {
		t.Errorf("access token after the replay: /v1/me %d, want 401", s)
	}
	wantOAuthError(t, secRefresh(h, secWeb, "", tok["refresh_token"].(string)), http.StatusBadRequest, "invalid_grant")
}

// TestOIDCCodeReplayOnline: without offline_access (no refresh family) the
// replay still revokes the access token the code issued.
func TestOIDCCodeReplayOnline(t *testing.T) {
	h := secHarness(t)
	c := h.login("ann@example.com")
	code, v := secCode(t, h, c, secFP, secWebCB, "scope", "openid email")
	tok := wantTokens(t, secExchange(h, secFP, "", code, secWebCB, v))
	if _, ok := tok["refresh_token"]; ok {
		t.Fatal("a refresh token without offline_access")
	}
	wantOAuthError(t, secExchange(h, secFP, "", code, secWebCB, v), http.StatusBadRequest, "invalid_grant")
	if s := bearerStatus(h, tok["access_token"].(string)); s != http.StatusUnauthorized {
		t.Errorf("access token after the replay: /v1/me %d, want 401", s)
	}
	// The session itself is not the code's victim: it lives on.
	if r := h.do(c, "GET", "/v1/me", nil); r.StatusCode != http.StatusOK {
		t.Errorf("the session after the replay: /v1/me %d", r.StatusCode)
	}
}

// TestOIDCCodeWrongVerifier: a wrong code_verifier is invalid_grant and
// burns the code (A2).
func TestOIDCCodeWrongVerifier(t *testing.T) {
	h := secHarness(t)
	c := h.login("ann@example.com")
	for name, wrong := range map[string]string{
		"other verifier": oauth2.GenerateVerifier(),
		"the challenge":  "", // set below
		"too short":      "abc",
	} {
		t.Run(name, func(t *testing.T) {
			code, v := secCode(t, h, c, secFP, secWebCB)
			if wrong == "" {
				wrong = oauth2.S256ChallengeFromVerifier(v)
			}
			wantOAuthError(t, secExchange(h, secFP, "", code, secWebCB, wrong), http.StatusBadRequest, "invalid_grant")
			wantOAuthError(t, secExchange(h, secFP, "", code, secWebCB, v), http.StatusBadRequest, "invalid_grant")
		})
	}
}

// TestOIDCCodeOtherClient: a code is bound to its client (A2).
func TestOIDCCodeOtherClient(t *testing.T) {
	h := secHarness(t)
	c := h.login("ann@example.com")
	t.Run("public B redeems public A's code", func(t *testing.T) {
		code, v := secCode(t, h, c, secWeb, secWebCB)
		wantOAuthError(t, secExchange(h, secFP, "", code, secWebCB, v), http.StatusBadRequest, "invalid_grant")
	})
	t.Run("confidential B redeems confidential A's code", func(t *testing.T) {
		code, v := secCode(t, h, c, secApp, secAppCB)
		wantOAuthError(t, secExchange(h, secOther, rpSecret, code, secAppCB, v), http.StatusBadRequest, "invalid_grant")
	})
	t.Run("confidential B redeems public A's code", func(t *testing.T) {
		code, v := secCode(t, h, c, secWeb, secWebCB)
		wantOAuthError(t, secExchange(h, secApp, rpSecret, code, secWebCB, v), http.StatusBadRequest, "invalid_grant")
	})
}

// TestOIDCCodeExpired: a code is dead after 60 s (A2).
func TestOIDCCodeExpired(t *testing.T) {
	h := secHarness(t)
	c := h.login("ann@example.com")
	code, v := secCode(t, h, c, secFP, secWebCB)
	h.clock.Add(61 * time.Second)
	wantOAuthError(t, secExchange(h, secFP, "", code, secWebCB, v), http.StatusBadRequest, "invalid_grant")

	// Just inside the 60 s it works.
	code, v = secCode(t, h, c, secFP, secWebCB)
	h.clock.Add(59 * time.Second)
	wantTokens(t, secExchange(h, secFP, "", code, secWebCB, v))
}

// TestOIDCCodeRedirectURIMismatch: the redirect_uri of the token request
// must be the authorization request's (RFC 6749 §4.1.3, A2).
func TestOIDCCodeRedirectURIMismatch(t *testing.T) {
	h := secHarness(t)
	c := h.login("ann@example.com")
	for name, other := range map[string]string{
		"another registered URI": secWebQuery,
		"trailing slash":         secWebCB + "/",
		"case":                   "http://127.0.0.1:9/CB",
	} {
		t.Run(name, func(t *testing.T) {
			code, v := secCode(t, h, c, secWeb, secWebCB)
			wantOAuthError(t, secExchange(h, secWeb, "", code, other, v), http.StatusBadRequest, "invalid_grant")
		})
	}
}

// TestOIDCCodeBoundToSession: a code issued through a session that has
// ended since cannot be redeemed.
func TestOIDCCodeBoundToSession(t *testing.T) {
	h := secHarness(t)
	c := h.login("ann@example.com")
	code, v := secCode(t, h, c, secFP, secWebCB)
	if r := h.do(c, "POST", "/v1/logout", nil); r.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.StatusCode, r.body)
	}
	wantOAuthError(t, secExchange(h, secFP, "", code, secWebCB, v), http.StatusBadRequest, "invalid_grant")
}

// TestOIDCConsentCSRF: consent cannot be given by a forged form or a
// cross-site POST, and its page cannot be framed (A4).
func TestOIDCConsentCSRF(t *testing.T) {
	h := secHarness(t)
	c := h.login("ann@example.com")
	v := oauth2.GenerateVerifier()
	q := authzQuery(secWeb, secWebCB, v)
	page := secAuthorize(h, c, q)
	if page.StatusCode != http.StatusOK {
		t.Fatalf("authorize: %d %s", page.StatusCode, page.body)
	}
	t.Run("headers", func(t *testing.T) {
		csp := page.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("consent page CSP %q lacks frame-ancestors 'none'", csp)
		}
		if xfo := page.Header.Get("X-Frame-Options"); xfo != "DENY" {
			t.Errorf("X-Frame-Options %q, want DENY", xfo)
		}
		if cc := page.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control %q on an authenticated page, want no-store (S8)", cc)
		}
	})
	request, csrf := ocConsentFields(t, page)
	other := h.login("bob@example.com")
	_, bobCSRF := ocConsentFields(t, secAuthorize(h, other, q))
	tampered := authzQuery(secWeb, secWebCB, v, "state", "other")
	post := func(form url.Values, hdr ...string) resp {
		return h.do(c, "POST", "/oauth2/consent", form, hdr...)
	}
	noCode := func(t *testing.T, r resp) {
		t.Helper()
		if r.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403: %s %s", r.StatusCode, r.Header.Get("Location"), r.body)
		}
		if loc := r.Header.Get("Location"); loc != "" {
			t.Fatalf("refused consent redirects to %s", loc)
		}
	}
	same := []string{"Sec-Fetch-Site", "same-origin"}
	t.Run("wrong csrf", func(t *testing.T) {
		noCode(t, post(url.Values{"request": {request}, "csrf": {"x" + csrf[1:]}, "decision": {"approve"}}, same...))
	})
	t.Run("empty csrf", func(t *testing.T) {
		noCode(t, post(url.Values{"request": {request}, "csrf": {""}, "decision": {"approve"}}, same...))
	})
	t.Run("another session's csrf", func(t *testing.T) {
		noCode(t, post(url.Values{"request": {request}, "csrf": {bobCSRF}, "decision": {"approve"}}, same...))
	})
	t.Run("csrf of another request", func(t *testing.T) {
		noCode(t, post(url.Values{"request": {tampered.Encode()}, "csrf": {csrf}, "decision": {"approve"}}, same...))
	})
	t.Run("cross-site", func(t *testing.T) {
		noCode(t, post(url.Values{"request": {request}, "csrf": {csrf}, "decision": {"approve"}}, "Sec-Fetch-Site", "cross-site"))
	})
	t.Run("foreign origin", func(t *testing.T) {
		noCode(t, post(url.Values{"request": {request}, "csrf": {csrf}, "decision": {"approve"}}, "Origin", "http://evil.example"))
	})
	t.Run("nothing was approved", func(t *testing.T) {
		r := secAuthorize(h, c, authzQuery(secWeb, secWebCB, v, "prompt", "none"))
		wantRedirectError(t, h, r, secWebCB, "consent_required", "st")
	})
	t.Run("the real form works", func(t *testing.T) {
		r := post(url.Values{"request": {request}, "csrf": {csrf}, "decision": {"approve"}}, same...)
		if r.StatusCode != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "code=") {
			t.Fatalf("consent: %d %s", r.StatusCode, r.Header.Get("Location"))
		}
	})
}

// TestOIDCPromptNone: prompt=none never shows a page (A4): no session is
// login_required, no consent consent_required.
func TestOIDCPromptNone(t *testing.T) {
	h := secHarness(t)
	v := oauth2.GenerateVerifier()
	none := authzQuery(secWeb, secWebCB, v, "prompt", "none")
	t.Run("no session", func(t *testing.T) {
		wantRedirectError(t, h, secAuthorize(h, h.client(), none), secWebCB, "login_required", "st")
		wantRedirectError(t, h, secAuthorize(h, h.client(), authzQuery(secFP, secWebCB, v, "prompt", "none")), secWebCB, "login_required", "st")
	})
	c := h.login("ann@example.com")
	t.Run("session without consent", func(t *testing.T) {
		wantRedirectError(t, h, secAuthorize(h, c, none), secWebCB, "consent_required", "st")
	})
	t.Run("session too old for max_age", func(t *testing.T) {
		h.clock.Add(2 * time.Second)
		wantRedirectError(t, h, secAuthorize(h, c, authzQuery(secFP, secWebCB, v, "prompt", "none", "max_age", "1")), secWebCB, "login_required", "st")
	})
	t.Run("combined with login", func(t *testing.T) {
		wantRedirectError(t, h, secAuthorize(h, c, authzQuery(secFP, secWebCB, v, "prompt", "none login")), secWebCB, "invalid_request", "st")
	})
	t.Run("first-party with session", func(t *testing.T) {
		r := secAuthorize(h, c, authzQuery(secFP, secWebCB, v, "prompt", "none"))
		if r.StatusCode != http.StatusFound || !strings.Contains(r.Header.Get("Location"), "code=") {
			t.Fatalf("%d %s %s", r.StatusCode, r.Header.Get("Location"), r.body)
		}
	})
	t.Run("after consent", func(t *testing.T) {
		secCode(t, h, c, secWeb, secWebCB)
		r := secAuthorize(h, c, none)
		if r.StatusCode != http.StatusFound || !strings.Contains(r.Header.Get("Location"), "code=") {
			t.Fatalf("%d %s %s", r.StatusCode, r.Header.Get("Location"), r.body)
		}
		// A subset of the approved scopes needs no new consent.
		r = secAuthorize(h, c, authzQuery(secWeb, secWebCB, v, "prompt", "none", "scope", "openid"))
		if r.StatusCode != http.StatusFound || !strings.Contains(r.Header.Get("Location"), "code=") {
			t.Fatalf("%d %s %s", r.StatusCode, r.Header.Get("Location"), r.body)
		}
	})
}

// TestOIDCStateNonceUntouched: state and nonce come back exactly as sent,
// and iss is in every authorization response (A3, RFC 9207).
func TestOIDCStateNonceUntouched(t *testing.T) {
	h := secHarness(t)
	c := h.login("ann@example.com")
	const odd = "a b&c=d?e#f/ü 🙂 %41+;'\"<>\\"
	v := oauth2.GenerateVerifier()
	t.Run("success through consent", func(t *testing.T) {
		back, consented := ocAuthorize(t, h, c, h.srv.URL+"/oauth2/authorize?"+authzQuery(secWeb, secWebCB, v, "state", odd, "nonce", odd+"n").Encode())
		if !consented {
			t.Fatal("no consent page")
		}
		q := back.Query()
		if q.Get("state") != odd || q.Get("iss") != h.issuer {
			t.Fatalf("state %q iss %q", q.Get("state"), q.Get("iss"))
		}
		tok := wantTokens(t, secExchange(h, secWeb, "", q.Get("code"), secWebCB, v))
		var claims struct{ Nonce string }
		ocJWTPart(t, tok["id_token"].(string), 1, &claims)
		if claims.Nonce != odd+"n" {
			t.Fatalf("nonce %q, want %q", claims.Nonce, odd+"n")
		}
	})
	t.Run("success without consent", func(t *testing.T) {
		r := secAuthorize(h, c, authzQuery(secFP, secWebCB, v, "state", odd))
		loc, _ := url.Parse(r.Header.Get("Location"))
		if r.StatusCode != http.StatusFound || loc.Query().Get("state") != odd || loc.Query().Get("iss") != h.issuer {
			t.Fatalf("%d %s", r.StatusCode, r.Header.Get("Location"))
		}
	})
	t.Run("registered URI with a query", func(t *testing.T) {
		back, _ := ocAuthorize(t, h, c, h.srv.URL+"/oauth2/authorize?"+authzQuery(secWeb, secWebQuery, v, "state", odd).Encode())
		q := back.Query()
		if back.Path != "/q" || q.Get("x") != "1" || q.Get("state") != odd || q.Get("iss") != h.issuer || q.Get("code") == "" {
			t.Fatalf("sent back to %s", back)
		}
	})
	t.Run("error: invalid_scope", func(t *testing.T) {
		wantRedirectError(t, h, secAuthorize(h, c, authzQuery(secFP, secWebCB, v, "state", odd, "scope", "openid admin")), secWebCB, "invalid_scope", odd)
	})
	t.Run("error: registered URI with a query", func(t *testing.T) {
		loc := wantRedirectError(t, h, secAuthorize(h, c, authzQuery(secWeb, secWebQuery, v, "state", odd, "response_type", "token")), secWebQuery, "unsupported_response_type", odd)
		if loc.Query().Get("x") != "1" {
			t.Fatalf("registered query lost: %s", loc)
		}
	})
	t.Run("error: access_denied", func(t *testing.T) {
		page := secAuthorize(h, c, authzQuery(secWeb, secWebCB, v, "state", odd, "prompt", "consent"))
		if page.StatusCode != http.StatusOK {
			t.Fatalf("prompt=consent: %d", page.StatusCode)
		}
		r := ocApprove(t, h, c, page, "deny")
		r.StatusCode = http.StatusFound // a 303 from the form
		wantRedirectError(t, h, r, secWebCB, "access_denied", odd)
	})
	t.Run("error: login_required", func(t *testing.T) {
		wantRedirectError(t, h, secAuthorize(h, h.client(), authzQuery(secWeb, secWebCB, v, "state", odd, "prompt", "none")), secWebCB, "login_required", odd)
	})
	t.Run("no state", func(t *testing.T) {
		r := secAuthorize(h, c, authzQuery(secFP, secWebCB, v, "state", ""))
		loc, _ := url.Parse(r.Header.Get("Location"))
		if loc.Query().Has("state") || loc.Query().Get("iss") != h.issuer {
			t.Fatalf("%s", loc)
		}
	})
}

// TestOIDCTokenTypes: ID, access and logout tokens are never taken for
// one another (A5, J5).
func TestOIDCTokenTypes(t *testing.T) {
	h := secHarness(t)
	c := h.login("ann@example.com")
	code, v := secCode(t, h, c, secWeb, secWebCB)
	tok := wantTokens(t, secExchange(h, secWeb, "", code, secWebCB, v))
	at, idt, rt := tok["access_token"].(string), tok["id_token"].(string), tok["refresh_token"].(string)
	var ah, ih struct{ Typ string }
	ocJWTPart(t, at, 0, &ah)
	ocJWTPart(t, idt, 0, &ih)
	if ah.Typ != "at+jwt" || ih.Typ != "JWT" {
		t.Fatalf("typ: access %q, ID %q", ah.Typ, ih.Typ)
	}
	var claims struct {
		Sub string
		SID string
	}
	ocJWTPart(t, idt, 1, &claims)
	logoutTok, err := h.tokens.SignLogoutToken(secWeb, claims.Sub, claims.SID)
	if err != nil {
		t.Fatal(err)
	}
	var lh struct{ Typ string }
	var lc map[string]any
	ocJWTPart(t, logoutTok, 0, &lh)
	ocJWTPart(t, logoutTok, 1, &lc)
	if _, nonce := lc["nonce"]; lh.Typ != "logout+jwt" || nonce {
		t.Fatalf("logout token typ %q, claims %v", lh.Typ, lc)
	}

	t.Run("bearer", func(t *testing.T) {
		for name, s := range map[string]string{"ID token": idt, "logout token": logoutTok, "refresh token": rt} {
			if got := bearerStatus(h, s); got != http.StatusUnauthorized {
				t.Errorf("%s as bearer at /v1/me: %d, want 401", name, got)
			}
			if r := h.do(nil, "GET", "/oauth2/userinfo", nil, "Authorization", "Bearer "+s); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s as bearer at /oauth2/userinfo: %d, want 401", name, r.StatusCode)
			}
		}
		if got := bearerStatus(h, at); got != http.StatusOK {
			t.Errorf("the access token: %d", got)
		}
	})
	t.Run("id_token_hint", func(t *testing.T) {
		for name, s := range map[string]string{"logout token": logoutTok, "access token": at} {
			r := h.do(c, "GET", "/oauth2/logout?"+url.Values{"id_token_hint": {s}}.Encode(), nil)
			if r.StatusCode != http.StatusOK || !strings.Contains(string(r.body), `name="csrf"`) {
				t.Errorf("%s as id_token_hint: %d, want the confirmation page: %s", name, r.StatusCode, r.body)
			}
			if me := h.do(c, "GET", "/v1/me", nil); me.StatusCode != http.StatusOK {
				t.Fatalf("%s as id_token_hint ended the session: /v1/me %d", name, me.StatusCode)
			}
		}
		// The ID token itself is a hint: the session ends at once.
		r := h.do(c, "GET", "/oauth2/logout?"+url.Values{"id_token_hint": {idt}}.Encode(), nil)
		if r.StatusCode != http.StatusOK || strings.Contains(string(r.body), `name="csrf"`) {
			t.Errorf("ID token as id_token_hint: %d %s", r.StatusCode, r.body)
		}
		if me := h.do(c, "GET", "/v1/me", nil); me.StatusCode != http.StatusUnauthorized {
			t.Errorf("after RP-initiated logout with the ID token: /v1/me %d, want 401", me.StatusCode)
		}
	})
}

// TestOIDCConfidentialClientAuth: a confidential client must authenticate
// at the token endpoint; its client_id alone is 401 invalid_client.
func TestOIDCConfidentialClientAuth(t *testing.T) {
	h := secHarness(t)
	c := h.login("ann@example.com")
	code, v := secCode(t, h, c, secApp, secAppCB)
	form := func() url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {secAppCB}, "code_verifier": {v}}
	}
	t.Run("client_id only", func(t *testing.T) {
		wantOAuthError(t, secToken(h, secApp, "", form()), http.StatusUnauthorized, "invalid_client")
	})
	t.Run("basic with empty secret", func(t *testing.T) {
		r := h.do(nil, "POST", "/oauth2/token", form(), "Authorization", basic(secApp, ""))
		wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("wrong secret (basic)", func(t *testing.T) {
		wantOAuthError(t, secToken(h, secApp, rpSecret+"x", form()), http.StatusUnauthorized, "invalid_client")
	})
	t.Run("wrong secret (post)", func(t *testing.T) {
		f := form()
		f.Set("client_id", secApp)
		f.Set("client_secret", "wrong")
		wantOAuthError(t, h.do(nil, "POST", "/oauth2/token", f), http.StatusUnauthorized, "invalid_client")
	})
	t.Run("no client at all", func(t *testing.T) {
		wantOAuthError(t, secToken(h, "", "", form()), http.StatusUnauthorized, "invalid_client")
	})
	t.Run("both methods at once", func(t *testing.T) {
		f := form()
		f.Set("client_secret", rpSecret)
		r := h.do(nil, "POST", "/oauth2/token", f, "Authorization", basic(secApp, rpSecret))
		wantOAuthError(t, r, http.StatusBadRequest, "invalid_request")
	})
	// Refused client authentication does not touch the code: the client
	// itself still redeems it.
	t.Run("the client itself", func(t *testing.T) {
		wantTokens(t, secToken(h, secApp, rpSecret, form()))
	})
}

// TestOIDCRefreshBoundToClient: the refresh grant of a family created by
// the code flow requires the same client (API.md).
func TestOIDCRefreshBoundToClient(t *testing.T) {
	h := secHarness(t)
	c := h.login("ann@example.com")
	t.Run("confidential family", func(t *testing.T) {
		code, v := secCode(t, h, c, secApp, secAppCB)
		rt := wantTokens(t, secExchange(h, secApp, rpSecret, code, secAppCB, v))["refresh_token"].(string)
		wantOAuthError(t, secRefresh(h, secOther, rpSecret, rt), http.StatusBadRequest, "invalid_grant")
		wantOAuthError(t, secRefresh(h, secWeb, "", rt), http.StatusBadRequest, "invalid_grant")
		wantOAuthError(t, secRefresh(h, "", "", rt), http.StatusBadRequest, "invalid_grant")
		wantOAuthError(t, secRefresh(h, "nobody", "", rt), http.StatusBadRequest, "invalid_grant")
		wantOAuthError(t, secRefresh(h, secApp, "", rt), http.StatusUnauthorized, "invalid_client")
		next := wantTokens(t, secRefresh(h, secApp, rpSecret, rt))
		if next["refresh_token"] == rt || next["refresh_token"] == nil {
			t.Fatal("no new refresh token")
		}
	})
	t.Run("public family", func(t *testing.T) {
		code, v := secCode(t, h, c, secWeb, secWebCB)
		rt := wantTokens(t, secExchange(h, secWeb, "", code, secWebCB, v))["refresh_token"].(string)
		wantOAuthError(t, secRefresh(h, secFP, "", rt), http.StatusBadRequest, "invalid_grant")
		wantOAuthError(t, secRefresh(h, secApp, rpSecret, rt), http.StatusBadRequest, "invalid_grant")
		wantOAuthError(t, secRefresh(h, "", "", rt), http.StatusBadRequest, "invalid_grant")
		wantTokens(t, secRefresh(h, secWeb, "", rt))
	})
}

// TestOIDCOfflineAccess: without offline_access there is no refresh token
// and the tokens end with the session; an offline family outlives it.
func TestOIDCOfflineAccess(t *testing.T) {
	h := secHarness(t)
	c := h.login("ann@example.com")
	code, v := secCode(t, h, c, secFP, secWebCB, "scope", "openid email")
	online := wantTokens(t, secExchange(h, secFP, "", code, secWebCB, v))
	if rt, ok := online["refresh_token"]; ok {
		t.Fatalf("a refresh token (%v) without offline_access", rt)
	}
	if s, _ := online["scope"].(string); strings.Contains(s, "offline_access") {
		t.Fatalf("scope %q", s)
	}
	code, v = secCode(t, h, c, secFP, secWebCB, "scope", "openid offline_access")
	offline := wantTokens(t, secExchange(h, secFP, "", code, secWebCB, v))
	rt, _ := offline["refresh_token"].(string)
	if rt == "" {
		t.Fatal("no refresh token with offline_access")
	}
	for name, tk := range map[string]any{"online": online["access_token"], "offline": offline["access_token"]} {
		if s := bearerStatus(h, tk.(string)); s != http.StatusOK {
			t.Fatalf("%s access token before logout: %d", name, s)
		}
	}

	if r := h.do(c, "POST", "/v1/logout", nil); r.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.StatusCode, r.body)
	}
	if s := bearerStatus(h, online["access_token"].(string)); s != http.StatusUnauthorized {
		t.Errorf("the session's access token after logout: /v1/me %d, want 401", s)
	}
	if r := h.do(nil, "GET", "/oauth2/userinfo", nil, "Authorization", "Bearer "+online["access_token"].(string)); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the session's access token after logout: userinfo %d, want 401", r.StatusCode)
	}
	if s := bearerStatus(h, offline["access_token"].(string)); s != http.StatusOK {
		t.Errorf("the offline family's access token after logout: /v1/me %d, want 200", s)
	}
	next := wantTokens(t, secRefresh(h, secFP, "", rt))
	if s := bearerStatus(h, next["access_token"].(string)); s != http.StatusOK {
		t.Errorf("the offline family's refreshed access token: /v1/me %d", s)
	}
}

// TestOIDCCodeReplayConcurrent: one code presented several times at once
// yields at most one set of tokens, and none that still works: every
// presentation after the first is a reuse (A2).
func TestOIDCCodeReplayConcurrent(t *testing.T) {
	h := secHarness(t)
	c := h.login("ann@example.com")
	code, v := secCode(t, h, c, secFP, secWebCB)
	const n = 6
	results := make(chan resp, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			results <- secExchange(h, secFP, "", code, secWebCB, v)
		})
	}
	wg.Wait()
	close(results)
	var won []map[string]any
	for r := range results {
		switch r.StatusCode {
		case http.StatusOK:
			won = append(won, r.json(t))
		case http.StatusBadRequest:
			wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
		default:
			t.Errorf("exchange: %d %s", r.StatusCode, r.body)
		}
	}
	if len(won) > 1 {
		t.Fatalf("%d exchanges of one code succeeded", len(won))
	}
	for _, tok := range won {
		if s := bearerStatus(h, tok["access_token"].(string)); s != http.StatusUnauthorized {
			t.Errorf("access token of a replayed code: /v1/me %d, want 401", s)
		}
		if rt, _ := tok["refresh_token"].(string); rt != "" {
			wantOAuthError(t, secRefresh(h, secFP, "", rt), http.StatusBadRequest, "invalid_grant")
		}
	}
}

// TestOIDCConsentPageEscapes: what a client registered is text on the
// consent page, never markup.
func TestOIDCConsentPageEscapes(t *testing.T) {
	h := newHarness(t)
	const name = `<script>alert(1)</script><img src=x onerror=alert(2)>`
	if _, _, err := h.clients.Create(context.Background(), oidc.ClientSpec{ID: "xss", Name: name, Public: true,
		RedirectURIs: []string{secWebCB}}); err != nil {
		t.Skipf("the name is refused at registration: %v", err)
	}
	c := h.login("ann@example.com")
	v := oauth2.GenerateVerifier()
	r := secAuthorize(h, c, authzQuery("xss", secWebCB, v, "state", `"><script>alert(3)</script>`))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("authorize: %d", r.StatusCode)
	}
	for _, bad := range []string{"<script>alert", "<img src=x"} {
		if strings.Contains(string(r.body), bad) {
			t.Errorf("consent page holds %q unescaped", bad)
		}
	}
}
