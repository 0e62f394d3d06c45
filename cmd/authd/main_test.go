package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// runCmd runs one short command to completion.
func runCmd(t *testing.T, stdin string, getenv func(string) string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, getenv, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// addUser creates (or upgrades) the schema of db, as an operator runs
// authd migrate first, then adds a user with `authd user add` and returns
// its id.
func addUser(t *testing.T, db, email, pw string) string {
	t.Helper()
	if code, _, e := runCmd(t, "", env(nil), "migrate", "--db", db); code != 0 {
		t.Fatalf("migrate: %s", e)
	}
	code, out, e := runCmd(t, pw+"\n", env(nil), "user", "add", "--db", db, "--email", email, "--password-stdin")
	if code != 0 {
		t.Fatalf("user add: %s", e)
	}
	return strings.TrimSpace(out)
}

// startServer runs `authd serve` in-process on a free port and returns its
// base URL and a stop function that returns serve's exit code.
func startServer(t *testing.T, getenv func(string) string, args ...string) (string, func() int, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	// The encryption key goes into a directory of the test's, never the
	// package's source directory (authd's default is the working one).
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--encryption-key-file", filepath.Join(t.TempDir(), "authd.key")}, args...)
	go func() {
		done <- run(ctx, args, getenv, strings.NewReader(""), pw, stderr)
		pw.Close()
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "authd listening on "); ok {
				addr <- a
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatalf("serve exited before listening: %s", stderr.String())
		}
		stopped := false
		var code int
		stop := func() int {
			if !stopped {
				cancel()
				code = <-done
				stopped = true
			}
			return code
		}
		t.Cleanup(func() { stop() })
		return "http://" + a, stop, stderr
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("serve did not start: %s", stderr.String())
	}
	return "", nil, nil
}

func TestEndToEnd(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "authd.db")
	const pw = "correct horse battery staple"
	if code, _, e := runCmd(t, "", env(nil), "migrate", "--db", db); code != 0 {
		t.Fatalf("migrate: %s", e)
	}
	code, out, errOut := runCmd(t, pw+"\n", env(nil), "user", "add", "--db", db, "--email", "Admin@Example.com", "--role", "admin", "--password-stdin")
	if code != 0 {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	if id == "" || strings.ContainsAny(id, " \n") {
		t.Fatalf("user add printed %q, want the id alone", out)
	}

	base, stop, logs := startServer(t, env(map[string]string{"AUTHD_DB": db, "AUTHD_DEV": "true"}))
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	post := func(path, body string) *http.Response {
		res, err := c.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := post("/v1/register", `{"email":"ann@example.com","password":"`+pw+`"}`); res.StatusCode != 201 {
		t.Fatalf("register %d", res.StatusCode)
	}
	res := post("/v1/login", `{"email":"admin@example.com","password":"`+pw+`"}`)
	if res.StatusCode != 200 {
		t.Fatalf("login %d", res.StatusCode)
	}
	if sc := res.Header.Get("Set-Cookie"); !strings.HasPrefix(sc, "authd_session=") {
		t.Fatalf("dev cookie %q", sc)
	}
	me, err := c.Get(base + "/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.NewDecoder(me.Body).Decode(&m)
	me.Body.Close()
	if m["id"] != id || m["email"] != "admin@example.com" || m["auth"] != "session" {
		t.Fatalf("me: %v", m)
	}
	if roles, _ := m["roles"].([]any); len(roles) != 1 || roles[0] != "admin" {
		t.Fatalf("roles: %v", m["roles"])
	}
	if res := post("/v1/logout", ``); res.StatusCode != 204 {
		t.Fatalf("logout %d", res.StatusCode)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exit %d: %s", code, logs.String())
	}
	if strings.Contains(logs.String(), pw) {
		t.Fatal("logs contain the password")
	}

	// The data outlives the process: lock, then login fails.
	if code, _, e := runCmd(t, "", env(nil), "user", "lock", "--db", db, "--email", "admin@example.com"); code != 0 {
		t.Fatalf("lock: %s", e)
	}
	if code, _, e := runCmd(t, "", env(nil), "migrate", "--db", db); code != 0 {
		t.Fatalf("migrate: %s", e)
	}
}

// TestBadInvocations: a bad command, flag, variable or value is one line
// on stderr, "authd: " then lower case (as Go errors are), naming what is
// wrong and what a valid value looks like; never a usage dump.
func TestBadInvocations(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "a.db")
	if code, _, e := runCmd(t, "", env(nil), "migrate", "--db", db); code != 0 {
		t.Fatalf("migrate: %s", e)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"unknown command", nil, []string{"frobnicate"}, `unknown command "frobnicate"; run 'authd --help' for the list`},
		{"unknown flag", nil, []string{"serve", "--nope"}, "unknown flag --nope for authd serve; run 'authd serve --help'"},
		{"unknown flag of a subcommand", nil, []string{"user", "add", "--jwt-alg", "ES256"}, "unknown flag --jwt-alg for authd user add"},
		{"flag without its value", nil, []string{"serve", "--addr"}, "--addr needs a value"},
		{"bad bool from env", map[string]string{"AUTHD_DEV": "maybe"}, []string{"serve"}, `AUTHD_DEV="maybe": want true or false`},
		{"bad bool", nil, []string{"serve", "--dev=maybe"}, `--dev "maybe": want true or false`},
		{"bad duration", nil, []string{"serve", "--session-idle", "soon"}, `--session-idle "soon": want a duration like 15m or 2h30m`},
		{"bad duration from env", map[string]string{"AUTHD_SESSION_IDLE": "soon"}, []string{"serve"}, `AUTHD_SESSION_IDLE="soon": want a duration like 15m or 2h30m`},
		{"duration without unit", nil, []string{"serve", "--access-ttl", "15"}, `--access-ttl "15": want a duration like 15m or 2h30m`},
		{"bad int", nil, []string{"serve", "--login-max-failures", "ten"}, `--login-max-failures "ten": want a whole number like 10`},
		{"bad int from env", map[string]string{"AUTHD_LOGIN_MAX_FAILURES_IP": "1e3"}, []string{"serve"}, `AUTHD_LOGIN_MAX_FAILURES_IP="1e3": want a whole number like 10`},
		{"bad alg", nil, []string{"serve", "--jwt-alg", "none"}, `--jwt-alg "none": want EdDSA, ES256, RS256 or HS256`},
		{"bad alg from env", map[string]string{"AUTHD_JWT_ALG": "HS512"}, []string{"serve"}, `AUTHD_JWT_ALG="HS512": want EdDSA, ES256, RS256 or HS256`},
		{"bad log level", nil, []string{"serve", "--log-level", "loud"}, `--log-level "loud": want debug, info, warn or error`},
		{"bad key alg", nil, []string{"keys", "rotate", "--db", db, "--alg", "none"}, `--alg "none": want EdDSA, ES256, RS256 or HS256`},
		{"bad soak store", nil, []string{"bench", "--soak", "1s", "--soak-store", "mysql"}, `--soak-store "mysql": want sqlite, postgres, redis or redis-cluster`},
		{"bad concurrency", nil, []string{"bench", "--concurrency", "0"}, "--concurrency 0: want 1 to 4096"},
		{"bad db scheme", nil, []string{"serve", "--db", "mysql://x"}, `--db "mysql://x": want sqlite:PATH or postgres://user@host/db`},
		{"bad issuer", nil, []string{"serve", "--issuer", "not a url"}, `--issuer "not a url": want an http(s) URL`},
		{"bad proxy", nil, []string{"serve", "--trusted-proxy", "10.0.0.0/99"}, `--trusted-proxy "10.0.0.0/99": want a CIDR like 10.0.0.0/8`},
		{"bad origin", nil, []string{"serve", "--cors-origin", "*"}, `--cors-origin "*": want an origin`},
		{"verification required without mail", nil, []string{"serve", "--db", db, "--email-verification", "required"}, "--email-verification required needs a way to send mail: pass --smtp"},
		{"bad verification mode", nil, []string{"serve", "--email-verification", "sometimes"}, `--email-verification "sometimes": want off, optional or required`},
		{"recovery ttl too long", nil, []string{"serve", "--recovery-ttl", "200h"}, "--recovery-ttl 200h: want 1s to 168h"},
		{"bad smtp scheme", nil, []string{"serve", "--db", db, "--smtp", "http://mail.example.com"}, "--smtp: the SMTP URL http://mail.example.com: the scheme"},
		{"smtp password not shown", nil, []string{"serve", "--db", db, "--smtp", "ftp://u:hunter2@mail.example.com"}, "--smtp: the SMTP URL ftp://u:xxxxx@"},
		{"bad mail from", nil, []string{"serve", "--db", db, "--smtp", "smtp://127.0.0.1:2525", "--mail-from", "not an address"}, `--mail-from "not an address" is not one mail address`},
		{"tls half", nil, []string{"serve", "--tls-cert", "x.pem"}, "--tls-cert and --tls-key go together"},
		{"access ttl too long", nil, []string{"serve", "--access-ttl", "25h"}, "--access-ttl 25h: want 1s to 24h"},
		{"unopenable db", nil, []string{"serve", "--db", "sqlite:" + filepath.Join(dir, "no", "such", "dir", "a.db")}, "cannot open --db"},
		{"unlistenable address", nil, []string{"serve", "--db", db, "--addr", "256.0.0.1:1"}, "cannot listen on --addr 256.0.0.1:1"},
		{"bad email before the password prompt", nil, []string{"user", "add", "--db", db, "--email", "x"}, "email"},
		{"user without email", nil, []string{"user", "add", "--db", db}, "user add: --email is required"},
		{"weak password", nil, []string{"user", "add", "--db", db, "--email", "a@example.com", "--password-stdin"}, "password"},
		{"stray argument", nil, []string{"migrate", "extra"}, `unexpected argument "extra" for authd migrate`},
		{"missing subcommand", nil, []string{"user"}, "user: missing subcommand: want add, passwd, lock, unlock, list, show, delete, role add, role remove, sessions revoke or mfa reset"},
		{"missing second word", nil, []string{"user", "role"}, "user role: missing subcommand: want add or remove"},
		{"unknown subcommand", nil, []string{"keys", "delete"}, `keys: unknown subcommand "delete": want list or rotate`},
		{"upstream without subcommand", nil, []string{"upstream"}, "upstream: missing subcommand: want add, list, show or delete"},
		{"upstream unknown subcommand", nil, []string{"upstream", "rotate"}, `upstream: unknown subcommand "rotate": want add, list, show or delete`},
		{"upstream add without --issuer", nil, []string{"upstream", "add", "--db", db, "--id", "corp", "--client-id", "c"}, "upstream add: --issuer is required"},
		{"upstream add with a bad issuer", nil, []string{"upstream", "add", "--db", db, "--id", "corp", "--client-id", "c", "--issuer", "http://id.example.com"}, "--issuer: the issuer must be https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, "short\n", env(tt.env), tt.args...)
			if code == 0 {
				t.Fatalf("exit 0; stdout %q", out)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "authd: ") || !strings.HasSuffix(errOut, "\n") {
				t.Fatalf("stderr is not one 'authd: ' line: %q", errOut)
			}
			msg := strings.TrimPrefix(lines[0], "authd: ")
			if !strings.Contains(msg, tt.want) {
				t.Fatalf("stderr %q does not say %q", lines[0], tt.want)
			}
			if r, _ := utf8.DecodeRuneInString(msg); unicode.IsUpper(r) && !strings.HasPrefix(msg, "AUTHD_") {
				t.Errorf("message starts with a capital: %q", msg)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"serve", "--help"}, {"migrate", "-h"}, {"user", "--help"}, {"user", "add", "--help"},
		{"user", "passwd", "--help"}, {"user", "lock", "--help"}, {"version"},
		{"user", "list", "--help"}, {"user", "show", "--help"}, {"user", "delete", "--help"}, {"user", "role", "--help"},
		{"user", "role", "add", "--help"}, {"user", "role", "remove", "--help"}, {"user", "sessions", "revoke", "--help"},
		{"help", "user", "role", "add"}, {"audit", "--help"}, {"help", "audit"},
		{"keys", "--help"}, {"keys", "rotate", "--help"}, {"client", "--help"}, {"client", "add", "--help"},
		{"client", "list", "--help"}, {"client", "show", "--help"}, {"client", "delete", "--help"},
		{"upstream", "--help"}, {"upstream", "add", "--help"}, {"upstream", "list", "--help"},
		{"upstream", "show", "--help"}, {"upstream", "delete", "--help"}, {"help", "upstream", "delete"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, errOut := runCmd(t, "", env(nil), args...)
			if code != 0 || out == "" || errOut != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
		})
	}
	_, out, _ := runCmd(t, "", env(nil), "serve", "--help")
	for _, f := range []string{"-session-idle", "-login-max-failures-ip", "-trusted-proxy", "-dev", "AUTHD_"} {
		if !strings.Contains(out, f) {
			t.Errorf("serve --help lacks %s", f)
		}
	}
}

func TestFlagWinsOverEnv(t *testing.T) {
	c := &Config{}
	f := newFlags(serveCmd)
	serveFlags(f, c)
	e := env(map[string]string{"AUTHD_SESSION_IDLE": "2h", "AUTHD_ADDR": "127.0.0.1:1", "AUTHD_AUDIENCE": "a, b", "AUTHD_CORS_ORIGIN": "https://x.example"})
	if err := f.parse([]string{"--addr", "127.0.0.1:2", "--cors-origin", "https://y.example"}, e, io.Discard); err != nil {
		t.Fatal(err)
	}
	if c.SessionIdle != 2*time.Hour || c.Addr != "127.0.0.1:2" {
		t.Fatalf("idle %v addr %v", c.SessionIdle, c.Addr)
	}
	if strings.Join(c.Audiences.vals, "|") != "a|b" || strings.Join(c.CORSOrigins.vals, "|") != "https://y.example" {
		t.Fatalf("audiences %v origins %v", c.Audiences.vals, c.CORSOrigins.vals)
	}
}

func TestKeysAndClients(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "authd.db")
	base, _, _ := startServer(t, env(nil), "--db", db, "--dev")
	jwks := func() string {
		res, err := http.Get(base + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	code, out, errOut := runCmd(t, "", env(nil), "keys", "list", "--db", db)
	if code != 0 || !strings.Contains(out, "EdDSA") || !strings.Contains(out, "current") {
		t.Fatalf("keys list: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runCmd(t, "", env(nil), "keys", "rotate", "--alg", "none", "--db", db); code == 0 || !strings.Contains(errOut, "--alg") {
		t.Fatalf("bad alg accepted: %q", errOut)
	}
	code, out, errOut = runCmd(t, "", env(nil), "keys", "rotate", "--alg", "ES256", "--db", db)
	if code != 0 {
		t.Fatalf("rotate: %s", errOut)
	}
	kid := strings.Fields(out)[3]
	// The running server publishes (and signs with) the new key within 5 s.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(jwks(), kid) {
		if time.Now().After(deadline) {
			t.Fatalf("new kid %s not published within 5 s: %s", kid, jwks())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if j := jwks(); !strings.Contains(j, "EdDSA") || !strings.Contains(j, "ES256") {
		t.Fatalf("old key not kept: %s", j)
	}
	_, out, _ = runCmd(t, "", env(nil), "keys", "list", "--db", db)
	if !strings.Contains(out, "retired") {
		t.Fatalf("keys list after rotate: %s", out)
	}

	code, out, errOut = runCmd(t, "", env(nil), "client", "add", "--id", "orders", "--db", db)
	if code != 0 || !strings.Contains(out, "client_id=orders") || !strings.Contains(out, "client_secret=") {
		t.Fatalf("client add: %d %q %q", code, out, errOut)
	}
	// The running server lets the resource server introspect with its
	// generated secret; a public client's id authenticates with no secret;
	// a deleted client no longer authenticates.
	_, ordersSecret, _ := strings.Cut(strings.TrimSpace(out), "client_secret=")
	if code, _, errOut := runCmd(t, "", env(nil), "client", "add", "--id", "web", "--redirect-uri", "https://app.example.com/cb", "--db", db); code != 0 {
		t.Fatalf("client add web: %s", errOut)
	}
	introspect := func(id, secret string) int {
		req, _ := http.NewRequest("POST", base+"/oauth2/introspect", strings.NewReader("token=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, c := range []struct {
		id, secret string
		want       int
	}{{"orders", ordersSecret, 200}, {"orders", ordersSecret + "x", 401}, {"web", "", 401}, {"web", ordersSecret, 401}} {
		if got := introspect(c.id, c.secret); got != c.want {
			t.Errorf("introspect as %s: %d, want %d", c.id, got, c.want)
		}
	}
	if code, _, errOut := runCmd(t, "", env(nil), "client", "delete", "--id", "orders", "--db", db); code != 0 {
		t.Fatalf("client delete: %s", errOut)
	}
	if got := introspect("orders", ordersSecret); got != 401 {
		t.Errorf("introspect as a deleted client: %d, want 401", got)
	}
	if code, _, errOut := runCmd(t, "", env(nil), "client", "add", "--id", "orders", "--db", db); code != 0 {
		t.Fatalf("client add after delete: %s", errOut)
	}
	if code, _, errOut := runCmd(t, "", env(nil), "client", "add", "--id", "orders", "--db", db); code == 0 || !strings.Contains(errOut, "exists") {
		t.Fatalf("duplicate client: %q", errOut)
	}
	if code, _, errOut := runCmd(t, "short\n", env(nil), "client", "add", "--id", "x", "--secret-stdin", "--db", db); code == 0 || !strings.Contains(errOut, "secret") {
		t.Fatalf("short secret: %q", errOut)
	}
}
