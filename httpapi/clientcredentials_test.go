package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/authd/authd/oidc"
)

// ccSecret is the secret of the test clients; it holds characters that
// client_secret_basic form-urlencodes (RFC 6749 §2.3.1).
var ccSecret = strings.Repeat("s", 32) + "+/%:="

// ccHarness is a harness with four clients: svc (confidential, the
// client_credentials grant, scopes orders.read orders.write openid
// offline_access), rs (confidential, no grant: a resource server), web
// (public) and code (confidential, authorization_code only).
func ccHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	for _, spec := range []oidc.ClientSpec{
		{ID: "svc", Secret: ccSecret, Grants: []string{"client_credentials"}, Scopes: []string{"orders.read", "orders.write", "openid", "offline_access"}},
		{ID: "rs", Secret: ccSecret},
		{ID: "web", Public: true, RedirectURIs: []string{"https://app.example.com/cb"}},
		{ID: "code", Secret: ccSecret, RedirectURIs: []string{"https://app.example.com/cb"}, Grants: []string{"authorization_code"}},
	} {
		if _, _, err := h.clients.Create(context.Background(), spec); err != nil {
			t.Fatalf("client %s: %v", spec.ID, err)
		}
	}
	return h
}

// TestClientCredentialsLibrary: golang.org/x/oauth2/clientcredentials, used
// unchanged, gets a token with either client authentication method; the
// token is an RFC 9068 token of the client (sub and client_id the client's
// id, scope, no sid, no roles) that authd verifies and introspects, and
// the response carries no refresh token.
func TestClientCredentialsLibrary(t *testing.T) {
	tests := []struct {
		name      string
		style     oauth2.AuthStyle
		scopes    []string
		resource  []string
		wantScope string
		wantAud   []string
	}{
		{"basic, all registered scopes but the user's", oauth2.AuthStyleInHeader, nil, nil, "orders.read orders.write", []string{"authd", "orders"}},
		{"post, all registered scopes but the user's", oauth2.AuthStyleInParams, nil, nil, "orders.read orders.write", []string{"authd", "orders"}},
		{"basic, one scope", oauth2.AuthStyleInHeader, []string{"orders.read"}, nil, "orders.read", []string{"authd", "orders"}},
		{"post, one scope and a resource", oauth2.AuthStyleInParams, []string{"orders.write"}, []string{"orders"}, "orders.write", []string{"orders"}},
	}
	h := ccHarness(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := clientcredentials.Config{ClientID: "svc", ClientSecret: ccSecret, TokenURL: h.srv.URL + "/oauth2/token",
				Scopes: tc.scopes, AuthStyle: tc.style, EndpointParams: url.Values{"resource": tc.resource}}
			tok, err := cfg.Token(context.Background())
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if tok.TokenType != "Bearer" || tok.RefreshToken != "" || tok.Expiry.IsZero() || tok.Extra("scope") != tc.wantScope || tok.Extra("id_token") != nil {
				t.Fatalf("token response %+v scope %v", tok, tok.Extra("scope"))
			}
			c, err := h.tokens.Verify(context.Background(), tok.AccessToken)
			if err != nil {
				t.Fatalf("authd refuses the token: %v", err)
			}
			if c.Subject != "svc" || c.ClientID != "svc" || c.Scope != tc.wantScope || c.SessionID != "" || len(c.Roles) != 0 ||
				c.Email != "" || !c.ForClient() || !slices.Equal(c.Audience, tc.wantAud) {
				t.Fatalf("claims %+v", c)
			}
			m := h.do(nil, "POST", "/oauth2/introspect", url.Values{"token": {tok.AccessToken}, "client_id": {"rs"}, "client_secret": {ccSecret}}).json(t)
			if m["active"] != true || m["client_id"] != "svc" || m["scope"] != tc.wantScope || m["sub"] != "svc" || m["sid"] != nil {
				t.Fatalf("introspection %v", m)
			}
		})
	}
}

// TestClientCredentialsRefused: each way a client_credentials request is
// refused, one case each (RFC 6749 §5.2).
func TestClientCredentialsRefused(t *testing.T) {
	basic := func(id, secret string) []string {
		return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))}
	}
	form := func(kv ...string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name      string
		form      url.Values
		hdr       []string
		status    int
		code      string
		challenge bool // WWW-Authenticate: Basic
	}{
		{"wrong secret, basic", form(), basic("svc", ccSecret+"x"), 401, "invalid_client", true},
		{"wrong secret, post", form("client_id", "svc", "client_secret", ccSecret+"x"), nil, 401, "invalid_client", false},
		{"secret not form-urlencoded", form(), []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("svc:"+ccSecret))}, 401, "invalid_client", true},
		{"unknown client", form(), basic("nobody", ccSecret), 401, "invalid_client", true},
		{"public client", form("client_id", "web"), nil, 401, "invalid_client", true},
		{"public client with a secret", form("client_id", "web", "client_secret", ccSecret), nil, 401, "invalid_client", false},
		{"no client authentication", form(), nil, 401, "invalid_client", true},
		{"resource server: no grant", form(), basic("rs", ccSecret), 400, "unauthorized_client", false},
		{"client with other grants only", form("client_id", "code", "client_secret", ccSecret), nil, 400, "unauthorized_client", false},
		{"scope not registered", form("scope", "orders.read admin"), basic("svc", ccSecret), 400, "invalid_scope", false},
		{"both auth methods at once", form("client_id", "svc", "client_secret", ccSecret), basic("svc", ccSecret), 400, "invalid_request", false},
		{"basic and another client_id", form("client_id", "rs"), basic("svc", ccSecret), 400, "invalid_request", false},
		{"resource not an audience", form("resource", "billing"), basic("svc", ccSecret), 400, "invalid_target", false},
	}
	h := ccHarness(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(nil, "POST", "/oauth2/token", tc.form, tc.hdr...)
			if r.StatusCode != tc.status || r.json(t)["error"] != tc.code {
				t.Fatalf("%d %s; want %d %s", r.StatusCode, r.body, tc.status, tc.code)
			}
			if got := r.Header.Get("WWW-Authenticate") == `Basic realm="authd"`; got != tc.challenge {
				t.Fatalf("WWW-Authenticate %q; want the Basic challenge: %v", r.Header.Get("WWW-Authenticate"), tc.challenge)
			}
			if r.Header.Get("Cache-Control") != "no-store" || strings.Contains(string(r.body), "access_token") {
				t.Fatalf("headers %v body %s", r.Header, r.body)
			}
		})
	}
}

// TestClientCredentialsToken: the token response (access token only, no
// refresh or ID token, scope, no-store); a client's token is no user: /v1/me and
// /v1/authz answer 403 with a clear problem, never 500 and never a user;
// revoked by its jti through /oauth2/revoke, authd refuses it.
func TestClientCredentialsToken(t *testing.T) {
	h := ccHarness(t)
	r := h.do(nil, "POST", "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"orders.read"},
		"client_id": {"svc"}, "client_secret": {ccSecret}})
	m := r.json(t)
	if r.StatusCode != 200 || r.Header.Get("Cache-Control") != "no-store" || m["token_type"] != "Bearer" || m["scope"] != "orders.read" ||
		m["expires_in"] == nil || m["refresh_token"] != nil || m["id_token"] != nil || len(m) != 4 {
		t.Fatalf("token response %d %v %s", r.StatusCode, r.Header, r.body)
	}
	tok := struct{ AccessToken string }{m["access_token"].(string)}
	bearer := []string{"Authorization", "Bearer " + tok.AccessToken}
	for _, path := range []string{"/v1/me", "/v1/authz"} {
		r := h.do(nil, "GET", path, nil, bearer...)
		p := assertProblem(t, r, http.StatusForbidden)
		if !strings.Contains(p["detail"].(string), "belongs to a client, not a user") || r.Header.Get("X-Auth-User") != "" {
			t.Fatalf("%s: %v %v", path, p, r.Header)
		}
	}
	// RFC 7009 §2.1: only the client the token was issued to revokes it.
	for _, tt := range []struct {
		name   string
		form   url.Values
		hdr    []string
		status int
		err    string
	}{
		{"no client authentication", url.Values{}, nil, 401, "invalid_client"},
		{"client_id alone", url.Values{"client_id": {"svc"}}, nil, 401, "invalid_client"},
		{"wrong secret", url.Values{"client_id": {"svc"}, "client_secret": {"not the secret at all, not at all"}}, nil, 401, "invalid_client"},
		{"another client", url.Values{}, []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("rs:"+url.QueryEscape(ccSecret)))}, 400, "unauthorized_client"},
	} {
		tt.form.Set("token", tok.AccessToken)
		r := h.do(nil, "POST", "/oauth2/revoke", tt.form, tt.hdr...)
		if r.StatusCode != tt.status || r.json(t)["error"] != tt.err {
			t.Fatalf("revoke, %s: %d %s, want %d %s", tt.name, r.StatusCode, r.body, tt.status, tt.err)
		}
		if _, err := h.tokens.Verify(context.Background(), tok.AccessToken); err != nil {
			t.Fatalf("revoke, %s: the token died: %v", tt.name, err)
		}
	}
	if r := h.do(nil, "POST", "/oauth2/revoke", url.Values{"token": {tok.AccessToken}, "client_id": {"svc"}, "client_secret": {ccSecret}}); r.StatusCode != 200 {
		t.Fatalf("revoke by its client: %d %s", r.StatusCode, r.body)
	}
	if _, err := h.tokens.Verify(context.Background(), tok.AccessToken); err == nil {
		t.Fatal("authd accepts a revoked client token")
	}
	if r := h.do(nil, "GET", "/v1/me", nil, bearer...); r.StatusCode != 401 {
		t.Fatalf("/v1/me with the revoked token: %d %s", r.StatusCode, r.body)
	}
	m = h.do(nil, "POST", "/oauth2/introspect", url.Values{"token": {tok.AccessToken}}, "Authorization",
		"Basic "+base64.StdEncoding.EncodeToString([]byte("rs:"+url.QueryEscape(ccSecret)))).json(t)
	if m["active"] != false {
		t.Fatalf("introspection of the revoked token: %v", m)
	}
	var feed struct {
		Revoked []struct{ JTI string } `json:"revoked"`
	}
	// The feed carries the jti for verifiers (verify's own test follows it).
	r = h.do(nil, "GET", "/v1/revocations", nil)
	if err := json.Unmarshal(r.body, &feed); err != nil || len(feed.Revoked) != 1 || feed.Revoked[0].JTI == "" {
		t.Fatalf("feed %s", r.body)
	}
}
