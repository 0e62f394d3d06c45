package examples_test

// Sign-in to a Node app with authd as its OpenID Connect provider:
// examples/node-rp/rp.mjs is a relying party built on openid-client
// (v6, pinned in its package-lock.json, used unchanged), driven over
// stdin and stdout; this test is the browser. For a confidential client
// (client_secret_post, then client_secret_basic) and a public one,
// openid-client discovers authd, builds the authorization
// request (PKCE S256, state, nonce), and after the browser's sign-in and
// consent redeems the code, validates the ID token, calls userinfo,
// refreshes, revokes the refresh token and sees it refused.
//
// It needs node and npm, and `npm ci` in examples/node-rp (skipped when
// node_modules already holds what the lock names). When either is
// missing or npm ci fails, the test skips, or fails under CI=true
// (internal/testenv). It skips under -short.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/examples/authdtest"
	"github.com/authd/authd/internal/testenv"
)

// nodeRPDir is the Node relying party, relative to this package.
const nodeRPDir = "node-rp"

func TestNodeOpenIDClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs authd, installs and runs openid-client under Node")
	}
	nodeModules(t)

	authd := authdtest.Start(t, authdtest.Options{})
	uid := authd.AddUser(t, email, password)
	// Nothing listens at the redirect URI: the test reads the Location
	// header that sends the browser there.
	redirectURI := "http://" + authdtest.FreeAddr(t) + "/callback"
	clients := []authdtest.Client{
		{ID: "node-confidential", Secret: "the Node app's secret, 32 characters or more", Name: "Node app", RedirectURIs: []string{redirectURI}},
		{ID: "node-public", Name: "Node public app", RedirectURIs: []string{redirectURI}},
	}
	for _, c := range clients {
		authd.RegisterClient(t, c) // not first-party: the consent page is part of the flow
	}
	for _, tc := range []struct {
		name    string
		c       authdtest.Client
		auth    string // openid-client's client authentication, when not its default
		consent bool   // the consent page is shown: the client's first sign-in
	}{
		{"confidential client_secret_post", clients[0], "", true}, // openid-client's default
		// Consent was given above and is remembered: no consent page.
		{"confidential client_secret_basic", clients[0], "client_secret_basic", false},
		{"public", clients[1], "", true},
	} {
		c := tc.c
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			rp := startNodeRP(ctx, t)
			rp.send(map[string]string{"issuer": authd.URL, "client_id": c.ID, "client_secret": c.Secret, "client_auth": tc.auth, "redirect_uri": redirectURI})
			var start struct {
				AuthorizationURL string `json:"authorization_url"`
			}
			rp.receive(&start)
			if !strings.HasPrefix(start.AuthorizationURL, authd.URL+"/oauth2/authorize?") {
				t.Fatalf("openid-client's authorization URL is %s, want authd's authorization endpoint", start.AuthorizationURL)
			}

			b := newHTTPBrowser(ctx, t, authd.URL)
			callback := b.signIn(start.AuthorizationURL, email, password, tc.consent)
			cb, err := url.Parse(callback)
			if err != nil || !strings.HasPrefix(callback, redirectURI+"?") || cb.Query().Get("code") == "" ||
				cb.Query().Get("state") == "" || cb.Query().Get("iss") != authd.URL {
				t.Fatalf("authd sent the browser to %s; want %s with code, state and iss=%s", callback, redirectURI, authd.URL)
			}
			rp.send(map[string]string{"callback": callback})

			var got nodeRPResult
			rp.receive(&got)
			rp.wait()
			got.check(t, authd.URL, c.ID, uid, b.sessionID())
		})
	}
}

// nodeRPResult is what rp.mjs prints after the callback.
type nodeRPResult struct {
	TokenType   string `json:"token_type"`
	Scope       string `json:"scope"`
	HasIDToken  bool   `json:"has_id_token"`
	AccessToken string `json:"access_token"`
	Claims      struct {
		Iss      string   `json:"iss"`
		Sub      string   `json:"sub"`
		Aud      any      `json:"aud"` // a string or an array of strings
		Email    string   `json:"email"`
		Verified *bool    `json:"email_verified"`
		SID      string   `json:"sid"`
		AuthTime int64    `json:"auth_time"`
		AMR      []string `json:"amr"`
		ACR      string   `json:"acr"`
		Nonce    string   `json:"nonce"`
		AtHash   string   `json:"at_hash"`
	} `json:"claims"`
	UserInfo struct {
		Sub   string `json:"sub"`
		Email string `json:"email"`
	} `json:"userinfo"`
	Refreshed struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		Rotated     bool   `json:"refresh_token_rotated"`
		HasIDToken  bool   `json:"has_id_token"`
	} `json:"refreshed"`
	AfterRevocation struct {
		Refused bool   `json:"refused"`
		Error   string `json:"error"`
		Message string `json:"message"`
	} `json:"after_revocation"`
}

func (r nodeRPResult) check(t *testing.T, issuer, clientID, uid, sid string) {
	t.Helper()
	dump, _ := json.MarshalIndent(r, "", "  ")
	c := r.Claims
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if !r.HasIDToken || !strings.EqualFold(r.TokenType, "bearer") || r.AccessToken == "" {
		bad("token response: token_type %q, id_token %v, access_token %v", r.TokenType, r.HasIDToken, r.AccessToken != "")
	}
	if c.Iss != issuer || c.Sub != uid || c.Email != email || c.Verified == nil {
		bad("ID token: iss %q sub %q email %q email_verified %v; want %s, %s, %s and email_verified", c.Iss, c.Sub, c.Email, c.Verified, issuer, uid, email)
	}
	if aud := fmt.Sprint(c.Aud); aud != clientID && aud != "["+clientID+"]" {
		bad("ID token: aud %v, want %s", c.Aud, clientID)
	}
	if c.SID == "" || c.SID != sid {
		bad("ID token: sid %q, want the browser's session at authd, %q", c.SID, sid)
	}
	if age := time.Since(time.Unix(c.AuthTime, 0)); age < -time.Minute || age > time.Minute {
		bad("ID token: auth_time %d is not the sign-in a moment ago", c.AuthTime)
	}
	if len(c.AMR) == 0 || c.ACR == "" || c.Nonce == "" || c.AtHash == "" {
		bad("ID token: amr %v, acr %q, nonce %q, at_hash %q; want all four", c.AMR, c.ACR, c.Nonce, c.AtHash)
	}
	if r.UserInfo.Sub != uid || r.UserInfo.Email != email {
		bad("userinfo: sub %q email %q, want %s, %s", r.UserInfo.Sub, r.UserInfo.Email, uid, email)
	}
	if r.Refreshed.AccessToken == "" || r.Refreshed.AccessToken == r.AccessToken || !r.Refreshed.Rotated {
		bad("refresh: new access token %v, new refresh token %v; want both", r.Refreshed.AccessToken != "" && r.Refreshed.AccessToken != r.AccessToken, r.Refreshed.Rotated)
	}
	if !r.AfterRevocation.Refused || r.AfterRevocation.Error != "invalid_grant" {
		bad("refresh after revocation: refused %v with %q (%s); want invalid_grant", r.AfterRevocation.Refused, r.AfterRevocation.Error, r.AfterRevocation.Message)
	}
	if len(problems) > 0 {
		t.Fatalf("openid-client's result:\n%s\n%s", dump, strings.Join(problems, "\n"))
	}
	t.Logf("openid-client: sub %s, sid %s, amr %v, acr %s; userinfo, refresh and revocation as expected", c.Sub, c.SID, c.AMR, c.ACR)
}

var (
	npmOnce sync.Once
	npmErr  error
)

// nodeModules makes sure examples/node-rp/node_modules holds what
// package-lock.json names, with `npm ci` when it does not (npm ci always
// starts again from nothing, so it is not run when there is no need).
// Missing node or npm, or an npm ci that fails (no registry), skips the
// test, or fails it under CI=true.
func nodeModules(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.SkipOrFail(t, "Node interop test: %s not found (install Node.js 20 or newer with npm)", tool)
		}
	}
	npmOnce.Do(func() {
		err := lockInstalled(nodeRPDir)
		if err == nil {
			return
		}
		t.Logf("examples/node-rp: %v; running npm ci", err)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		start := time.Now()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = nodeRPDir
		out, err := cmd.CombinedOutput()
		if err != nil {
			npmErr = fmt.Errorf("npm ci in examples/node-rp: %v\n%s", err, out)
			return
		}
		t.Logf("examples/node-rp: npm ci took %s", time.Since(start).Round(time.Millisecond))
		npmErr = lockInstalled(nodeRPDir)
	})
	if npmErr != nil {
		testenv.SkipOrFail(t, "Node interop test: %v", npmErr)
	}
}

// lockInstalled reports whether dir's node_modules holds every package
// of dir's package-lock.json at its locked version.
func lockInstalled(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return err
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		return fmt.Errorf("package-lock.json: %v", err)
	}
	n := 0
	for path, p := range lock.Packages {
		if !strings.HasPrefix(path, "node_modules/") {
			continue
		}
		n++
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(path), "package.json"))
		if err != nil {
			return fmt.Errorf("%s is not installed", path)
		}
		var installed struct {
			Version string `json:"version"`
		}
		if json.Unmarshal(b, &installed) != nil || installed.Version != p.Version {
			return fmt.Errorf("%s is %q, the lock says %q", path, installed.Version, p.Version)
		}
	}
	if n == 0 {
		return errors.New("package-lock.json names no packages")
	}
	return nil
}

// nodeRP is a running rp.mjs.
type nodeRP struct {
	t      *testing.T
	ctx    context.Context
	stdin  io.WriteCloser
	lines  chan string
	stderr *bytes.Buffer // read only after done
	done   chan struct{}
	err    error // of Wait, after done
}

// startNodeRP starts node rp.mjs, killed when ctx ends; its stderr is
// logged if the test fails.
func startNodeRP(ctx context.Context, t *testing.T) *nodeRP {
	t.Helper()
	rp := &nodeRP{t: t, ctx: ctx, lines: make(chan string, 16), stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd := exec.CommandContext(ctx, "node", "rp.mjs")
	cmd.Dir = nodeRPDir
	cmd.Stdout = &lineWriter{lines: rp.lines}
	cmd.Stderr = rp.stderr
	cmd.WaitDelay = 5 * time.Second
	var err error
	if rp.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node rp.mjs: %v", err)
	}
	go func() { rp.err = cmd.Wait(); close(rp.lines); close(rp.done) }()
	t.Cleanup(func() {
		_ = rp.stdin.Close()
		select {
		case <-rp.done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-rp.done
		}
		if t.Failed() {
			t.Logf("node rp.mjs (%v) stderr:\n%s", rp.err, rp.stderr)
		}
	})
	return rp
}

func (rp *nodeRP) send(v any) {
	rp.t.Helper()
	b, _ := json.Marshal(v)
	if _, err := rp.stdin.Write(append(b, '\n')); err != nil {
		rp.t.Fatalf("write to rp.mjs: %v", err)
	}
}

// receive reads rp.mjs's next line into v; a line with "error" fails the
// test with openid-client's error.
func (rp *nodeRP) receive(v any) {
	rp.t.Helper()
	var line string
	select {
	case l, ok := <-rp.lines:
		if !ok {
			<-rp.done
			rp.t.Fatalf("rp.mjs ended (%v) without an answer", rp.err)
		}
		line = l
	case <-rp.ctx.Done():
		rp.t.Fatalf("no answer from rp.mjs: %v", rp.ctx.Err())
	}
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal([]byte(line), &e) == nil && len(e.Error) > 0 {
		rp.t.Fatalf("openid-client failed: %s", e.Error)
	}
	if err := json.Unmarshal([]byte(line), v); err != nil {
		rp.t.Fatalf("rp.mjs printed %q: %v", line, err)
	}
}

// wait waits for rp.mjs to end, successfully.
func (rp *nodeRP) wait() {
	rp.t.Helper()
	_ = rp.stdin.Close()
	select {
	case <-rp.done:
	case <-rp.ctx.Done():
		rp.t.Fatalf("rp.mjs did not end: %v", rp.ctx.Err())
	}
	if rp.err != nil {
		rp.t.Fatalf("rp.mjs: %v", rp.err)
	}
}

// lineWriter sends each complete line written to it on lines.
type lineWriter struct {
	buf   []byte
	lines chan<- string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.lines <- string(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}

// httpBrowser is a browser without JavaScript: a cookie jar, no redirects
// followed, Sec-Fetch-Site: same-origin on the forms it posts to authd.
type httpBrowser struct {
	t      *testing.T
	ctx    context.Context
	issuer string
	jar    *cookiejar.Jar
	c      *http.Client
}

func newHTTPBrowser(ctx context.Context, t *testing.T, issuer string) *httpBrowser {
	jar, _ := cookiejar.New(nil)
	return &httpBrowser{t: t, ctx: ctx, issuer: issuer, jar: jar, c: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends one request and returns the status, the Location header
// resolved against the request's URL, and the body.
func (b *httpBrowser) do(method, rawURL string, form url.Values) (int, string, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(b.ctx, method, rawURL, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Origin", b.issuer)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	loc := ""
	if l, err := resp.Location(); err == nil {
		loc = l.String()
	}
	return resp.StatusCode, loc, string(page)
}

var (
	hiddenRequest = regexp.MustCompile(`name="request" value="([^"]*)"`)
	hiddenCSRF    = regexp.MustCompile(`name="csrf" value="([^"]*)"`)
)

// signIn goes from the authorization URL through authd's sign-in page
// and, when consent is true, its consent page, and returns where authd
// sends the browser back to the app: the callback URL.
func (b *httpBrowser) signIn(authURL, email, password string, consent bool) string {
	b.t.Helper()
	status, loc, page := b.do(http.MethodGet, authURL, nil)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, b.issuer+"/login?") {
		b.t.Fatalf("GET the authorization URL: %d to %q, want 303 to the sign-in page\n%s", status, loc, page)
	}
	login, _ := url.Parse(loc)
	ret := login.Query().Get("return")
	status, loc, page = b.do(http.MethodPost, b.issuer+"/login", url.Values{"email": {email}, "password": {password}, "return": {ret}})
	if status != http.StatusSeeOther || loc != b.issuer+ret {
		b.t.Fatalf("POST /login: %d to %q, want 303 to %s\n%s", status, loc, ret, page)
	}
	status, loc, page = b.do(http.MethodGet, loc, nil)
	if !consent {
		if status != http.StatusFound || loc == "" {
			b.t.Fatalf("GET the authorization URL signed in, consent given before: %d to %q, want a redirect to the app\n%s", status, loc, page)
		}
		return loc
	}
	if status != http.StatusOK || !strings.Contains(page, `action="/oauth2/consent"`) {
		b.t.Fatalf("GET the authorization URL signed in: %d (to %q), want 200 with the consent page\n%s", status, loc, page)
	}
	req, csrf := hiddenRequest.FindStringSubmatch(page), hiddenCSRF.FindStringSubmatch(page)
	if req == nil || csrf == nil {
		b.t.Fatalf("the consent page has no request or csrf field:\n%s", page)
	}
	status, loc, page = b.do(http.MethodPost, b.issuer+"/oauth2/consent", url.Values{
		"request": {html.UnescapeString(req[1])}, "csrf": {html.UnescapeString(csrf[1])}, "decision": {"approve"}})
	if status != http.StatusFound && status != http.StatusSeeOther || loc == "" {
		b.t.Fatalf("POST /oauth2/consent: %d to %q, want a redirect to the app\n%s", status, loc, page)
	}
	return loc
}

// sessionID is the public id of the browser's session at authd.
func (b *httpBrowser) sessionID() string {
	b.t.Helper()
	u, _ := url.Parse(b.issuer)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == authdtest.CookieName {
			return currentSession(b.t, b.issuer, c)
		}
	}
	b.t.Fatal("the browser has no session cookie from authd")
	return ""
}
