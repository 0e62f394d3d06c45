package nginx_test

// A real nginx in front of a tiny upstream, asking the real authd through
// the shipped snippets (authd-http.conf, authd-server.conf,
// authd-protect.conf). scripts/test installs nginx with install.sh before
// the tests; run alone, the test runs install.sh itself when nginx is
// missing.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/authd/authd/examples/authdtest"
	"github.com/authd/authd/internal/testenv"
)

func TestMain(m *testing.M) { authdtest.Main(m) }

const (
	email    = "ann@example.com"
	password = "correct horse battery staple 42"
)

// nginxBinary finds nginx, installing it with install.sh when it is not
// there. Without it the test skips, or fails under CI=true.
func nginxBinary(t *testing.T) string {
	t.Helper()
	find := func() string {
		if p, err := exec.LookPath("nginx"); err == nil {
			return p
		}
		if _, err := os.Stat("/usr/sbin/nginx"); err == nil { // not on a user's PATH
			return "/usr/sbin/nginx"
		}
		return ""
	}
	if p := find(); p != "" {
		return p
	}
	t.Log("nginx not found; running deploy/nginx/install.sh")
	out, err := exec.Command("bash", "install.sh").CombinedOutput()
	if p := find(); err == nil && p != "" {
		return p
	}
	testenv.SkipOrFail(t, "nginx is not installed and install.sh could not install it: %s", strings.TrimSpace(string(out)))
	return ""
}

// upstream is the protected app: it echoes what nginx passed it.
type upstream struct {
	*httptest.Server
	hits atomic.Int64
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "uri": r.RequestURI, "body": string(body),
			"user": r.Header.Values("X-Auth-User"), "email": r.Header.Values("X-Auth-Email"),
			"roles": r.Header.Values("X-Auth-Roles"),
		})
	}))
	t.Cleanup(u.Close)
	return u
}

// startNginx renders testdata/nginx.conf.tmpl into a temporary directory
// and runs nginx in the foreground on a free loopback port.
func startNginx(t *testing.T, bin, authdAddr, appAddr string) string {
	t.Helper()
	dir := t.TempDir()
	snippets, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	listen := authdtest.FreeAddr(t)
	tmpl := template.Must(template.ParseFiles("testdata/nginx.conf.tmpl"))
	var conf bytes.Buffer
	if err := tmpl.Execute(&conf, map[string]string{
		"Dir": dir, "Snippets": snippets, "Authd": authdAddr, "App": appAddr, "Listen": listen,
	}); err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, conf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log")}
	if out, err := exec.Command(bin, append(args, "-t")...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("nginx: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT) // graceful stop
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error.log:\n%s", log)
		}
	})
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", listen); err == nil {
			c.Close()
			return "http://" + listen
		}
		select {
		case <-done:
			t.Fatalf("nginx exited: %s", stderr.String())
		default:
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("nginx not listening within 10 s")
		}
	}
}

var client = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

type reply struct {
	status int
	header http.Header
	body   []byte
	echo   struct {
		Method, URI, Body string
		User, Email       []string
		Roles             []string
	}
}

func do(t *testing.T, method, url string, body string, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	r := reply{status: resp.StatusCode, header: resp.Header}
	r.body, _ = io.ReadAll(resp.Body)
	_ = json.Unmarshal(r.body, &r.echo)
	return r
}

func TestForwardAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nginx and authd")
	}
	bin := nginxBinary(t)
	authd := authdtest.Start(t, authdtest.Options{Args: []string{"--trusted-proxy", "127.0.0.1/32"}})
	uid := authd.AddUser(t, email, password, "staff", "admin")
	app := newUpstream(t)
	base := startNginx(t, bin, authd.Addr, app.Listener.Addr().String())
	const html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

	// Sign in through nginx: authd's routes are served on the same host.
	// The Origin is nginx's own, so authd's cross-origin check passes only
	// if nginx keeps the browser's Host.
	login := do(t, "POST", base+"/v1/login", `{"email":"`+email+`","password":"`+password+`"}`,
		"Content-Type", "application/json", "Origin", base)
	if login.status != http.StatusOK {
		t.Fatalf("POST /v1/login through nginx: %d %s", login.status, login.body)
	}
	var cookie string
	for _, c := range (&http.Response{Header: login.header}).Cookies() {
		if c.Name == authdtest.CookieName {
			cookie = c.Name + "=" + c.Value
		}
	}
	if cookie == "" {
		t.Fatal("no session cookie")
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	tok := do(t, "POST", base+"/oauth2/token", url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}}.Encode(),
		"Content-Type", "application/x-www-form-urlencoded")
	if err := json.Unmarshal(tok.body, &tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("POST /oauth2/token through nginx: %d %s", tok.status, tok.body)
	}
	bearer := "Bearer " + tr.AccessToken

	t.Run("authd's pages and keys pass through", func(t *testing.T) {
		for _, p := range []string{"/login", "/.well-known/openid-configuration", "/.well-known/jwks.json"} {
			if r := do(t, "GET", base+p, "", "Accept", html); r.status != http.StatusOK {
				t.Errorf("GET %s: %d", p, r.status)
			}
		}
	})

	refused := []struct {
		name     string
		headers  []string
		status   int
		location string // for 302
		bearer   string // WWW-Authenticate for 401
	}{
		{"API client without credentials", []string{"Accept", "application/json"}, 401, "", "Bearer"},
		{"client without Accept", nil, 401, "", "Bearer"},
		{"browser without a session", []string{"Accept", html}, 302, "/login?return=/orders?page=2", ""},
		{"unknown session cookie", []string{"Accept", "application/json", "Cookie", authdtest.CookieName + "=bm90LWEtc2Vzc2lvbg"}, 401, "", "Bearer"},
		{"bad bearer token", []string{"Authorization", "Bearer abc.def.ghi"}, 401, "", `Bearer error="invalid_token"`},
		{"spoofed X-Auth-User alone", []string{"X-Auth-User", uid, "X-Auth-Roles", "admin"}, 401, "", "Bearer"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			before := app.hits.Load()
			r := do(t, "GET", base+"/orders?page=2", "", tc.headers...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 302 {
				loc, err := url.Parse(r.header.Get("Location"))
				if err != nil || loc.RequestURI() != tc.location {
					t.Fatalf("Location %q, want %q", r.header.Get("Location"), tc.location)
				}
				if got := loc.Query().Get("return"); got != "/orders?page=2" {
					t.Fatalf("return %q", got)
				}
			}
			if tc.status == 401 {
				if got := r.header.Get("WWW-Authenticate"); got != tc.bearer {
					t.Fatalf("WWW-Authenticate %q, want %q", got, tc.bearer)
				}
				if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
					t.Fatalf("Content-Type %q", ct)
				}
			}
			if n := app.hits.Load() - before; n != 0 {
				t.Fatalf("the upstream was reached %d times", n)
			}
		})
	}

	accepted := []struct {
		name    string
		method  string
		headers []string
	}{
		{"cookie", "GET", []string{"Cookie", cookie, "Accept", html}},
		{"bearer", "GET", []string{"Authorization", bearer}},
		{"cookie, POST with a body", "POST", []string{"Cookie", cookie, "Content-Type", "text/plain"}},
		{"bearer, spoofed X-Auth-* replaced", "GET", []string{"Authorization", bearer, "X-Auth-User", "mallory", "x-auth-roles", "root", "X-Auth-Email", "m@evil.example"}},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, base+"/orders?page=2", "hello", tc.headers...)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			e := r.echo
			if e.Method != tc.method || e.URI != "/orders?page=2" {
				t.Fatalf("upstream saw %s %s", e.Method, e.URI)
			}
			if strings.Join(e.User, "|") != uid || strings.Join(e.Email, "|") != email || strings.Join(e.Roles, "|") != "staff,admin" {
				t.Fatalf("upstream saw X-Auth-User %q, X-Auth-Email %q, X-Auth-Roles %q; want %q, %q, %q",
					e.User, e.Email, e.Roles, uid, email, "staff,admin")
			}
			if tc.method == "POST" && e.Body != "hello" {
				t.Fatalf("upstream got the body %q", e.Body)
			}
		})
	}

	t.Run("user without roles: no X-Auth-Roles, spoofed one dropped", func(t *testing.T) {
		bobID := authd.AddUser(t, "bob@example.com", password)
		tr := authd.PasswordGrant(t, "bob@example.com", password)
		r := do(t, "GET", base+"/orders", "", "Authorization", "Bearer "+tr.AccessToken, "X-Auth-Roles", "admin")
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if strings.Join(r.echo.User, "|") != bobID || len(r.echo.Roles) != 0 {
			t.Fatalf("upstream saw X-Auth-User %q, X-Auth-Roles %q; want %q and no roles", r.echo.User, r.echo.Roles, bobID)
		}
	})

	t.Run("refused right after logout", func(t *testing.T) {
		if r := do(t, "POST", base+"/v1/logout", "", "Cookie", cookie); r.status != http.StatusNoContent {
			t.Fatalf("POST /v1/logout: %d %s", r.status, r.body)
		}
		if r := do(t, "GET", base+"/orders", "", "Cookie", cookie, "Accept", html); r.status != http.StatusFound {
			t.Fatalf("browser after logout: %d, want 302", r.status)
		}
		if r := do(t, "GET", base+"/orders", "", "Cookie", cookie); r.status != http.StatusUnauthorized {
			t.Fatalf("API client after logout: %d, want 401", r.status)
		}
	})

	t.Run("refused right after revocation", func(t *testing.T) {
		if r := do(t, "POST", base+"/oauth2/revoke", url.Values{"token": {tr.AccessToken}}.Encode(),
			"Content-Type", "application/x-www-form-urlencoded"); r.status != http.StatusOK {
			t.Fatalf("POST /oauth2/revoke: %d %s", r.status, r.body)
		}
		r := do(t, "GET", base+"/orders", "", "Authorization", bearer)
		if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
			t.Fatalf("after revocation: %d %q", r.status, r.header.Get("WWW-Authenticate"))
		}
	})

	t.Run("authd down: 503, never the upstream", func(t *testing.T) {
		authd.Stop(t)
		before := app.hits.Load()
		r := do(t, "GET", base+"/orders", "", "Authorization", bearer)
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Fatalf("with authd down: %d %q %s", r.status, r.header.Get("Retry-After"), r.body)
		}
		if app.hits.Load() != before {
			t.Fatal("the upstream was reached with authd down")
		}
	})
}

// TestSiteExample: site.conf.example, with its paths pointed at the test's
// files, passes nginx -t.
func TestSiteExample(t *testing.T) {
	bin := nginxBinary(t)
	dir := t.TempDir()
	snippets, _ := filepath.Abs(".")
	cert, key := selfSigned(t, dir)
	site, err := os.ReadFile("site.conf.example")
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer(
		"/etc/nginx/authd/", snippets+"/",
		"/etc/letsencrypt/live/app.example.com/fullchain.pem", cert,
		"/etc/letsencrypt/live/app.example.com/privkey.pem", key,
	).Replace(string(site))
	if err := os.WriteFile(filepath.Join(dir, "site.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	main := "pid " + dir + "/nginx.pid;\nerror_log " + dir + "/error.log;\nevents {}\nhttp {\n" +
		"  access_log off;\n  client_body_temp_path " + dir + "/cb;\n  proxy_temp_path " + dir + "/p;\n" +
		"  fastcgi_temp_path " + dir + "/f;\n  uwsgi_temp_path " + dir + "/u;\n  scgi_temp_path " + dir + "/s;\n" +
		"  include " + dir + "/site.conf;\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-t", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log")).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t site.conf.example: %v\n%s", err, out)
	}
}

// selfSigned writes a throwaway certificate and key for app.example.com.
func selfSigned(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "app.example.com"},
		DNSNames: []string{"app.example.com"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := x509.MarshalPKCS8PrivateKey(priv)
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600)
	return certPath, keyPath
}
