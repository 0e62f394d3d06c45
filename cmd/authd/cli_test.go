package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/redis/redistest"
)

// serveConfig parses args and the environment as serve does and validates
// the result.
func serveConfig(t *testing.T, getenv func(string) string, args ...string) (*Config, error) {
	t.Helper()
	c := &Config{}
	f := newFlags(serveCmd)
	serveFlags(f, c)
	if err := f.parse(args, getenv, io.Discard); err != nil {
		return c, err
	}
	return c, c.validate()
}

// TestDurationBounds: every duration flag takes any value from 1s up to its
// documented maximum, so that expiry can be tried in seconds; below or
// above is one line saying the range.
func TestDurationBounds(t *testing.T) {
	tests := []struct {
		args []string
		err  string // "" when accepted
	}{
		{[]string{"--access-ttl", "2s"}, ""},
		{[]string{"--access-ttl", "1s"}, ""},
		{[]string{"--access-ttl", "24h"}, ""},
		{[]string{"--access-ttl", "999ms"}, "--access-ttl 999ms: want 1s to 24h"},
		{[]string{"--access-ttl", "24h1s"}, "--access-ttl 24h0m1s: want 1s to 24h"},
		{[]string{"--access-ttl", "-5m"}, "--access-ttl -5m: want 1s to 24h"},
		{[]string{"--session-idle", "2s"}, ""},
		{[]string{"--session-idle", "1s", "--session-max", "1s"}, ""},
		{[]string{"--session-idle", "0s"}, "--session-idle 0s: want at least 1s"},
		{[]string{"--session-idle", "2s", "--session-max", "1s"}, "--session-max 1s: want at least --session-idle (2s)"},
		{[]string{"--access-ttl", "2s", "--refresh-ttl", "5s"}, ""},
		{[]string{"--access-ttl", "2s", "--refresh-ttl", "1s"}, "--refresh-ttl 1s: want at least --access-ttl (2s)"},
		{[]string{"--login-window", "1s"}, ""},
		{[]string{"--login-window", "500ms"}, "--login-window 500ms: want at least 1s"},
		{[]string{"--revocation-max-staleness", "1s"}, ""},
		{[]string{"--revocation-max-staleness", "100ms"}, "--revocation-max-staleness 100ms: want at least 1s"},
		{[]string{"--refresh-grace", "0s"}, ""},
		{[]string{"--refresh-grace", "1m"}, ""},
		{[]string{"--refresh-grace", "61s"}, "--refresh-grace 1m1s: want 0s to 1m"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := serveConfig(t, env(nil), tt.args...)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.err != "" && err == nil:
				t.Fatalf("accepted, want %q", tt.err)
			case tt.err != "" && err.Error() != tt.err:
				t.Fatalf("error %q, want %q", err, tt.err)
			}
		})
	}
}

// TestShortLifetimesWarnOnce: lifetimes under one minute are named in one
// warning at start; the defaults give none.
func TestShortLifetimesWarnOnce(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // the flags the warning names; nil: no warning
	}{
		{"defaults", nil, nil},
		{"one minute is not short", []string{"--access-ttl", "1m", "--session-idle", "1m"}, nil},
		{"two short lifetimes", []string{"--access-ttl", "2s", "--session-idle", "2s"}, []string{"--access-ttl=2s", "--session-idle=2s"}},
		{"every lifetime short", []string{"--access-ttl", "2s", "--refresh-ttl", "10s", "--session-idle", "3s", "--session-max", "30s", "--login-window", "5s"},
			[]string{"--access-ttl=2s", "--refresh-ttl=10s", "--session-idle=3s", "--session-max=30s", "--login-window=5s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := "sqlite:" + filepath.Join(t.TempDir(), "authd.db")
			_, stop, logs := startServer(t, env(nil), append([]string{"--db", db, "--dev"}, tt.args...)...)
			if code := stop(); code != 0 {
				t.Fatalf("serve exit %d: %s", code, logs)
			}
			var warnings []map[string]any
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				if strings.Contains(rec["msg"].(string), "under one minute") {
					warnings = append(warnings, rec)
				}
			}
			if tt.want == nil {
				if len(warnings) != 0 {
					t.Fatalf("warnings %v, want none", warnings)
				}
				return
			}
			if len(warnings) != 1 {
				t.Fatalf("%d warnings, want one:\n%s", len(warnings), logs)
			}
			if warnings[0]["level"] != "WARN" {
				t.Errorf("level %v, want WARN", warnings[0]["level"])
			}
			if got := strings.Fields(warnings[0]["flags"].(string)); !slices.Equal(got, tt.want) {
				t.Errorf("the warning names %v, want %v", got, tt.want)
			}
		})
	}
}

// adminCommands are the commands that only read or change existing data.
var adminCommands = [][]string{
	{"user", "add", "--email", "ann@example.com", "--password-stdin"},
	{"user", "passwd", "--email", "ann@example.com", "--password-stdin"},
	{"user", "lock", "--email", "ann@example.com"},
	{"user", "unlock", "--email", "ann@example.com"},
	{"user", "mfa", "reset", "--email", "ann@example.com"},
	{"user", "list"},
	{"user", "show", "--email", "ann@example.com"},
	{"user", "role", "add", "--email", "ann@example.com", "--role", "ops"},
	{"user", "role", "remove", "--email", "ann@example.com", "--role", "ops"},
	{"user", "sessions", "revoke", "--email", "ann@example.com"},
	{"audit", "--email", "ann@example.com"},
	{"user", "delete", "--email", "ann@example.com", "--yes"},
	{"keys", "list"},
	{"keys", "rotate"},
	{"keys", "rotate", "--alg", "ES256"},
	{"client", "add", "--id", "orders"},
	{"client", "list"},
	{"client", "show", "--id", "orders"},
	{"client", "delete", "--id", "orders"},
	{"upstream", "add", "--id", "corp", "--issuer", "https://id.example.com", "--client-id", "authd"},
	{"upstream", "list"},
	{"upstream", "show", "--id", "corp"},
	{"upstream", "delete", "--id", "corp"},
}

// TestAdminCommandsRefuseAMissingDatabase: run where there is no database,
// the commands other than serve, migrate, bench and version say so in one
// line naming the path as given, exit non-zero and create nothing; after
// migrate they work.
func TestAdminCommandsRefuseAMissingDatabase(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	const pw = "correct horse battery staple\n"
	for _, args := range adminCommands {
		for _, db := range []struct {
			flag []string
			path string
		}{
			{nil, "authd.db"}, // the default, sqlite:authd.db
			{[]string{"--db", "sqlite:other.db"}, "other.db"},
			{[]string{"--db", "sqlite:" + filepath.Join(dir, "sub", "x.db")}, filepath.Join(dir, "sub", "x.db")},
		} {
			t.Run(strings.Join(append(args[:2:2], db.flag...), " "), func(t *testing.T) {
				code, out, errOut := runCmd(t, pw, env(nil), append(slices.Clone(args), db.flag...)...)
				want := "authd: no database at " + db.path + " (run authd migrate, or pass --db)\n"
				if code == 0 || errOut != want || out != "" {
					t.Fatalf("exit %d, stdout %q, stderr %q; want non-zero and %q", code, out, errOut, want)
				}
			})
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("the commands left %v behind", ents)
	}
	// AUTHD_DB names the missing database as well.
	code, _, errOut := runCmd(t, "", env(map[string]string{"AUTHD_DB": "sqlite:env.db"}), "keys", "list")
	if code == 0 || errOut != "authd: no database at env.db (run authd migrate, or pass --db)\n" {
		t.Fatalf("with AUTHD_DB: exit %d, %q", code, errOut)
	}

	if code, _, e := runCmd(t, "", env(nil), "migrate"); code != 0 {
		t.Fatalf("migrate: %s", e)
	}
	for _, args := range adminCommands {
		if code, _, e := runCmd(t, pw, env(nil), args...); code != 0 {
			t.Fatalf("%v after migrate: %s", args, e)
		}
	}
}

// TestServeOnABusyAddress: serve takes its address before it opens the
// store, so a busy port leaves no database behind, and says so in one
// line naming the address.
func TestServeOnABusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	addr := ln.Addr().String()
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"flag", []string{"serve", "--addr", addr, "--db", "sqlite:" + filepath.Join(dir, "authd.db")}, nil},
		{"variable", []string{"serve"}, map[string]string{"AUTHD_ADDR": addr, "AUTHD_DB": "sqlite:" + filepath.Join(dir, "authd.db")}},
		// The warning about short lifetimes comes only once serve starts.
		{"short lifetimes", []string{"serve", "--addr", addr, "--db", "sqlite:" + filepath.Join(dir, "authd.db"), "--access-ttl", "2s"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, "", env(tt.env), tt.args...)
			want := "authd: cannot listen on --addr " + addr + ": the address is in use (is another authd running?)\n"
			if code == 0 || errOut != want {
				t.Fatalf("exit %d, stderr %q; want %q", code, errOut, want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("serve on a busy address left %v behind", ents)
			}
		})
	}
}

// flagsOf returns the flags a --help lists.
func flagsOf(help string) []string {
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^\s+--([a-z][a-z0-9-]*)`).FindAllStringSubmatch(help, -1) {
		names = append(names, m[1])
	}
	return names
}

// TestHelpListsOwnFlags: each command's --help lists its own flags and the
// store flags, nothing else, each with its variable; it says what the
// command does and how to call it, on stdout, exit 0.
func TestHelpListsOwnFlags(t *testing.T) {
	store := []string{"db", "redis", "redis-prefix"}
	serve := []string{"addr", "issuer", "audience", "jwt-alg", "access-ttl", "refresh-ttl", "refresh-grace",
		"revocation-max-staleness", "session-idle", "session-max", "login-max-failures", "login-window",
		"login-max-failures-ip", "hash-memory-budget", "trusted-proxy", "signup", "cors-origin", "tls-cert", "tls-key", "session-cache",
		"token-cache", "dev", "password-grant", "require-mfa-role", "reauth-window", "webauthn-rp-id", "webauthn-origin", "encryption-key-file", "smtp", "mail-from", "email-verification", "recovery-ttl", "dpop-required", "dpop-nonce", "log-level"}
	tests := []struct {
		args    []string
		summary string
		flags   []string
	}{
		{[]string{"serve", "--help"}, "run the server", append(slices.Clone(serve), store...)},
		{[]string{"migrate", "--help"}, "create or upgrade the schema", store},
		{[]string{"user", "add", "--help"}, "create a user", append([]string{"email", "role", "password-stdin"}, store...)},
		{[]string{"user", "add", "-h"}, "create a user", append([]string{"email", "role", "password-stdin"}, store...)},
		{[]string{"help", "user", "add"}, "create a user", append([]string{"email", "role", "password-stdin"}, store...)},
		{[]string{"user", "passwd", "--help"}, "set a user's password", append([]string{"email", "password-stdin"}, store...)},
		{[]string{"user", "lock", "--help"}, "lock a user out", append([]string{"email"}, store...)},
		{[]string{"user", "unlock", "--help"}, "let a locked user sign in", append([]string{"email"}, store...)},
		{[]string{"user", "mfa", "reset", "--help"}, "remove every second factor", append([]string{"email"}, store...)},
		{[]string{"user", "list", "--help"}, "list the users", append([]string{"query", "json"}, store...)},
		{[]string{"user", "show", "--help"}, "show a user", append([]string{"email", "json"}, store...)},
		{[]string{"user", "delete", "--help"}, "delete a user and everything of theirs", append([]string{"email", "yes"}, store...)},
		{[]string{"user", "role", "add", "--help"}, "grant a user a role; ends all the user's sessions", append([]string{"email", "role"}, store...)},
		{[]string{"help", "user", "role", "add"}, "grant a user a role", append([]string{"email", "role"}, store...)},
		{[]string{"user", "role", "remove", "--help"}, "take a role from a user; ends all the user's sessions", append([]string{"email", "role"}, store...)},
		{[]string{"user", "sessions", "revoke", "--help"}, "end every session and refresh token family", append([]string{"email"}, store...)},
		{[]string{"audit", "--help"}, "read the audit log, newest first", append([]string{"email", "event", "since", "limit", "json"}, store...)},
		{[]string{"keys", "list", "--help"}, "list the signing keys", append([]string{"access-ttl"}, store...)},
		{[]string{"keys", "rotate", "--help"}, "make a new current signing key", append([]string{"alg"}, store...)},
		{[]string{"client", "add", "--help"}, "register a client", append([]string{"id", "secret-stdin", "name", "redirect-uri",
			"post-logout-redirect-uri", "backchannel-logout-uri", "scope", "grant", "first-party", "public"}, store...)},
		{[]string{"client", "list", "--help"}, "list the clients", append([]string{"json"}, store...)},
		{[]string{"client", "show", "--help"}, "show a client", append([]string{"id", "json"}, store...)},
		{[]string{"client", "delete", "--help"}, "delete a client", append([]string{"id"}, store...)},
		{[]string{"upstream", "add", "--help"}, "register another OpenID Connect provider", append([]string{"id", "issuer", "client-id",
			"secret-stdin", "name", "scope", "trust-email", "encryption-key-file"}, store...)},
		{[]string{"help", "upstream", "add"}, "register another OpenID Connect provider", append([]string{"id", "issuer", "client-id",
			"secret-stdin", "name", "scope", "trust-email", "encryption-key-file"}, store...)},
		{[]string{"upstream", "list", "--help"}, "list the upstream providers", append([]string{"json"}, store...)},
		{[]string{"upstream", "show", "--help"}, "show an upstream provider", append([]string{"id", "json"}, store...)},
		{[]string{"upstream", "delete", "--help"}, "delete an upstream provider and every identity linked at it", append([]string{"id"}, store...)},
		{[]string{"bench", "--help"}, "benchmark", []string{"quick", "out", "modes", "concurrency", "phase", "revocations",
			"postgres", "redis", "redis-cluster", "timeout", "soak", "soak-store", "sessions", "users", "authd"}},
		{[]string{"version", "--help"}, "print authd's version", nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCmd(t, "", env(nil), tt.args...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			first, _, _ := strings.Cut(out, "\n")
			if !strings.HasPrefix(first, "authd ") || !strings.Contains(first, tt.summary) {
				t.Errorf("first line %q does not say what the command does (%q)", first, tt.summary)
			}
			if !strings.Contains(out, "\nUsage:\n  authd ") {
				t.Errorf("no usage line:\n%s", out)
			}
			got := flagsOf(out)
			if !slices.Equal(sorted(got), sorted(tt.flags)) {
				t.Errorf("flags %v, want %v:\n%s", got, tt.flags, out)
			}
			for _, f := range tt.flags {
				if !strings.Contains(out, envName(f)+")") {
					t.Errorf("--%s: its variable %s is not shown", f, envName(f))
				}
			}
		})
	}
	// Defaults are shown as they are typed.
	_, out, _ := runCmd(t, "", env(nil), "serve", "--help")
	for _, want := range []string{"default 15m;", "default 336h;", "default sqlite:authd.db;", "default EdDSA;", "default false; env AUTHD_PASSWORD_GRANT"} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestEveryCommandTakesTheStoreFlags: every command works on serve's data
// when given --db, --redis and --redis-prefix.
func TestEveryCommandTakesTheStoreFlags(t *testing.T) {
	redisURL, prefix := redistest.URL(t)
	db := "sqlite:" + filepath.Join(t.TempDir(), "authd.db")
	store := []string{"--db", db, "--redis", redisURL, "--redis-prefix", prefix}
	if code, _, e := runCmd(t, "", env(nil), append([]string{"migrate"}, store...)...); code != 0 {
		t.Fatalf("migrate: %s", e)
	}
	for _, args := range adminCommands {
		if code, _, e := runCmd(t, "correct horse battery staple\n", env(nil), append(slices.Clone(args), store...)...); code != 0 {
			t.Fatalf("%v: %s", args, e)
		}
	}
}

// TestPasswordGrantFlag: --password-grant (AUTHD_PASSWORD_GRANT) is off by
// default and reaches httpapi.Config.PasswordGrant.
func TestPasswordGrantFlag(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want bool
	}{
		{"default", nil, nil, false},
		{"flag", nil, []string{"--password-grant"}, true},
		{"flag=false", nil, []string{"--password-grant=false"}, false},
		{"variable", map[string]string{"AUTHD_PASSWORD_GRANT": "true"}, nil, true},
		{"flag wins over variable", map[string]string{"AUTHD_PASSWORD_GRANT": "true"}, []string{"--password-grant=false"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := serveConfig(t, env(tt.env), tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if c.PasswordGrant != tt.want || httpConfig(c, nil, nil).PasswordGrant != tt.want {
				t.Fatalf("PasswordGrant %v, httpapi's %v; want %v", c.PasswordGrant, httpConfig(c, nil, nil).PasswordGrant, tt.want)
			}
		})
	}
}

// TestPasswordGrantOnlyWhenAsked: a real serve answers the password grant
// with tokens under --password-grant, and with unsupported_grant_type
// without it (RFC 9700).
func TestPasswordGrantOnlyWhenAsked(t *testing.T) {
	const pw = "correct horse battery staple"
	for _, tt := range []struct {
		name   string
		args   []string
		status int
		field  string
	}{
		{"off by default", nil, 400, "error"},
		{"on with --password-grant", []string{"--password-grant"}, 200, "access_token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := "sqlite:" + filepath.Join(t.TempDir(), "authd.db")
			addUser(t, db, "ann@example.com", pw)
			base, _, _ := startServer(t, env(nil), append([]string{"--db", db, "--dev"}, tt.args...)...)
			hc := &http.Client{Timeout: 10 * time.Second}
			res, err := hc.PostForm(base+"/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"ann@example.com"}, "password": {pw}})
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			if res.StatusCode != tt.status || body[tt.field] == nil {
				t.Fatalf("password grant: %d %v; want %d with %s", res.StatusCode, body, tt.status, tt.field)
			}
			if tt.status == 400 && body["error"] != "unsupported_grant_type" {
				t.Fatalf("error %v, want unsupported_grant_type", body["error"])
			}
		})
	}
}
