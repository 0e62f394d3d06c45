package oidc_test

import (
	"context"
	"encoding/base64"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/oidc"
	"github.com/authd/authd/password"
	"github.com/authd/authd/sqlite"
)

// fastParams make hashing cheap; the rules do not depend on the cost.
var fastParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// newClients returns a registry over a fresh SQLite file, and the store.
func newClients(t testing.TB, p password.Params) (*oidc.Clients, *sqlite.DB) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "clients.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return oidc.NewClients(db, password.NewHasher(p, 2)), db
}

const secret32 = "0123456789abcdef0123456789abcdef"

// TestCreateAccepts: the clients the rules allow, as they are stored,
// defaults filled in and every string exactly as given.
func TestCreateAccepts(t *testing.T) {
	code, refresh, cc := authd.GrantAuthorizationCode, authd.GrantRefreshToken, authd.GrantClientCredentials
	defaults := oidc.DefaultScopes()
	tests := []struct {
		name         string
		spec         oidc.ClientSpec
		want         authd.Client // ID, SecretHash aside: compared as the fields below
		confidential bool
	}{
		{"a resource server: no redirect URI, no grant, no scope, a secret",
			oidc.ClientSpec{ID: "orders"},
			authd.Client{ID: "orders"}, true},
		{"a public web app: authorization_code and refresh_token by default, the default scopes",
			oidc.ClientSpec{ID: "web", Public: true, RedirectURIs: []string{"https://app.example.com/callback"}},
			authd.Client{ID: "web", RedirectURIs: []string{"https://app.example.com/callback"}, Grants: []string{code, refresh}, Scopes: defaults}, false},
		{"a native app with a private-use scheme (RFC 8252 §7.1)",
			oidc.ClientSpec{ID: "ios", Public: true, RedirectURIs: []string{"com.example.app:/oauth2redirect", "com.example.app:callback"}},
			authd.Client{ID: "ios", RedirectURIs: []string{"com.example.app:/oauth2redirect", "com.example.app:callback"}, Grants: []string{code, refresh}, Scopes: defaults}, false},
		{"loopback http redirect URIs",
			oidc.ClientSpec{ID: "cli", Public: true, RedirectURIs: []string{"http://127.0.0.1:8400/cb", "http://[::1]:8400/cb", "http://localhost:3000/cb", "http://LocalHost/cb", "http://127.0.0.1/"}},
			authd.Client{ID: "cli", RedirectURIs: []string{"http://127.0.0.1:8400/cb", "http://[::1]:8400/cb", "http://localhost:3000/cb", "http://LocalHost/cb", "http://127.0.0.1/"}, Grants: []string{code, refresh}, Scopes: defaults}, false},
		{"redirect URIs are stored exactly as given, query and case and all",
			oidc.ClientSpec{ID: "exact", Public: true, RedirectURIs: []string{"HTTPS://App.Example.com:8443/cb/?x=1&y=%2F", "https://app.example.com/cb/", "https://app.example.com/cb"}},
			authd.Client{ID: "exact", RedirectURIs: []string{"HTTPS://App.Example.com:8443/cb/?x=1&y=%2F", "https://app.example.com/cb/", "https://app.example.com/cb"}, Grants: []string{code, refresh}, Scopes: defaults}, false},
		{"a confidential web app with every field",
			oidc.ClientSpec{ID: "Portal.v2_eu-1", Name: "Portail client — Europe", Secret: secret32,
				RedirectURIs: []string{"https://portal.example.com/cb"}, PostLogoutRedirectURIs: []string{"https://portal.example.com/bye", "http://localhost/bye"},
				BackchannelLogoutURI: "https://portal.example.com/backchannel?tenant=eu", Scopes: []string{"openid", "profile", "api:read", "!#[]~"},
				Grants: []string{code, refresh, cc}, FirstParty: true},
			authd.Client{ID: "Portal.v2_eu-1", Name: "Portail client — Europe", RedirectURIs: []string{"https://portal.example.com/cb"},
				PostLogoutRedirectURIs: []string{"https://portal.example.com/bye", "http://localhost/bye"}, BackchannelLogoutURI: "https://portal.example.com/backchannel?tenant=eu",
				Scopes: []string{"openid", "profile", "api:read", "!#[]~"}, Grants: []string{code, refresh, cc}, FirstParty: true}, true},
		{"authorization_code alone: no refresh_token",
			oidc.ClientSpec{ID: "short", Public: true, RedirectURIs: []string{"https://a.example/cb"}, Grants: []string{code}},
			authd.Client{ID: "short", RedirectURIs: []string{"https://a.example/cb"}, Grants: []string{code}, Scopes: defaults}, false},
		{"a service with client_credentials: confidential, the default scopes",
			oidc.ClientSpec{ID: "batch", Grants: []string{cc}},
			authd.Client{ID: "batch", Grants: []string{cc}, Scopes: defaults}, true},
		{"a back-channel logout URI on loopback http",
			oidc.ClientSpec{ID: "dev", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}, BackchannelLogoutURI: "http://[::1]:9000/bc"},
			authd.Client{ID: "dev", RedirectURIs: []string{"http://127.0.0.1/cb"}, BackchannelLogoutURI: "http://[::1]:9000/bc", Grants: []string{code, refresh}, Scopes: defaults}, false},
		{"an id of 128 characters",
			oidc.ClientSpec{ID: strings.Repeat("a", 128)},
			authd.Client{ID: strings.Repeat("a", 128)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clients, db := newClients(t, fastParams)
			before := time.Now()
			got, secret, err := clients.Create(t.Context(), tt.spec)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			stored, err := db.ClientByID(t.Context(), tt.spec.ID)
			if err != nil {
				t.Fatalf("ClientByID: %v", err)
			}
			for _, c := range []*authd.Client{got, stored} {
				checkFields(t, &tt.want, c)
				if c.Confidential() != tt.confidential {
					t.Errorf("confidential %v, want %v", c.Confidential(), tt.confidential)
				}
				if c.CreatedAt.Before(before.Truncate(time.Microsecond)) || c.CreatedAt.After(time.Now()) {
					t.Errorf("CreatedAt %v, want the time of Create", c.CreatedAt)
				}
			}
			if !tt.confidential {
				if secret != "" || stored.SecretHash != "" {
					t.Fatalf("public client: secret %q, hash %q; want neither", secret, stored.SecretHash)
				}
				return
			}
			if tt.spec.Secret != "" && secret != tt.spec.Secret {
				t.Fatalf("secret %q, want the one given", secret)
			}
			if tt.spec.Secret == "" {
				b, err := base64.RawURLEncoding.DecodeString(secret)
				if err != nil || len(b) != 32 {
					t.Fatalf("generated secret %q: want 32 bytes in base64url (%v)", secret, err)
				}
			}
			if strings.Contains(stored.SecretHash, secret) || !strings.HasPrefix(stored.SecretHash, "$argon2id$") {
				t.Fatalf("stored secret hash %q: want an argon2id PHC string, never the secret", stored.SecretHash)
			}
			if _, err := clients.Authenticate(t.Context(), tt.spec.ID, secret); err != nil {
				t.Fatalf("Authenticate with the secret: %v", err)
			}
		})
	}
}

func checkFields(t *testing.T, want, got *authd.Client) {
	t.Helper()
	eq := func(a, b []string) bool { return slices.Equal(a, b) || len(a) == 0 && len(b) == 0 }
	if got.ID != want.ID || got.Name != want.Name || !eq(got.RedirectURIs, want.RedirectURIs) ||
		!eq(got.PostLogoutRedirectURIs, want.PostLogoutRedirectURIs) || got.BackchannelLogoutURI != want.BackchannelLogoutURI ||
		!eq(got.Scopes, want.Scopes) || !eq(got.Grants, want.Grants) || got.FirstParty != want.FirstParty {
		t.Fatalf("client\n got %+v\nwant %+v", *got, *want)
	}
}

// TestCreateRefuses: every rule, each refusal an *authd.InvalidError that
// names the field at fault, and nothing stored.
func TestCreateRefuses(t *testing.T) {
	code, refresh, cc := authd.GrantAuthorizationCode, authd.GrantRefreshToken, authd.GrantClientCredentials
	web := func(uris ...string) oidc.ClientSpec {
		return oidc.ClientSpec{ID: "web", Public: true, RedirectURIs: uris}
	}
	postLogout := func(uris ...string) oidc.ClientSpec {
		s := web("https://app.example.com/cb")
		s.PostLogoutRedirectURIs = uris
		return s
	}
	backchannel := func(uri string) oidc.ClientSpec {
		s := web("https://app.example.com/cb")
		s.BackchannelLogoutURI = uri
		return s
	}
	scopes := func(ss ...string) oidc.ClientSpec {
		s := web("https://app.example.com/cb")
		s.Scopes = ss
		return s
	}
	grants := func(gs ...string) oidc.ClientSpec {
		return oidc.ClientSpec{ID: "web", Secret: secret32, RedirectURIs: []string{"https://app.example.com/cb"}, Grants: gs}
	}
	tests := []struct {
		name  string
		spec  oidc.ClientSpec
		field string
		says  string
	}{
		// id: [A-Za-z0-9._-]{1,128}
		{"empty id", oidc.ClientSpec{}, "id", "1 to 128"},
		{"id of 129 characters", oidc.ClientSpec{ID: strings.Repeat("a", 129)}, "id", "1 to 128"},
		{"id with a space", oidc.ClientSpec{ID: "my app"}, "id", "A-Z a-z 0-9 . _ -"},
		{"id with a slash", oidc.ClientSpec{ID: "a/b"}, "id", "A-Z a-z 0-9 . _ -"},
		{"id with a colon (Basic auth)", oidc.ClientSpec{ID: "a:b"}, "id", "A-Z a-z 0-9 . _ -"},
		{"id with a letter outside ASCII", oidc.ClientSpec{ID: "café"}, "id", "A-Z a-z 0-9 . _ -"},
		{"id with a NUL", oidc.ClientSpec{ID: "a\x00"}, "id", "A-Z a-z 0-9 . _ -"},

		// name: text
		{"name with a newline", oidc.ClientSpec{ID: "a", Name: "Evil\nCorp"}, "name", "control"},
		{"name with invalid UTF-8", oidc.ClientSpec{ID: "a", Name: "\xff"}, "name", "text"},
		{"name too long", oidc.ClientSpec{ID: "a", Name: strings.Repeat("n", 201)}, "name", "at most 200"},

		// secrets
		{"a public client with a secret", oidc.ClientSpec{ID: "a", Public: true, Secret: secret32, RedirectURIs: []string{"https://a.example/cb"}}, "secret", "public client has no secret"},
		{"a short secret", oidc.ClientSpec{ID: "a", Secret: "short"}, "secret", "32 to 1024"},
		{"a secret of 31 characters", oidc.ClientSpec{ID: "a", Secret: secret32[1:]}, "secret", "32 to 1024"},
		{"a secret too long", oidc.ClientSpec{ID: "a", Secret: strings.Repeat("s", 1025)}, "secret", "32 to 1024"},

		// redirect URIs
		{"an empty redirect URI", web(""), "redirect_uri", "absolute URI"},
		{"a relative redirect URI", web("/callback"), "redirect_uri", "absolute URI"},
		{"a redirect URI without a scheme", web("app.example.com/callback"), "redirect_uri", "absolute URI"},
		{"a redirect URI with a fragment", web("https://app.example.com/cb#top"), "redirect_uri", "fragment"},
		{"a redirect URI with an empty fragment", web("https://app.example.com/cb#"), "redirect_uri", "fragment"},
		{"http to a host that is not loopback", web("http://app.example.com/cb"), "redirect_uri", "loopback"},
		{"http to 127.0.0.2", web("http://127.0.0.2/cb"), "redirect_uri", "loopback"},
		{"http to localhost.evil.example", web("http://localhost.evil.example/cb"), "redirect_uri", "loopback"},
		{"http to 0.0.0.0", web("http://0.0.0.0:8080/cb"), "redirect_uri", "loopback"},
		{"https without a host", web("https:///cb"), "redirect_uri", "needs a host"},
		{"https opaque", web("https:app.example.com"), "redirect_uri", "needs a host"},
		{"user information", web("https://app.example.com@evil.example/cb"), "redirect_uri", "user information"},
		{"user and password", web("https://u:p@app.example.com/cb"), "redirect_uri", "user information"},
		{"javascript:", web("javascript:alert(1)"), "redirect_uri", "private-use scheme with a dot"},
		{"data:", web("data:text/html,hi"), "redirect_uri", "private-use scheme with a dot"},
		{"file:", web("file:///etc/passwd"), "redirect_uri", "private-use scheme with a dot"},
		{"a custom scheme without a dot", web("myapp:/callback"), "redirect_uri", "private-use scheme with a dot"},
		{"a private-use scheme with nothing after it", web("com.example.app:"), "redirect_uri", "needs a path"},
		{"a space", web("https://app.example.com/a b"), "redirect_uri", "printable ASCII"},
		{"a letter outside ASCII", web("https://app.example.com/café"), "redirect_uri", "percent-encode"},
		{"a look-alike host", web("https://аpp.example.com/cb"), "redirect_uri", "percent-encode"},
		{"a tab", web("https://app.example.com/\tcb"), "redirect_uri", "printable ASCII"},
		{"a bad port", web("https://app.example.com:x/cb"), "redirect_uri", "absolute URI"},
		{"a redirect URI too long", web("https://app.example.com/" + strings.Repeat("a", 2000)), "redirect_uri", "at most 2000"},
		{"a redirect URI given twice", web("https://app.example.com/cb", "https://app.example.com/cb"), "redirect_uri", "twice"},

		// post-logout redirect URIs: the same rules
		{"post-logout http to a host that is not loopback", postLogout("http://app.example.com/bye"), "post_logout_redirect_uri", "loopback"},
		{"post-logout with a fragment", postLogout("https://app.example.com/bye#x"), "post_logout_redirect_uri", "fragment"},
		{"post-logout javascript:", postLogout("javascript:alert(1)"), "post_logout_redirect_uri", "private-use"},
		{"post-logout relative", postLogout("/bye"), "post_logout_redirect_uri", "absolute"},
		{"post-logout given twice", postLogout("https://a.example/bye", "https://a.example/bye"), "post_logout_redirect_uri", "twice"},

		// back-channel logout URI: https or loopback http, nothing else
		{"back-channel http to a host that is not loopback", backchannel("http://app.example.com/bc"), "backchannel_logout_uri", "loopback"},
		{"back-channel with a private-use scheme", backchannel("com.example.app:/bc"), "backchannel_logout_uri", "want https"},
		{"back-channel with a fragment", backchannel("https://app.example.com/bc#x"), "backchannel_logout_uri", "fragment"},
		{"back-channel relative", backchannel("/bc"), "backchannel_logout_uri", "absolute"},

		// scopes: RFC 6749 §3.3 scope tokens
		{"an empty scope", scopes("openid", ""), "scope", "not empty"},
		{"a scope with a space", scopes("openid email"), "scope", "RFC 6749"},
		{"a scope with a quote", scopes(`a"b`), "scope", "RFC 6749"},
		{"a scope with a backslash", scopes(`a\b`), "scope", "RFC 6749"},
		{"a scope outside ASCII", scopes("é"), "scope", "RFC 6749"},
		{"a scope given twice", scopes("openid", "openid"), "scope", "twice"},

		// grants
		{"an unknown grant", grants("password"), "grant", "authorization_code, refresh_token, client_credentials"},
		{"the implicit grant", grants("implicit"), "grant", "want"},
		{"an empty grant", grants(code, ""), "grant", "want"},
		{"a grant in capitals", grants("AUTHORIZATION_CODE"), "grant", "want"},
		{"a grant given twice", grants(code, code), "grant", "twice"},

		// how the fields go together
		{"a public client without a redirect URI", oidc.ClientSpec{ID: "a", Public: true}, "redirect_uri", "public client needs a redirect URI"},
		{"a public client with client_credentials only", oidc.ClientSpec{ID: "a", Public: true, Grants: []string{cc}}, "redirect_uri", "public client needs a redirect URI"},
		{"authorization_code without a redirect URI", oidc.ClientSpec{ID: "a", Grants: []string{code}}, "grant", "at least one redirect URI"},
		{"redirect URIs without authorization_code", grants(cc), "redirect_uri", "authorization_code"},
		{"refresh_token without authorization_code", oidc.ClientSpec{ID: "a", Grants: []string{refresh}}, "grant", "refresh_token grant needs the authorization_code grant"},
		{"refresh_token and client_credentials without authorization_code", oidc.ClientSpec{ID: "a", Grants: []string{cc, refresh}}, "grant", "refresh_token grant needs"},
		{"client_credentials for a public client", oidc.ClientSpec{ID: "a", Public: true, RedirectURIs: []string{"https://a.example/cb"}, Grants: []string{code, cc}}, "grant", "confidential clients only"},
		{"post-logout URIs without authorization_code", oidc.ClientSpec{ID: "a", PostLogoutRedirectURIs: []string{"https://a.example/bye"}}, "post_logout_redirect_uri", "sign users in"},
		{"a back-channel URI without authorization_code", oidc.ClientSpec{ID: "a", Grants: []string{cc}, BackchannelLogoutURI: "https://a.example/bc"}, "backchannel_logout_uri", "sign users in"},
		{"first party without authorization_code", oidc.ClientSpec{ID: "a", Grants: []string{cc}, FirstParty: true}, "first_party", "authorization_code"},
		{"first party on a resource server", oidc.ClientSpec{ID: "a", FirstParty: true}, "first_party", "authorization_code"},
		{"scopes on a resource server", oidc.ClientSpec{ID: "a", Scopes: []string{"openid"}}, "scope", "resource server"},
	}
	clients, db := newClients(t, fastParams)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, secret, err := clients.Create(t.Context(), tt.spec)
			var inv *authd.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("Create: client %+v, secret %q, error %v; want an *authd.InvalidError", c, secret, err)
			}
			if inv.Field != tt.field || !strings.Contains(inv.Message, tt.says) {
				t.Fatalf("refused with field %q, %q; want field %q and a message that says %q", inv.Field, inv.Message, tt.field, tt.says)
			}
		})
	}
	if l, err := db.ListClients(t.Context()); err != nil || len(l) != 0 {
		t.Fatalf("after the refusals the store holds %d clients (%v), want none", len(l), err)
	}
}

// TestSpecIsNotShared: Create copies the lists of the spec it is given.
func TestSpecIsNotShared(t *testing.T) {
	clients, db := newClients(t, fastParams)
	uris := []string{"https://app.example.com/cb"}
	c, _, err := clients.Create(t.Context(), oidc.ClientSpec{ID: "web", Public: true, RedirectURIs: uris})
	if err != nil {
		t.Fatal(err)
	}
	uris[0] = "https://evil.example/cb"
	stored, _ := db.ClientByID(t.Context(), "web")
	if c.RedirectURIs[0] != "https://app.example.com/cb" || stored.RedirectURIs[0] != "https://app.example.com/cb" {
		t.Fatalf("the caller's slice changed the client: %q, stored %q", c.RedirectURIs, stored.RedirectURIs)
	}
	d := oidc.DefaultScopes()
	d[0] = "changed"
	if oidc.DefaultScopes()[0] != "openid" {
		t.Fatal("DefaultScopes can be changed by a caller")
	}
}

func TestCreateConflict(t *testing.T) {
	clients, _ := newClients(t, fastParams)
	if _, _, err := clients.Create(t.Context(), oidc.ClientSpec{ID: "orders"}); err != nil {
		t.Fatal(err)
	}
	_, _, err := clients.Create(t.Context(), oidc.ClientSpec{ID: "orders", Public: true, RedirectURIs: []string{"https://a.example/cb"}})
	if !errors.Is(err, authd.ErrConflict) {
		t.Fatalf("Create of a taken id: %v, want ErrConflict", err)
	}
}

// TestAuthenticate: only a confidential client with its own secret
// authenticates; an unknown id, a public client and a wrong secret are the
// same error.
func TestAuthenticate(t *testing.T) {
	clients, db := newClients(t, fastParams)
	ctx := t.Context()
	if _, _, err := clients.Create(ctx, oidc.ClientSpec{ID: "orders", Secret: secret32}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := clients.Create(ctx, oidc.ClientSpec{ID: "web", Public: true, RedirectURIs: []string{"https://a.example/cb"}}); err != nil {
		t.Fatal(err)
	}
	// A client of an earlier version, whose id the rules of today refuse,
	// still authenticates.
	h, err := password.NewHasher(fastParams, 1).Hash(ctx, secret32)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateClient(ctx, &authd.Client{ID: "legacy client", SecretHash: h, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, id, secret string
		ok               bool
	}{
		{"the right secret", "orders", secret32, true},
		{"a client of an earlier version", "legacy client", secret32, true},
		{"a wrong secret", "orders", secret32 + "x", false},
		{"an empty secret", "orders", "", false},
		{"an unknown id", "nobody", secret32, false},
		{"the id in other case", "ORDERS", secret32, false},
		{"a public client with no secret", "web", "", false},
		{"a public client with a secret", "web", secret32, false},
		{"an id too long", strings.Repeat("a", 129), secret32, false},
		{"a secret too long", "orders", strings.Repeat("s", 1025), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := clients.Authenticate(ctx, tt.id, tt.secret)
			if tt.ok && err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if !tt.ok && !errors.Is(err, authd.ErrInvalidCredentials) {
				t.Fatalf("Authenticate: %v, want ErrInvalidCredentials", err)
			}
		})
	}
}

// TestAuthenticateTakesTheSameTime: an unknown id and a public client's
// id cost the argon2id work of a wrong secret (the dummy verification), so
// the time of the answer tells none of them apart. Minimums of several
// runs, which noise only raises; without the dummy work the first two
// would take a hundredth of the third.
func TestAuthenticateTakesTheSameTime(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes at real cost")
	}
	clients, _ := newClients(t, password.Params{Memory: 8 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32})
	ctx := t.Context()
	if _, _, err := clients.Create(ctx, oidc.ClientSpec{ID: "orders", Secret: secret32}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := clients.Create(ctx, oidc.ClientSpec{ID: "web", Public: true, RedirectURIs: []string{"https://a.example/cb"}}); err != nil {
		t.Fatal(err)
	}
	fastest := func(id string) time.Duration {
		best := time.Hour
		for range 5 {
			start := time.Now()
			if _, err := clients.Authenticate(ctx, id, secret32+"x"); !errors.Is(err, authd.ErrInvalidCredentials) {
				t.Fatalf("Authenticate(%s): %v", id, err)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	wrong := fastest("orders")
	for _, id := range []string{"nobody", "web"} {
		if d := fastest(id); d < wrong*3/10 {
			t.Errorf("Authenticate(%s) took %s, a wrong secret %s: the time tells them apart", id, d, wrong)
		}
	}
}

func TestGetListDelete(t *testing.T) {
	clients, _ := newClients(t, fastParams)
	ctx := t.Context()
	l, err := clients.List(ctx)
	if err != nil || l == nil || len(l) != 0 {
		t.Fatalf("List of none: %v, %v; want an empty slice", l, err)
	}
	for _, id := range []string{"web", "orders", "Admin"} {
		spec := oidc.ClientSpec{ID: id}
		if id == "web" {
			spec = oidc.ClientSpec{ID: id, Public: true, RedirectURIs: []string{"https://a.example/cb"}}
		}
		if _, _, err := clients.Create(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	l, err = clients.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range l {
		ids = append(ids, c.ID)
	}
	if !slices.Equal(ids, []string{"Admin", "orders", "web"}) {
		t.Fatalf("List: %q, want by id", ids)
	}
	c, err := clients.Get(ctx, "web")
	if err != nil || c.ID != "web" || c.Confidential() {
		t.Fatalf("Get(web): %+v, %v", c, err)
	}
	if _, err := clients.Get(ctx, "nobody"); !errors.Is(err, authd.ErrNotFound) {
		t.Fatalf("Get(nobody): %v, want ErrNotFound", err)
	}
	if err := clients.Delete(ctx, "nobody"); !errors.Is(err, authd.ErrNotFound) {
		t.Fatalf("Delete(nobody): %v, want ErrNotFound", err)
	}
	// A deleted client's secret stops working at once.
	_, secret, err := clients.Create(ctx, oidc.ClientSpec{ID: "gone"})
	if err != nil {
		t.Fatal(err)
	}
	if err := clients.Delete(ctx, "gone"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := clients.Get(ctx, "gone"); !errors.Is(err, authd.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
	if _, err := clients.Authenticate(ctx, "gone", secret); !errors.Is(err, authd.ErrInvalidCredentials) {
		t.Fatalf("Authenticate after Delete: %v, want ErrInvalidCredentials", err)
	}
}

// TestStoreErrorsPassThrough: a store that cannot answer is not a wrong
// secret: the caller sees ErrUnavailable (503), never invalid_client.
func TestStoreErrorsPassThrough(t *testing.T) {
	clients, db := newClients(t, fastParams)
	db.Close()
	ctx := context.Background()
	if _, err := clients.Authenticate(ctx, "orders", secret32); !errors.Is(err, authd.ErrUnavailable) {
		t.Fatalf("Authenticate on a closed store: %v, want ErrUnavailable", err)
	}
	if _, _, err := clients.Create(ctx, oidc.ClientSpec{ID: "orders"}); !errors.Is(err, authd.ErrUnavailable) {
		t.Fatalf("Create on a closed store: %v, want ErrUnavailable", err)
	}
	if _, err := clients.List(ctx); !errors.Is(err, authd.ErrUnavailable) {
		t.Fatalf("List on a closed store: %v, want ErrUnavailable", err)
	}
}

// TestAuthenticateRemembersOnlyTheVerifiedSecret: a secret that passed is
// remembered (as its SHA-256, with the stored hash it matched), and that
// memory never lets another secret through: a wrong secret after a right
// one, and the old secret of a client registered again with a new one,
// are refused; the new one works.
func TestAuthenticateRemembersOnlyTheVerifiedSecret(t *testing.T) {
	clients, _ := newClients(t, fastParams)
	ctx := t.Context()
	if _, _, err := clients.Create(ctx, oidc.ClientSpec{ID: "orders", Secret: secret32}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := clients.Authenticate(ctx, "orders", secret32); err != nil {
			t.Fatalf("right secret: %v", err)
		}
		if _, err := clients.Authenticate(ctx, "orders", secret32+"x"); !errors.Is(err, authd.ErrInvalidCredentials) {
			t.Fatalf("wrong secret after a right one: %v", err)
		}
	}
	if err := clients.Delete(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if _, err := clients.Authenticate(ctx, "orders", secret32); !errors.Is(err, authd.ErrInvalidCredentials) {
		t.Fatalf("deleted client: %v", err)
	}
	next := strings.Repeat("n", 40)
	if _, _, err := clients.Create(ctx, oidc.ClientSpec{ID: "orders", Secret: next}); err != nil {
		t.Fatal(err)
	}
	if _, err := clients.Authenticate(ctx, "orders", secret32); !errors.Is(err, authd.ErrInvalidCredentials) {
		t.Fatalf("the old secret of a re-registered client: %v", err)
	}
	if _, err := clients.Authenticate(ctx, "orders", next); err != nil {
		t.Fatalf("the new secret: %v", err)
	}
}
