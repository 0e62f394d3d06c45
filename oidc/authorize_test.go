package oidc_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/authd/authd/oidc"
	"github.com/authd/authd/token"
)

// newProvider returns a Provider over a fresh SQLite file with the
// clients "web" (public, https://app.example.com/cb, default scopes) and
// "svc" (confidential, client_credentials only).
func newProvider(t testing.TB) *oidc.Provider {
	t.Helper()
	clients, db := newClients(t, fastParams)
	tc := token.DefaultConfig("https://id.example.com", "authd", "orders")
	tokens, err := token.New(t.Context(), tc, token.Stores{Keys: db, Refresh: db, Revocations: db, Users: db, Audit: db})
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range []oidc.ClientSpec{
		{ID: "web", Public: true, RedirectURIs: []string{"https://app.example.com/cb", "https://app.example.com/cb?x=1"}},
		{ID: "svc", Grants: []string{"client_credentials"}},
	} {
		if _, _, err := clients.Create(t.Context(), spec); err != nil {
			t.Fatal(err)
		}
	}
	return oidc.NewProvider(oidc.Config{Issuer: "https://id.example.com", Audiences: []string{"authd", "orders"}}, clients, tokens,
		oidc.Stores{Codes: db, Consents: db, Links: db, Outbox: db, Users: db, Audit: db})
}

const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" // RFC 7636 appendix B

// TestParseAuthorize: each rule of the authorization request, one row
// each. A page error is never redirected (A1); every other error is.
func TestParseAuthorize(t *testing.T) {
	p := newProvider(t)
	good := url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {"https://app.example.com/cb"},
		"scope": {"openid email"}, "state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	with := func(kv ...string) string {
		q := url.Values{}
		for k, v := range good {
			q[k] = append([]string(nil), v...)
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<del>" {
				q.Del(kv[i])
			} else {
				q.Set(kv[i], kv[i+1])
			}
		}
		return q.Encode()
	}
	const page = "page"
	tests := []struct {
		name, query, want string // want: "" (accepted), page, or the redirect error code
	}{
		{"a good request", with(), ""},
		{"a registered redirect URI with a query, exactly", with("redirect_uri", "https://app.example.com/cb?x=1"), ""},
		{"no client_id", with("client_id", "<del>"), page},
		{"an unknown client", with("client_id", "nope"), page},
		{"no redirect_uri", with("redirect_uri", "<del>"), page},
		{"redirect_uri with a trailing slash", with("redirect_uri", "https://app.example.com/cb/"), page},
		{"redirect_uri in another case", with("redirect_uri", "https://APP.example.com/cb"), page},
		{"redirect_uri with another query", with("redirect_uri", "https://app.example.com/cb?x=2"), page},
		{"redirect_uri a prefix", with("redirect_uri", "https://app.example.com/c"), page},
		{"redirect_uri with a fragment", with("redirect_uri", "https://app.example.com/cb#x"), page},
		{"redirect_uri repeated", with() + "&redirect_uri=https%3A%2F%2Fevil.example%2F", page},
		{"a client without the code grant", with("client_id", "svc"), page}, // no redirect URI registered
		{"the implicit flow (token)", with("response_type", "token"), "unsupported_response_type"},
		{"the implicit flow (id_token)", with("response_type", "id_token"), "unsupported_response_type"},
		{"a hybrid flow", with("response_type", "code id_token"), "unsupported_response_type"},
		{"no response_type", with("response_type", "<del>"), "invalid_request"},
		{"response_mode fragment", with("response_mode", "fragment"), "invalid_request"},
		{"no code_challenge", with("code_challenge", "<del>"), "invalid_request"},
		{"PKCE plain", with("code_challenge_method", "plain"), "invalid_request"},
		{"no code_challenge_method", with("code_challenge_method", "<del>"), "invalid_request"},
		{"a challenge of the wrong length", with("code_challenge", challenge[:42]), "invalid_request"},
		{"a challenge with a bad character", with("code_challenge", challenge[:42]+"+"), "invalid_request"},
		{"a scope the client may not ask", with("scope", "openid admin"), "invalid_scope"},
		{"prompt none with login", with("prompt", "none login"), "invalid_request"},
		{"an unknown prompt", with("prompt", "select_account"), "invalid_request"},
		{"max_age not a number", with("max_age", "soon"), "invalid_request"},
		{"max_age negative", with("max_age", "-1"), "invalid_request"},
		{"a resource that is not an audience", with("resource", "https://evil.example"), "invalid_target"},
		{"a resource that is an audience", with("resource", "orders"), ""},
		{"a request object", with("request", "eyJ..."), "request_not_supported"},
		{"a request_uri", with("request_uri", "https://x"), "request_uri_not_supported"},
		{"a repeated parameter", with() + "&scope=openid", "invalid_request"},
		{"a state too long", with("state", strings.Repeat("s", 1025)), "invalid_request"},
		{"a malformed query", "client_id=web&redirect_uri=%zz", page},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := p.ParseAuthorize(t.Context(), tc.query)
			var pe *oidc.PageError
			var re *oidc.RedirectError
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "":
				return
			case tc.want == page && !errors.As(err, &pe):
				t.Fatalf("got %v, want an error page", err)
			case tc.want != page && !errors.As(err, &re):
				t.Fatalf("got %v, want redirect error %s", err, tc.want)
			case tc.want != page && re.Code != tc.want:
				t.Fatalf("got %s, want %s", re.Code, tc.want)
			case tc.want != page:
				loc, _ := url.Parse(p.ErrorRedirect(r, re))
				q := loc.Query()
				if q.Get("error") != tc.want || q.Get("iss") != "https://id.example.com" {
					t.Fatalf("redirect %s", loc)
				}
			}
		})
	}
}

// TestErrorRedirectKeepsState: state comes back untouched, iss is
// always there, and a redirect URI's own query is kept (A3).
func TestErrorRedirectKeepsState(t *testing.T) {
	p := newProvider(t)
	state := "a b&c=d?é#"
	q := url.Values{"response_type": {"token"}, "client_id": {"web"}, "redirect_uri": {"https://app.example.com/cb?x=1"}, "state": {state}}
	r, err := p.ParseAuthorize(t.Context(), q.Encode())
	var re *oidc.RedirectError
	if !errors.As(err, &re) {
		t.Fatal(err)
	}
	loc, err := url.Parse(p.ErrorRedirect(r, re))
	if err != nil {
		t.Fatal(err)
	}
	got := loc.Query()
	if got.Get("state") != state || got.Get("x") != "1" || got.Get("iss") != "https://id.example.com" || loc.Fragment != "" {
		t.Fatalf("redirect %s", loc)
	}
}

// TestBackchannelDelay: retries back off from 1 s, doubling, to 2 min.
func TestBackchannelDelay(t *testing.T) {
	var got []string
	for n := 1; n <= 10; n++ {
		got = append(got, oidc.BackchannelDelay(n).String())
	}
	want := "1s 2s 4s 8s 16s 32s 1m4s 2m0s 2m0s 2m0s"
	if strings.Join(got, " ") != want {
		t.Fatalf("delays %s, want %s", strings.Join(got, " "), want)
	}
}
