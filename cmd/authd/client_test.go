package main

import (
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// migrated returns the --db of a fresh, migrated SQLite file.
func migrated(t *testing.T) string {
	t.Helper()
	db := "sqlite:" + filepath.Join(t.TempDir(), "authd.db")
	if code, _, e := runCmd(t, "", env(nil), "migrate", "--db", db); code != 0 {
		t.Fatalf("migrate: %s", e)
	}
	return db
}

// mustRun runs a command that must succeed and returns its stdout.
func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, out, errOut := runCmd(t, stdin, env(nil), args...)
	if code != 0 || errOut != "" {
		t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
	}
	return out
}

const clientSecret = "0123456789abcdef0123456789abcdef"

// TestClientAdd: what client add prints and registers for each kind of
// client, public or confidential as its flags say.
func TestClientAdd(t *testing.T) {
	db := migrated(t)
	// A resource server: no redirect URI, no --secret-stdin: a generated
	// secret, printed once.
	out := mustRun(t, "", "client", "add", "--id", "orders", "--db", db)
	m := regexp.MustCompile(`^client_id=orders\nclient_secret=([A-Za-z0-9_-]+)\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("client add of a resource server printed %q, want client_id= and client_secret= lines", out)
	}
	if b, err := base64.RawURLEncoding.DecodeString(m[1]); err != nil || len(b) != 32 {
		t.Fatalf("generated secret %q: want 32 bytes in base64url", m[1])
	}
	// A redirect URI and no --secret-stdin: public, nothing secret printed.
	if out := mustRun(t, "", "client", "add", "--id", "web", "--redirect-uri", "https://app.example.com/callback", "--db", db); out != "client web added: public\n" {
		t.Fatalf("client add of a public client printed %q", out)
	}
	// --public says the same, explicitly.
	if out := mustRun(t, "", "client", "add", "--id", "ios", "--public", "--redirect-uri", "com.example.app:/oauth2redirect", "--db", db); out != "client ios added: public\n" {
		t.Fatalf("client add --public printed %q", out)
	}
	// --secret-stdin: confidential with that secret, not printed.
	out = mustRun(t, clientSecret+"\n", "client", "add", "--id", "portal", "--secret-stdin", "--name", "Customer portal",
		"--redirect-uri", "https://portal.example.com/cb", "--redirect-uri", "http://127.0.0.1:8400/cb",
		"--post-logout-redirect-uri", "https://portal.example.com/", "--backchannel-logout-uri", "https://portal.example.com/bc",
		"--scope", "openid", "--scope", "api:read", "--grant", "authorization_code", "--grant", "client_credentials",
		"--first-party", "--db", db)
	if out != "client portal added: confidential\n" {
		t.Fatalf("client add --secret-stdin printed %q", out)
	}
	// A resource server with its own secret.
	if out := mustRun(t, clientSecret+"\n", "client", "add", "--id", "billing", "--secret-stdin", "--db", db); out != "client billing added: confidential (resource server: may only call /oauth2/introspect)\n" {
		t.Fatalf("client add of a resource server with --secret-stdin printed %q", out)
	}
	// A service: client_credentials, a generated secret.
	if out := mustRun(t, "", "client", "add", "--id", "batch", "--grant", "client_credentials", "--db", db); !strings.HasPrefix(out, "client_id=batch\nclient_secret=") {
		t.Fatalf("client add of a client_credentials service printed %q", out)
	}

	want := map[string]clientJSON{
		"batch":   {ID: "batch", Type: "confidential", Grants: []string{"client_credentials"}, Scopes: []string{"openid", "email", "offline_access"}},
		"billing": {ID: "billing", Type: "confidential"},
		"ios": {ID: "ios", Type: "public", Grants: []string{"authorization_code", "refresh_token"},
			RedirectURIs: []string{"com.example.app:/oauth2redirect"}, Scopes: []string{"openid", "email", "offline_access"}},
		"orders": {ID: "orders", Type: "confidential"},
		"portal": {ID: "portal", Name: "Customer portal", Type: "confidential", FirstParty: true,
			Grants: []string{"authorization_code", "client_credentials"}, RedirectURIs: []string{"https://portal.example.com/cb", "http://127.0.0.1:8400/cb"},
			PostLogoutRedirectURIs: []string{"https://portal.example.com/"}, BackchannelLogoutURI: "https://portal.example.com/bc",
			Scopes: []string{"openid", "api:read"}},
		"web": {ID: "web", Type: "public", Grants: []string{"authorization_code", "refresh_token"},
			RedirectURIs: []string{"https://app.example.com/callback"}, Scopes: []string{"openid", "email", "offline_access"}},
	}
	got := listJSON(t, db)
	var ids []string
	for _, c := range got {
		ids = append(ids, c.ID)
		w := want[c.ID]
		if time.Since(c.CreatedAt) > time.Minute || c.CreatedAt.Location() != time.UTC {
			t.Errorf("%s: created_at %v", c.ID, c.CreatedAt)
		}
		c.CreatedAt = time.Time{}
		for _, l := range []*[]string{&w.Grants, &w.RedirectURIs, &w.PostLogoutRedirectURIs, &w.Scopes} {
			if *l == nil {
				*l = []string{}
			}
		}
		if !jsonEqual(c, w) {
			t.Errorf("client list --json:\n got %+v\nwant %+v", c, w)
		}
	}
	if !slices.Equal(ids, []string{"batch", "billing", "ios", "orders", "portal", "web"}) {
		t.Fatalf("client list --json ids %q, want every client by id", ids)
	}
}

// listJSON runs client list --json: one object a line, each line
// complete, no secret or hash anywhere.
func listJSON(t *testing.T, db string) []clientJSON {
	t.Helper()
	out := mustRun(t, "", "client", "list", "--json", "--db", db)
	if strings.Contains(out, "argon2") || strings.Contains(strings.ToLower(out), "secret") || strings.Contains(out, clientSecret) {
		t.Fatalf("client list --json shows a secret or its hash: %s", out)
	}
	var l []clientJSON
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var c clientJSON
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("client list --json line %q: %v", line, err)
		}
		for _, key := range []string{`"grants":[`, `"redirect_uris":[`, `"post_logout_redirect_uris":[`, `"scopes":[`} {
			if !strings.Contains(line, key) {
				t.Errorf("line %q lacks %s…]: lists are never null", line, key)
			}
		}
		l = append(l, c)
	}
	return l
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestClientListShowDelete: the text of list and show, show --json, and
// delete, known and unknown.
func TestClientListShowDelete(t *testing.T) {
	db := migrated(t)
	if out := mustRun(t, "", "client", "list", "--db", db); out != "ID  TYPE  FIRST-PARTY  GRANTS  REDIRECT URIS\n" {
		t.Fatalf("client list of none: %q", out)
	}
	if out := mustRun(t, "", "client", "list", "--json", "--db", db); out != "" {
		t.Fatalf("client list --json of none: %q", out)
	}
	mustRun(t, "", "client", "add", "--id", "orders", "--db", db)
	mustRun(t, "", "client", "add", "--id", "web", "--name", "Web app", "--first-party", "--redirect-uri", "https://app.example.com/callback",
		"--redirect-uri", "http://localhost:3000/callback", "--post-logout-redirect-uri", "https://app.example.com/", "--db", db)
	want := `ID      TYPE          FIRST-PARTY  GRANTS                            REDIRECT URIS
orders  confidential  no           -                                 -
web     public        yes          authorization_code,refresh_token  https://app.example.com/callback http://localhost:3000/callback
`
	if out := mustRun(t, "", "client", "list", "--db", db); out != want {
		t.Fatalf("client list:\n%s\nwant:\n%s", out, want)
	}
	out := mustRun(t, "", "client", "show", "--id", "web", "--db", db)
	created := regexp.MustCompile(`(?m)^created: +(\S+)$`).FindStringSubmatch(out)
	if created == nil {
		t.Fatalf("client show has no created line:\n%s", out)
	}
	if _, err := time.Parse(time.RFC3339, created[1]); err != nil {
		t.Fatalf("created %q: %v", created[1], err)
	}
	want = `id:                         web
name:                       Web app
type:                       public
first party:                yes
grants:                     authorization_code refresh_token
scopes:                     openid email offline_access
redirect URIs:              https://app.example.com/callback
                            http://localhost:3000/callback
post-logout redirect URIs:  https://app.example.com/
back-channel logout URI:    -
created:                    ` + created[1] + "\n"
	if out != want {
		t.Fatalf("client show:\n%s\nwant:\n%s", out, want)
	}
	out = mustRun(t, "", "client", "show", "--id", "orders", "--db", db)
	if !strings.Contains(out, "type:                       confidential (resource server: may only call /oauth2/introspect)\n") ||
		strings.Contains(out, "argon2") || strings.Contains(out, "secret") {
		t.Fatalf("client show of a resource server:\n%s", out)
	}
	var c clientJSON
	if err := json.Unmarshal([]byte(mustRun(t, "", "client", "show", "--id", "web", "--json", "--db", db)), &c); err != nil || c.ID != "web" || c.Name != "Web app" {
		t.Fatalf("client show --json: %+v, %v", c, err)
	}
	if out := mustRun(t, "", "client", "delete", "--id", "web", "--db", db); out != "client web deleted\n" {
		t.Fatalf("client delete printed %q", out)
	}
	if l := listJSON(t, db); len(l) != 1 || l[0].ID != "orders" {
		t.Fatalf("after delete the list is %+v, want orders alone", l)
	}
}

// TestClientErrors: each wrong use of the client commands is one line on
// stderr, "authd: " then what is wrong, naming the flag; nothing on
// stdout, nothing registered.
func TestClientErrors(t *testing.T) {
	db := migrated(t)
	mustRun(t, "", "client", "add", "--id", "orders", "--db", db)
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"add without --id", "", []string{"add"}, "client add: --id is required"},
		{"show without --id", "", []string{"show"}, "client show: --id is required"},
		{"delete without --id", "", []string{"delete"}, "client delete: --id is required"},
		{"list takes no --id", "", []string{"list", "--id", "x"}, "unknown flag --id for authd client list"},
		{"delete takes no --json", "", []string{"delete", "--id", "x", "--json"}, "unknown flag --json for authd client delete"},
		{"show an unknown id", "", []string{"show", "--id", "nobody"}, "no client with id nobody"},
		{"delete an unknown id", "", []string{"delete", "--id", "nobody"}, "no client with id nobody"},
		{"add a taken id", "", []string{"add", "--id", "orders"}, "client orders already exists"},
		{"a bad id", "", []string{"add", "--id", "my app"}, "--id: a client id is 1 to 128 of the characters A-Z a-z 0-9 . _ -"},
		{"http to a host that is not loopback", "", []string{"add", "--id", "x", "--redirect-uri", "http://app.example.com/cb"},
			`--redirect-uri "http://app.example.com/cb": http only for a loopback host`},
		{"a redirect URI with a fragment", "", []string{"add", "--id", "x", "--redirect-uri", "https://app.example.com/cb#x"},
			`--redirect-uri "https://app.example.com/cb#x": a URI here has no fragment`},
		{"a relative redirect URI", "", []string{"add", "--id", "x", "--redirect-uri", "/cb"}, `--redirect-uri "/cb": want an absolute URI`},
		{"a scheme without a dot", "", []string{"add", "--id", "x", "--redirect-uri", "myapp:/cb"}, `--redirect-uri "myapp:/cb": want https`},
		{"a bad post-logout URI", "", []string{"add", "--id", "x", "--redirect-uri", "https://a.example/cb", "--post-logout-redirect-uri", "javascript:x"},
			`--post-logout-redirect-uri "javascript:x"`},
		{"a bad back-channel URI", "", []string{"add", "--id", "x", "--redirect-uri", "https://a.example/cb", "--backchannel-logout-uri", "http://a.example/bc"},
			`--backchannel-logout-uri "http://a.example/bc": http only for a loopback host`},
		{"a bad scope", "", []string{"add", "--id", "x", "--redirect-uri", "https://a.example/cb", "--scope", "a b"}, `--scope "a b"`},
		{"an unknown grant", "", []string{"add", "--id", "x", "--grant", "password"}, `--grant "password": want one of authorization_code, refresh_token, client_credentials`},
		{"client_credentials for a public client", "", []string{"add", "--id", "x", "--redirect-uri", "https://a.example/cb", "--grant", "authorization_code", "--grant", "client_credentials"},
			"--grant: the client_credentials grant is for confidential clients only"},
		{"--public without a redirect URI", "", []string{"add", "--id", "x", "--public"}, "--redirect-uri: a public client needs a redirect URI"},
		{"--public with --secret-stdin", clientSecret + "\n", []string{"add", "--id", "x", "--public", "--secret-stdin", "--redirect-uri", "https://a.example/cb"},
			"--secret-stdin: a public client has no secret"},
		{"a short secret", "short\n", []string{"add", "--id", "x", "--secret-stdin"}, "--secret-stdin: a client secret is 32 to 1024 characters"},
		{"no secret on standard input", "", []string{"add", "--id", "x", "--secret-stdin"}, "standard input held no secret"},
		{"authorization_code without a redirect URI", "", []string{"add", "--id", "x", "--grant", "authorization_code"},
			"--grant: the authorization_code grant needs at least one redirect URI"},
		{"a scope for a resource server", "", []string{"add", "--id", "x", "--scope", "openid"}, "--scope: a client with no grant (a resource server) asks for no scope"},
		{"first party for a resource server", "", []string{"add", "--id", "x", "--first-party"}, "--first-party: first party skips the consent page"},
		{"a missing subcommand", "", nil, "client: missing subcommand: want add, list, show or delete"},
		{"an unknown subcommand", "", []string{"rotate"}, `client: unknown subcommand "rotate": want add, list, show or delete`},
		{"a stray argument", "", []string{"list", "extra"}, `unexpected argument "extra" for authd client list`},
		{"a bad --db", clientSecret + "\n", []string{"add", "--id", "x", "--secret-stdin", "--db", "mysql://x"}, `--db "mysql://x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"client"}, tt.args...)
			if len(tt.args) > 0 && !slices.Contains(tt.args, "--db") {
				args = append(args, "--db", db)
			}
			code, out, errOut := runCmd(t, tt.stdin, env(nil), args...)
			if code == 0 || out != "" {
				t.Fatalf("exit %d, stdout %q; want a failure and nothing on stdout", code, out)
			}
			lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(errOut, "authd: ") || !strings.HasSuffix(errOut, "\n") {
				t.Fatalf("stderr is not one 'authd: ' line: %q", errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Fatalf("stderr %q does not say %q", errOut, tt.want)
			}
		})
	}
	if l := listJSON(t, db); len(l) != 1 || l[0].ID != "orders" {
		t.Fatalf("after the refusals the clients are %+v, want orders alone", l)
	}
}
