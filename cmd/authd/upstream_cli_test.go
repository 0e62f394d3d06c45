package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd"
)

const upstreamSecret = "provider-secret-b7c1f0e2a9d84c55"

// upstreamKey writes a 32-byte encryption key file, as serve makes one,
// and returns its path.
func upstreamKey(t *testing.T) string {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	path := filepath.Join(t.TempDir(), "authd.key")
	if err := os.WriteFile(path, key, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sqliteBytes is the SQLite file of db with its journal files.
func sqliteBytes(t *testing.T, db string) []byte {
	t.Helper()
	path := strings.TrimPrefix(db, "sqlite:")
	var all []byte
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if len(all) == 0 {
		t.Fatalf("no SQLite file at %s", path)
	}
	return all
}

// TestUpstreamAdd: a public and a confidential provider, what add prints,
// and the secret kept only sealed.
func TestUpstreamAdd(t *testing.T) {
	db := migrated(t)
	key := upstreamKey(t)

	out := mustRun(t, "", "upstream", "add", "--id", "corp", "--issuer", "https://id.example.com", "--client-id", "authd", "--db", db)
	want := "upstream corp added (public); register this redirect URI at the provider: ISSUER/v1/upstream/corp/callback, ISSUER being authd serve's --issuer\n"
	if out != want {
		t.Fatalf("add of a public provider printed %q, want %q", out, want)
	}

	out = mustRun(t, upstreamSecret+"\n", "upstream", "add", "--id", "gitlab", "--issuer", "https://gitlab.example.com/", "--client-id", "app-42",
		"--secret-stdin", "--name", "GitLab", "--scope", "openid", "--scope", "email", "--scope", "profile", "--trust-email",
		"--encryption-key-file", key, "--db", db)
	if !strings.HasPrefix(out, "upstream gitlab added (confidential); register this redirect URI at the provider: ISSUER/v1/upstream/gitlab/callback") {
		t.Fatalf("add --secret-stdin printed %q", out)
	}
	if strings.Contains(out, upstreamSecret) {
		t.Fatalf("add printed the secret: %q", out)
	}

	// The key file comes from the environment as for serve.
	mustRun(t, upstreamSecret+"\n", "upstream", "add", "--id", "other", "--issuer", "http://127.0.0.1:9999", "--client-id", "c",
		"--secret-stdin", "--db", db, "--encryption-key-file", key)

	all := sqliteBytes(t, db)
	if bytes.Contains(all, []byte(upstreamSecret)) {
		t.Fatal("the client secret is in the SQLite file in clear")
	}
	if !bytes.Contains(all, []byte("app-42")) {
		t.Fatal("the client id is not in the SQLite file: the wrong file was read")
	}

	var got []upstreamJSON
	for _, line := range strings.Split(strings.TrimSpace(mustRun(t, "", "upstream", "list", "--json", "--db", db)), "\n") {
		var u upstreamJSON
		if err := json.Unmarshal([]byte(line), &u); err != nil {
			t.Fatalf("list --json line %q: %v", line, err)
		}
		got = append(got, u)
	}
	if len(got) != 3 || got[0].ID != "corp" || got[1].ID != "gitlab" || got[2].ID != "other" {
		t.Fatalf("list --json: %+v", got)
	}
	corp, gl := got[0], got[1]
	if corp.Name != "corp" || corp.Type != "public" || corp.HasSecret || !slices.Equal(corp.Scopes, []string{"openid", "email"}) || corp.TrustEmail ||
		corp.Issuer != "https://id.example.com" || corp.ClientID != "authd" || time.Since(corp.CreatedAt) > time.Minute {
		t.Fatalf("the public provider reads back as %+v", corp)
	}
	if gl.Name != "GitLab" || gl.Type != "confidential" || !gl.HasSecret || !slices.Equal(gl.Scopes, []string{"openid", "email", "profile"}) ||
		!gl.TrustEmail || gl.Issuer != "https://gitlab.example.com/" || gl.ClientID != "app-42" {
		t.Fatalf("the confidential provider reads back as %+v", gl)
	}
}

// TestUpstreamListShowDelete: the text and JSON of list and show, and
// delete taking the identities linked at the provider with it.
func TestUpstreamListShowDelete(t *testing.T) {
	db := migrated(t)
	if out := mustRun(t, "", "upstream", "list", "--db", db); out != "ID  NAME  ISSUER  CLIENT ID  TYPE  TRUST EMAIL  SCOPES\n" {
		t.Fatalf("list of none printed %q", out)
	}
	if out := mustRun(t, "", "upstream", "list", "--json", "--db", db); out != "" {
		t.Fatalf("list --json of none printed %q", out)
	}
	mustRun(t, "", "upstream", "add", "--id", "corp", "--issuer", "https://id.example.com", "--client-id", "authd", "--name", "Corp SSO", "--trust-email", "--db", db)
	want := "ID    NAME      ISSUER                  CLIENT ID  TYPE    TRUST EMAIL  SCOPES\n" +
		"corp  Corp SSO  https://id.example.com  authd      public  yes          openid email\n"
	if out := mustRun(t, "", "upstream", "list", "--db", db); out != want {
		t.Fatalf("list printed\n%s\nwant\n%s", out, want)
	}
	out := mustRun(t, "", "upstream", "show", "--id", "corp", "--db", db)
	for _, line := range []string{
		"id:            corp\n", "name:          Corp SSO\n", "issuer:        https://id.example.com\n", "client id:     authd\n",
		"type:          public (PKCE alone, no client secret)\n", "scopes:        openid email\n", "trust email:   yes\n",
		"redirect URI:  ISSUER/v1/upstream/corp/callback (ISSUER: authd serve's --issuer)\n", "created:       ",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("show lacks %q:\n%s", line, out)
		}
	}
	var u upstreamJSON
	if err := json.Unmarshal([]byte(mustRun(t, "", "upstream", "show", "--id", "corp", "--json", "--db", db)), &u); err != nil || u.ID != "corp" || u.Name != "Corp SSO" || !u.TrustEmail {
		t.Fatalf("show --json: %+v, %v", u, err)
	}

	// An identity linked at the provider goes with it.
	userID := addUser(t, db, "ann@example.com", "correct horse battery staple")
	ctx := context.Background()
	c := adminConfig()
	c.DB = db
	st, err := openStores(ctx, c, mustExist)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.identities.LinkIdentity(ctx, &authd.Identity{UpstreamID: "corp", Subject: "s-1", UserID: userID, Email: "ann@example.com", LinkedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "", "upstream", "delete", "--id", "corp", "--db", db); out != "upstream corp deleted, and every identity linked at it\n" {
		t.Fatalf("delete printed %q", out)
	}
	if _, err := st.identities.IdentityBySubject(ctx, "corp", "s-1"); !errors.Is(err, authd.ErrNotFound) {
		t.Fatalf("the linked identity after delete: %v, want not found", err)
	}
	if out := mustRun(t, "", "upstream", "list", "--json", "--db", db); out != "" {
		t.Fatalf("list --json after delete printed %q", out)
	}
	// The id is free again.
	mustRun(t, "", "upstream", "add", "--id", "corp", "--issuer", "https://id.example.com", "--client-id", "authd", "--db", db)
}

// TestUpstreamErrors: each wrong use of the upstream commands is one line
// on stderr, "authd: " then what is wrong, naming the flag; nothing on
// stdout, nothing registered.
func TestUpstreamErrors(t *testing.T) {
	db := migrated(t)
	key := upstreamKey(t)
	short := filepath.Join(t.TempDir(), "short.key")
	if err := os.WriteFile(short, []byte("too short"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "none.key")
	mustRun(t, "", "upstream", "add", "--id", "corp", "--issuer", "https://id.example.com", "--client-id", "authd", "--db", db)
	add := func(more ...string) []string {
		return append([]string{"add", "--id", "x", "--issuer", "https://id.example.com", "--client-id", "c"}, more...)
	}
	tests := []struct {
		name  string
		env   map[string]string
		stdin string
		args  []string
		want  string
	}{
		{"add without --id", nil, "", []string{"add", "--issuer", "https://id.example.com", "--client-id", "c"}, "upstream add: --id is required"},
		{"add without --issuer", nil, "", []string{"add", "--id", "x", "--client-id", "c"}, "upstream add: --issuer is required"},
		{"AUTHD_ISSUER is not the provider's issuer", map[string]string{"AUTHD_ISSUER": "https://auth.example.com"}, "",
			[]string{"add", "--id", "x", "--client-id", "c"}, "upstream add: --issuer is required"},
		{"add without --client-id", nil, "", []string{"add", "--id", "x", "--issuer", "https://id.example.com"}, "upstream add: --client-id is required"},
		{"show without --id", nil, "", []string{"show"}, "upstream show: --id is required"},
		{"delete without --id", nil, "", []string{"delete"}, "upstream delete: --id is required"},
		{"list takes no --id", nil, "", []string{"list", "--id", "x"}, "unknown flag --id for authd upstream list"},
		{"delete takes no --json", nil, "", []string{"delete", "--id", "x", "--json"}, "unknown flag --json for authd upstream delete"},
		{"show takes no --issuer", nil, "", []string{"show", "--id", "x", "--issuer", "https://id.example.com"}, "unknown flag --issuer for authd upstream show"},
		{"show an unknown id", nil, "", []string{"show", "--id", "nobody"}, "no upstream provider with id nobody"},
		{"delete an unknown id", nil, "", []string{"delete", "--id", "nobody"}, "no upstream provider with id nobody"},
		{"add a taken id", nil, "", []string{"add", "--id", "corp", "--issuer", "https://other.example.com", "--client-id", "c"}, "upstream corp already exists"},
		{"a bad id", nil, "", []string{"add", "--id", "My IdP", "--issuer", "https://id.example.com", "--client-id", "c"}, "--id: the id must be 1 to 64 of a-z, 0-9 and -"},
		{"an http issuer", nil, "", []string{"add", "--id", "x", "--issuer", "http://id.example.com", "--client-id", "c"}, "--issuer: the issuer must be https (http only for localhost)"},
		{"a relative issuer", nil, "", []string{"add", "--id", "x", "--issuer", "id.example.com", "--client-id", "c"}, "--issuer: the issuer must be an absolute URL"},
		{"an issuer with a query", nil, "", []string{"add", "--id", "x", "--issuer", "https://id.example.com/?a=b", "--client-id", "c"}, "--issuer: the issuer must have no user, query or fragment"},
		{"scopes without openid", nil, "", add("--scope", "email"), "--scope: the scopes must include openid"},
		{"a bad scope", nil, "", add("--scope", "openid", "--scope", `a"b`), `--scope: the scope "a\"b" has a character a scope cannot have`},
		{"a bad name", nil, "", add("--name", strings.Repeat("n", 101)), "--name: the name must be at most 100 printable characters"},
		{"a secret without a key file", nil, upstreamSecret + "\n", add("--secret-stdin", "--encryption-key-file", missing),
			"no encryption key at " + missing + ": start authd serve once, or pass --encryption-key-file"},
		{"a secret without the default key file", nil, upstreamSecret + "\n", add("--secret-stdin"),
			"no encryption key at authd.key: start authd serve once, or pass --encryption-key-file"},
		{"a key file of the wrong size", nil, upstreamSecret + "\n", add("--secret-stdin", "--encryption-key-file", short), "holds 9 bytes, want exactly 32"},
		{"no secret on standard input", nil, "", add("--secret-stdin", "--encryption-key-file", key), "standard input held no secret"},
		{"a secret too long", nil, strings.Repeat("s", 1025) + "\n", add("--secret-stdin", "--encryption-key-file", key), "--secret-stdin: the client secret must be at most 1024 bytes"},
		{"a missing subcommand", nil, "", nil, "upstream: missing subcommand: want add, list, show or delete"},
		{"a stray argument", nil, "", []string{"list", "extra"}, `unexpected argument "extra" for authd upstream list`},
		{"a bad --db", nil, upstreamSecret + "\n", add("--secret-stdin", "--db", "mysql://x"), `--db "mysql://x"`},
	}
	t.Chdir(t.TempDir()) // no authd.key here
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"upstream"}, tt.args...)
			if len(tt.args) > 0 && !slices.Contains(tt.args, "--db") {
				args = append(args, "--db", db)
			}
			code, out, errOut := runCmd(t, tt.stdin, env(tt.env), args...)
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
	// Nothing was registered, and no key file was made.
	out := mustRun(t, "", "upstream", "list", "--json", "--db", db)
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, `"id":"corp"`) {
		t.Fatalf("after the refusals, list --json printed %q", out)
	}
	if ents, _ := os.ReadDir("."); len(ents) != 0 {
		t.Fatalf("the refusals left %v behind", ents)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a key file was made at %s: %v", missing, err)
	}
}

// TestUpstreamHelpSaysIssuerIsNotFromTheEnvironment: the help of upstream
// add says its --issuer is the provider's and never AUTHD_ISSUER, and
// where the redirect URI lives.
func TestUpstreamHelpSaysIssuerIsNotFromTheEnvironment(t *testing.T) {
	out := strings.Join(strings.Fields(mustRun(t, "", "upstream", "add", "--help")), " ")
	for _, want := range []string{"(command line only, never AUTHD_ISSUER)", "ISSUER/v1/upstream/ID/callback", "env AUTHD_ENCRYPTION_KEY_FILE"} {
		if !strings.Contains(out, want) {
			t.Errorf("upstream add --help lacks %q", want)
		}
	}
	out = strings.Join(strings.Fields(mustRun(t, "", "upstream", "delete", "--help")), " ")
	if !strings.Contains(out, "every account link at the provider is deleted") {
		t.Errorf("upstream delete --help does not say the linked identities go too:\n%s", out)
	}
	if out := mustRun(t, "", "--help"); !strings.Contains(out, "authd upstream add --id ID --issuer URL --client-id C") {
		t.Errorf("authd --help does not list upstream add")
	}
}
