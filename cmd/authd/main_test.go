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

// startServer runs `authd serve` in-process on a free port and returns its
// base URL and a stop function that returns serve's exit code.
func startServer(t *testing.T, getenv func(string) string, args ...string) (string, func() int, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), getenv, strings.NewReader(""), pw, stderr)
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

func TestBadInvocations(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"unknown command", nil, []string{"frobnicate"}, "unknown command"},
		{"unknown flag", nil, []string{"serve", "--nope"}, "flag provided but not defined"},
		{"bad duration", nil, []string{"serve", "--session-idle", "soon"}, "session-idle"},
		{"bad duration from env", map[string]string{"AUTHD_SESSION_IDLE": "soon"}, []string{"serve"}, "AUTHD_SESSION_IDLE"},
		{"bad alg", nil, []string{"serve", "--jwt-alg", "none"}, "--jwt-alg"},
		{"bad db scheme", nil, []string{"serve", "--db", "mysql://x"}, "--db"},
		{"bad issuer", nil, []string{"serve", "--issuer", "not a url"}, "--issuer"},
		{"bad proxy", nil, []string{"serve", "--trusted-proxy", "10.0.0.0/99"}, "--trusted-proxy"},
		{"bad origin", nil, []string{"serve", "--cors-origin", "*"}, "--cors-origin"},
		{"tls half", nil, []string{"serve", "--tls-cert", "x.pem"}, "--tls-key"},
		{"unopenable db", nil, []string{"serve", "--db", "sqlite:" + filepath.Join(dir, "no", "such", "dir", "a.db")}, "--db"},
		{"busy address", nil, []string{"serve", "--db", "sqlite:" + filepath.Join(dir, "a.db"), "--addr", "256.0.0.1:1"}, "--addr"},
		{"bad email before the password prompt", nil, []string{"user", "add", "--db", "sqlite:" + filepath.Join(dir, "a.db"), "--email", "x"}, "email"},
		{"user without email", nil, []string{"user", "add", "--db", "sqlite:" + filepath.Join(dir, "a.db")}, "--email"},
		{"weak password", nil, []string{"user", "add", "--db", "sqlite:" + filepath.Join(dir, "a.db"), "--email", "a@example.com", "--password-stdin"}, "password"},
		{"stray argument", nil, []string{"migrate", "extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, "short\n", env(tt.env), tt.args...)
			if code == 0 {
				t.Fatalf("exit 0; stdout %q", out)
			}
			lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "authd: ") {
				t.Fatalf("stderr is not one 'authd: ' line: %q", errOut)
			}
			if !strings.Contains(lines[0], tt.want) {
				t.Fatalf("stderr %q does not name %q", lines[0], tt.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"serve", "--help"}, {"migrate", "-h"}, {"user", "--help"}, {"user", "add", "--help"},
		{"user", "passwd", "--help"}, {"user", "lock", "--help"}, {"version"},
		{"keys", "--help"}, {"keys", "rotate", "--help"}, {"client", "--help"}, {"client", "add", "--help"},
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
	fs := flagSet("serve")
	serveFlags(fs, c)
	e := env(map[string]string{"AUTHD_SESSION_IDLE": "2h", "AUTHD_ADDR": "127.0.0.1:1", "AUTHD_AUDIENCE": "a, b", "AUTHD_CORS_ORIGIN": "https://x.example"})
	if err := parse(fs, []string{"--addr", "127.0.0.1:2", "--cors-origin", "https://y.example"}, e, io.Discard, ""); err != nil {
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
	if code, _, errOut := runCmd(t, "", env(nil), "client", "add", "--id", "orders", "--db", db); code == 0 || !strings.Contains(errOut, "exists") {
		t.Fatalf("duplicate client: %q", errOut)
	}
	if code, _, errOut := runCmd(t, "short\n", env(nil), "client", "add", "--id", "x", "--secret-stdin", "--db", db); code == 0 || !strings.Contains(errOut, "secret") {
		t.Fatalf("short secret: %q", errOut)
	}
}
