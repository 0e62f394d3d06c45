// Package authdtest runs the real authd as a child process for the tests
// of verify, the examples and the deploy configurations: it builds
// cmd/authd once per test binary, starts `authd serve` on a free loopback
// port with an SQLite file in a temporary directory, and speaks the parts
// of its HTTP API those tests need (users, the password grant, sign-in,
// session tokens, revocation, logout).
//
// It is for tests inside this module only: it builds authd from source.
// A test package that uses it calls Main from its TestMain, so that the
// binary is built once and removed at the end:
//
//	func TestMain(m *testing.M) { authdtest.Main(m) }
package authdtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// CookieName is authd's session cookie under --dev.
const CookieName = "authd_session"

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

// mainRunning is set by Main: Build refuses to build without it, since
// nothing else would remove the binary.
var mainRunning bool

// Main runs the tests and removes what Build made.
func Main(m *testing.M) {
	mainRunning = true
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// GoBin returns the go command. go test puts the toolchain's own bin
// directory first on PATH, so this is the go that runs the tests.
func GoBin() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

// Build builds a main package of this module (an import path such as
// "github.com/authd/authd/cmd/authd") into a directory shared by the test
// binary and returns the executable's path. Each path is built once.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	if !mainRunning {
		t.Fatalf("authdtest: Build needs authdtest.Main in the package's TestMain, which removes the binary at the end")
		return ""
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "authdtest-")
	})
	if buildErr != nil {
		t.Fatalf("authdtest: %v", buildErr)
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	out := filepath.Join(buildDir, filepath.Base(pkg))
	cmd := exec.Command(GoBin(), "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("authdtest: go build %s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// Binary builds cmd/authd (once) and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildBin = Build(t, "github.com/authd/authd/cmd/authd")
	return buildBin
}

// FreeAddr returns a loopback address with a port that was free a moment
// ago (listen on :0, close).
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("authdtest: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Options configure Start.
type Options struct {
	Audiences []string // --audience (repeatable); default: authd's own
	Alg       string   // --jwt-alg; default: authd's (EdDSA)
	// Args are more serve flags, after Start's own: they win over them
	// ("--password-grant=false" turns the password grant off).
	Args []string
}

// Server is a running authd.
type Server struct {
	URL  string // the issuer: http://127.0.0.1:PORT
	Addr string
	DB   string // sqlite:PATH

	bin  string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
	logs *syncBuffer
}

// Start builds and starts authd serve --dev --password-grant on a free
// port with a fresh SQLite database, waits until it prints "authd
// listening on", and stops it at the end of the test.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	s := &Server{bin: bin, DB: "sqlite:" + filepath.Join(dir, "authd.db"), logs: &syncBuffer{}}
	for attempt := 1; ; attempt++ {
		s.Addr = FreeAddr(t)
		s.URL = "http://" + s.Addr
		s.args = serveArgs(s.Addr, s.DB, opt)
		err := s.start()
		if err == nil {
			break
		}
		if attempt == 3 { // the port may have been taken in between
			t.Fatalf("authdtest: %v\n%s", err, s.logs)
		}
	}
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// serveArgs are the arguments of `authd serve` for Start. The password
// grant is on (--password-grant): PasswordGrant needs it, and authd leaves
// it off unless asked (RFC 9700). Options.Args come last, so
// "--password-grant=false" there turns it off again.
func serveArgs(addr, db string, opt Options) []string {
	// The encryption key goes beside the database, not into the test's
	// working directory (the package's source directory).
	key := filepath.Join(filepath.Dir(strings.TrimPrefix(db, "sqlite:")), "authd.key")
	args := []string{"serve", "--addr", addr, "--db", db, "--dev", "--issuer", "http://" + addr, "--log-level", "warn", "--password-grant",
		"--encryption-key-file", key}
	for _, a := range opt.Audiences {
		args = append(args, "--audience", a)
	}
	if opt.Alg != "" {
		args = append(args, "--jwt-alg", opt.Alg)
	}
	return append(args, opt.Args...)
}

func (s *Server) start() error {
	cmd := exec.Command(s.bin, s.args...)
	ready := newReadyWriter("authd listening on ")
	cmd.Stdout, cmd.Stderr = ready, s.logs
	cmd.Env = cleanEnv()
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.done) }()
	select {
	case <-ready.ready:
		return nil
	case <-s.done:
		return fmt.Errorf("authd exited before it was ready: %v", cmd.ProcessState)
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("authd not ready within 30 s")
	}
}

// readyWriter is a child's stdout: it closes ready at the first line that
// starts with prefix ("authd listening on ") and keeps the rest of that
// line (the address).
type readyWriter struct {
	prefix string
	mu     sync.Mutex
	buf    []byte
	ready  chan struct{}
	rest   string
}

func newReadyWriter(prefix string) *readyWriter {
	return &readyWriter{prefix: prefix, ready: make(chan struct{})}
}

func (w *readyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf == nil && w.rest != "" {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		if rest, ok := strings.CutPrefix(line, w.prefix); ok {
			w.rest, w.buf = strings.TrimSpace(rest), nil
			close(w.ready)
			return len(p), nil
		}
	}
}

func (w *readyWriter) addr() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rest
}

// StartProcess starts bin with args, waits until it prints a line that
// starts with readyPrefix (such as "orders listening on "), and returns the
// rest of that line (the address). The process gets SIGTERM at the end of
// the test. Its stderr is logged with t.Log if the test fails.
func StartProcess(t testing.TB, bin, readyPrefix string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	ready := newReadyWriter(readyPrefix)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = ready, logs
	cmd.Env = cleanEnv()
	if err := cmd.Start(); err != nil {
		t.Fatalf("authdtest: start %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", filepath.Base(bin), logs)
		}
	})
	select {
	case <-ready.ready:
		return ready.addr()
	case <-done:
		t.Fatalf("authdtest: %s exited before it was ready: %s", filepath.Base(bin), logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("authdtest: %s not ready within 30 s", filepath.Base(bin))
	}
	return ""
}

// cleanEnv is the environment without AUTHD_* variables, so that the
// developer's own settings do not leak into the tests.
func cleanEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "AUTHD_") {
			env = append(env, e)
		}
	}
	return env
}

// Stop ends authd (SIGTERM, then SIGKILL after 10 s) and waits for it.
// It may be called more than once.
func (s *Server) Stop(t testing.TB) {
	if s.cmd == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Errorf("authdtest: authd did not stop on SIGTERM within 10 s")
	}
}

// Restart starts authd again on the same address and database.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	var err error
	for range 50 { // the port is released a moment after the process ends
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("authdtest: restart: %v\n%s", err, s.logs)
}

// Logs returns what authd wrote on stderr.
func (s *Server) Logs() string { return s.logs.String() }

// AddUser creates a user with `authd user add` and returns its id.
func (s *Server) AddUser(t testing.TB, email, password string, roles ...string) string {
	t.Helper()
	args := []string{"user", "add", "--db", s.DB, "--email", email, "--password-stdin"}
	for _, r := range roles {
		args = append(args, "--role", r)
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(password + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("authdtest: user add: %v: %s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// AddClient registers a confidential client with `authd client add`,
// with secret, the given grants and scopes (each flag repeated).
func (s *Server) AddClient(t testing.TB, id, secret string, grants, scopes []string) {
	t.Helper()
	args := []string{"client", "add", "--db", s.DB, "--id", id, "--secret-stdin"}
	for _, g := range grants {
		args = append(args, "--grant", g)
	}
	for _, sc := range scopes {
		args = append(args, "--scope", sc)
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(secret + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("authdtest: client add: %v: %s", err, out)
	}
}

// Client is a client for RegisterClient, one `authd client add` flag a
// field.
type Client struct {
	ID     string
	Secret string // a confidential client (--secret-stdin; at least 32 characters); public when empty
	Name   string // shown on the consent page

	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	BackchannelLogoutURI   string
	Scopes, Grants         []string // authd's defaults when empty
	FirstParty             bool     // no consent page
}

// RegisterClient registers c with `authd client add`: an OpenID Connect
// relying party, unlike AddClient's service clients.
func (s *Server) RegisterClient(t testing.TB, c Client) {
	t.Helper()
	cmd := exec.Command(s.bin, clientArgs(s.DB, c)...)
	cmd.Env = cleanEnv()
	if c.Secret != "" {
		cmd.Stdin = strings.NewReader(c.Secret + "\n")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("authdtest: client add %s: %v: %s", c.ID, err, out)
	}
}

// clientArgs are the arguments of `authd client add` for c.
func clientArgs(db string, c Client) []string {
	args := []string{"client", "add", "--db", db, "--id", c.ID}
	if c.Secret != "" {
		args = append(args, "--secret-stdin")
	}
	if c.Name != "" {
		args = append(args, "--name", c.Name)
	}
	for _, u := range c.RedirectURIs {
		args = append(args, "--redirect-uri", u)
	}
	for _, u := range c.PostLogoutRedirectURIs {
		args = append(args, "--post-logout-redirect-uri", u)
	}
	if c.BackchannelLogoutURI != "" {
		args = append(args, "--backchannel-logout-uri", c.BackchannelLogoutURI)
	}
	for _, sc := range c.Scopes {
		args = append(args, "--scope", sc)
	}
	for _, g := range c.Grants {
		args = append(args, "--grant", g)
	}
	if c.FirstParty {
		args = append(args, "--first-party")
	}
	return args
}

// client is the HTTP client of the helpers: no redirects followed.
var client = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// TokenResponse is the answer of /oauth2/token.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
}

// PasswordGrant asks /oauth2/token for tokens, with resource narrowing
// the audience when given.
func (s *Server) PasswordGrant(t testing.TB, email, password string, resources ...string) TokenResponse {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}}
	for _, r := range resources {
		form.Add("resource", r)
	}
	var tr TokenResponse
	s.postForm(t, "/oauth2/token", form, &tr)
	if tr.AccessToken == "" {
		t.Fatal("authdtest: no access token")
	}
	return tr
}

// Revoke revokes a token through /oauth2/revoke (RFC 7009).
func (s *Server) Revoke(t testing.TB, token string) {
	t.Helper()
	s.postForm(t, "/oauth2/revoke", url.Values{"token": {token}}, nil)
}

// RevokeAs revokes a token issued to a client, authenticated as that
// client (client_secret_post): authd lets only the client revoke its own
// tokens (RFC 7009 §2.1).
func (s *Server) RevokeAs(t testing.TB, token, clientID, secret string) {
	t.Helper()
	s.postForm(t, "/oauth2/revoke", url.Values{"token": {token}, "client_id": {clientID}, "client_secret": {secret}}, nil)
}

func (s *Server) postForm(t testing.TB, path string, form url.Values, out any) {
	t.Helper()
	resp, err := client.PostForm(s.URL+path, form)
	if err != nil {
		t.Fatalf("authdtest: POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authdtest: POST %s: %s: %s", path, resp.Status, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("authdtest: POST %s: %v", path, err)
		}
	}
}

// Login signs in with POST /v1/login and returns the session cookie.
func (s *Server) Login(t testing.TB, email, password string) *http.Cookie {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	resp, err := client.Post(s.URL+"/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("authdtest: login: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authdtest: login: %s", resp.Status)
	}
	for _, c := range resp.Cookies() {
		if c.Name == CookieName {
			return c
		}
	}
	t.Fatal("authdtest: login set no session cookie")
	return nil
}

// SessionToken exchanges the session for an access token (POST
// /v1/session/token); its sid is the session.
func (s *Server) SessionToken(t testing.TB, cookie *http.Cookie) string {
	t.Helper()
	var tr TokenResponse
	s.withCookie(t, "/v1/session/token", cookie, http.StatusOK, &tr)
	return tr.AccessToken
}

// Logout ends the session (POST /v1/logout).
func (s *Server) Logout(t testing.TB, cookie *http.Cookie) {
	t.Helper()
	s.withCookie(t, "/v1/logout", cookie, http.StatusNoContent, nil)
}

func (s *Server) withCookie(t testing.TB, path string, cookie *http.Cookie, want int, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+path, nil)
	req.AddCookie(cookie)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("authdtest: POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("authdtest: POST %s: %s: %s", path, resp.Status, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("authdtest: POST %s: %v", path, err)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and readers at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
