package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/authd/authd/oidc"
)

// pkce returns a verifier and its S256 challenge.
func pkce() (string, string) {
	v := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(v))
	return v, base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestCodeFlowSmoke(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, _, err := h.clients.Create(ctx, oidc.ClientSpec{ID: "web", Name: "Web", Public: true,
		RedirectURIs: []string{"http://127.0.0.1:9/cb"}}); err != nil {
		t.Fatal(err)
	}
	c := h.login("ann@example.com")
	verifier, challenge := pkce()
	q := url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {"http://127.0.0.1:9/cb"},
		"scope": {"openid email offline_access"}, "state": {"st"}, "nonce": {"n1"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	r := h.do(c, "GET", "/oauth2/authorize?"+q.Encode(), nil)
	if r.StatusCode != 200 {
		t.Fatalf("authorize: %d %s %s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	m := regexp.MustCompile(`name="request" value="([^"]*)"[\s\S]*name="csrf" value="([^"]*)"`).FindSubmatch(r.body)
	if m == nil {
		t.Fatalf("no consent form: %s", r.body)
	}
	req := html.UnescapeString(string(m[1]))
	r = h.do(c, "POST", "/oauth2/consent", url.Values{"request": {req}, "csrf": {string(m[2])}, "decision": {"approve"}}, "Sec-Fetch-Site", "same-origin")
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("consent: %d %s", r.StatusCode, r.body)
	}
	loc, _ := url.Parse(r.Header.Get("Location"))
	code := loc.Query().Get("code")
	if code == "" || loc.Query().Get("state") != "st" || loc.Query().Get("iss") != h.issuer {
		t.Fatalf("redirect %s", loc)
	}
	r = h.do(nil, "POST", "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"web"},
		"redirect_uri": {"http://127.0.0.1:9/cb"}, "code_verifier": {verifier}})
	if r.StatusCode != 200 {
		t.Fatalf("token: %d %s", r.StatusCode, r.body)
	}
	tok := r.json(t)
	for _, k := range []string{"access_token", "id_token", "refresh_token"} {
		if tok[k] == nil {
			t.Fatalf("no %s: %s", k, r.body)
		}
	}
	r = h.do(nil, "GET", "/oauth2/userinfo", nil, "Authorization", "Bearer "+tok["access_token"].(string))
	if r.StatusCode != 200 || r.json(t)["email"] != "ann@example.com" {
		t.Fatalf("userinfo: %d %s", r.StatusCode, r.body)
	}
	// Second time: consent remembered, straight to the code.
	r = h.do(c, "GET", "/oauth2/authorize?"+q.Encode(), nil)
	if r.StatusCode != http.StatusFound || !strings.Contains(r.Header.Get("Location"), "code=") {
		t.Fatalf("remembered consent: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
}
