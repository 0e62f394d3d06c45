package main

// Sign-in through another provider (#17) between two real authd
// processes: A is the OpenID provider (its client for B added with
// `authd client add`, its user with `authd user add`), B the relying
// party with A registered as an upstream through B's admin API, and with
// `authd upstream add`. A browser (an http.Client with a cookie jar)
// signs in at B through A.

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// freeAddr returns a loopback address with a port free just now: A's
// issuer must be its own URL, known before it starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// hostJar keeps each host:port's cookies apart: A and B are both on
// 127.0.0.1, and cookies ignore ports, so their session cookies (same
// name) would overwrite each other in one cookiejar.Jar.
type hostJar struct {
	mu   sync.Mutex
	jars map[string]*cookiejar.Jar
}

func (j *hostJar) jar(u *url.URL) *cookiejar.Jar {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.jars == nil {
		j.jars = map[string]*cookiejar.Jar{}
	}
	if j.jars[u.Host] == nil {
		j.jars[u.Host], _ = cookiejar.New(nil)
	}
	return j.jars[u.Host]
}

func (j *hostJar) SetCookies(u *url.URL, cs []*http.Cookie) { j.jar(u).SetCookies(u, cs) }
func (j *hostJar) Cookies(u *url.URL) []*http.Cookie        { return j.jar(u).Cookies(u) }

// e2eDo sends the browser b to u (absolute), following no redirect, and
// returns the status, the Location and the body.
func e2eDo(t *testing.T, b *http.Client, method, u string, form url.Values) (int, string, []byte) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), out
}

func TestUpstreamEndToEnd(t *testing.T) {
	authdBinary(t)
	aAddr, bAddr := freeAddr(t), freeAddr(t)
	aURL, bURL := "http://"+aAddr, "http://"+bAddr
	dir := t.TempDir()
	dbA, dbB := "sqlite:"+filepath.Join(dir, "a", "authd.db"), "sqlite:"+filepath.Join(dir, "b", "authd.db")
	for _, d := range []string{"a", "b"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}

	// A: a user, and B's client (first-party: no consent page) with both
	// of B's callbacks.
	addUser(t, dbA, "ann@example.com", nodePassword)
	mustRun(t, clientSecret+"\n", "client", "add", "--id", "authd-b", "--secret-stdin", "--first-party", "--name", "authd B",
		"--redirect-uri", bURL+"/v1/upstream/idp/callback", "--redirect-uri", bURL+"/v1/upstream/idp-cli/callback", "--db", dbA)
	a := startNode(t, "--db", dbA, "--addr", aAddr, "--issuer", aURL)
	if a.url != aURL {
		t.Fatalf("A listens on %s, want %s", a.url, aURL)
	}

	// B: an administrator, who registers A through the admin API.
	addUser(t, dbB, "root@example.com", nodePassword)
	mustRun(t, "", "user", "role", "add", "--email", "root@example.com", "--role", "admin", "--db", dbB)
	b := startNode(t, "--db", dbB, "--addr", bAddr, "--issuer", bURL)
	if b.url != bURL {
		t.Fatalf("B listens on %s, want %s", b.url, bURL)
	}
	admin := newClient(t)
	if st, body := admin.do("POST", bURL+"/v1/login", "application/json",
		`{"email":"root@example.com","password":"`+nodePassword+`"}`); st != http.StatusOK {
		t.Fatalf("admin login at B: %d %s", st, body)
	}
	st, body := admin.do("POST", bURL+"/admin/v1/upstreams", "application/json",
		fmt.Sprintf(`{"id":"idp","issuer":%q,"client_id":"authd-b","secret":%q,"name":"A"}`, aURL, clientSecret),
		"Sec-Fetch-Site", "same-origin")
	if st != http.StatusCreated {
		t.Fatalf("register A at B: %d %s", st, body)
	}
	if strings.Contains(string(body), clientSecret) {
		t.Fatalf("the admin API showed the client secret: %s", body)
	}
	var up struct {
		RedirectURI string `json:"redirect_uri"`
		HasSecret   bool   `json:"has_secret"`
	}
	if err := json.Unmarshal(body, &up); err != nil || up.RedirectURI != bURL+"/v1/upstream/idp/callback" || !up.HasSecret {
		t.Fatalf("the registered provider: %s (%v)", body, err)
	}

	// The browser: B's start, A's sign-in page, back to B's callback.
	browser := &http.Client{Jar: &hostJar{}, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	signIn := func(id string) {
		t.Helper()
		st, loc, body := e2eDo(t, browser, "GET", bURL+"/v1/upstream/"+id+"/start?return=%2Faccount", nil)
		if st != http.StatusFound || !strings.HasPrefix(loc, aURL+"/oauth2/authorize?") {
			t.Fatalf("B's start: %d %q %s", st, loc, body)
		}
		st, loc, body = e2eDo(t, browser, "GET", loc, nil)
		if st == http.StatusSeeOther && strings.HasPrefix(loc, "/login?") {
			u, _ := url.Parse(loc)
			ret := u.Query().Get("return")
			st, loc, body = e2eDo(t, browser, "POST", aURL+"/login",
				url.Values{"email": {"ann@example.com"}, "password": {nodePassword}, "return": {ret}})
			if st != http.StatusSeeOther || loc != ret {
				t.Fatalf("sign-in at A: %d %q %s", st, loc, body)
			}
			st, loc, body = e2eDo(t, browser, "GET", aURL+ret, nil)
		}
		if st != http.StatusFound || !strings.HasPrefix(loc, bURL+"/v1/upstream/"+id+"/callback?") {
			t.Fatalf("A's authorization: %d %q %s", st, loc, body)
		}
		if u, _ := url.Parse(loc); u.Query().Get("iss") != aURL {
			t.Errorf("A's response has iss %q, want %q", u.Query().Get("iss"), aURL)
		}
		st, loc, body = e2eDo(t, browser, "GET", loc, nil)
		if st != http.StatusSeeOther || loc != "/account" {
			t.Fatalf("B's callback: %d %q %s", st, loc, body)
		}
	}
	signIn("idp")
	st, _, body = e2eDo(t, browser, "GET", bURL+"/v1/me", nil)
	var me struct {
		ID    string   `json:"id"`
		Email string   `json:"email"`
		AMR   []string `json:"amr"`
	}
	if err := json.Unmarshal(body, &me); st != http.StatusOK || err != nil || me.Email != "ann@example.com" || len(me.AMR) != 1 || me.AMR[0] != "fed" {
		t.Fatalf("B's /v1/me after the sign-in through A: %d %s", st, body)
	}
	st, _, body = e2eDo(t, browser, "GET", bURL+"/v1/identities", nil)
	if st != http.StatusOK || !strings.Contains(string(body), `"upstream":"idp"`) {
		t.Fatalf("B's /v1/identities: %d %s", st, body)
	}

	// `authd upstream add` against B's database, with B's key: every node
	// sees the provider within 5 s.
	key := filepath.Join(dir, "b", "authd.key")
	mustRun(t, clientSecret+"\n", "upstream", "add", "--id", "idp-cli", "--issuer", aURL, "--client-id", "authd-b", "--secret-stdin",
		"--name", "A again", "--encryption-key-file", key, "--db", dbB)
	deadline := time.Now().Add(7 * time.Second)
	noFollow := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for statusWith(noFollow, bURL+"/v1/upstream/idp-cli/start") != http.StatusFound {
		if time.Now().After(deadline) {
			t.Fatal("B does not know the provider added by the CLI 7 s later")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Signed in at B, the browser links its identity at idp-cli (the same
	// account at A) to its account.
	st, loc, body := e2eDo(t, browser, "GET", bURL+"/v1/upstream/idp-cli/start", nil)
	if st != http.StatusFound {
		t.Fatalf("B's start at idp-cli: %d %s", st, body)
	}
	st, loc, body = e2eDo(t, browser, "GET", loc, nil) // signed in at A already
	if st != http.StatusFound || !strings.HasPrefix(loc, bURL+"/v1/upstream/idp-cli/callback?") {
		t.Fatalf("A's authorization for idp-cli: %d %q %s", st, loc, body)
	}
	if st, loc, body = e2eDo(t, browser, "GET", loc, nil); st != http.StatusSeeOther || loc != "/account?notice=linked" {
		t.Fatalf("B's callback for idp-cli: %d %q %s", st, loc, body)
	}
	st, _, body = e2eDo(t, browser, "GET", bURL+"/v1/identities", nil)
	if st != http.StatusOK || !strings.Contains(string(body), `"upstream":"idp-cli"`) || !strings.Contains(string(body), `"upstream":"idp"`) {
		t.Fatalf("B's /v1/identities after linking idp-cli: %d %s", st, body)
	}
}
