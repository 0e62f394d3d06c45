package httpapi_test

// Relying-party libraries, used unchanged, sign users in through authd
// (API.md "Signing users in to other apps": any certified RP library must
// work given only the issuer, a client id and a secret; SECURITY A5: ID
// tokens verified by the client's library, at_hash right).

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	zrp "github.com/zitadel/oidc/v3/pkg/client/rp"
	zhttp "github.com/zitadel/oidc/v3/pkg/http"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/authd/authd/oidc"
	"github.com/authd/authd/token"
)

// rpSecret is the secret of the confidential clients of these tests.
const rpSecret = "an-rp-secret-of-at-least-32-bytes-long"

// ocConsentForm matches the hidden fields of the consent page.
var ocConsentForm = regexp.MustCompile(`name="request" value="([^"]*)"[\s\S]*name="csrf" value="([^"]*)"`)

// ocBrowse sends the browser c to rawURL (absolute) without following
// redirects and returns the response with its body read.
func ocBrowse(t *testing.T, c *http.Client, method, rawURL string, form url.Values, hdr ...string) resp {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res, b}
}

// ocConsentFields returns the request and csrf hidden values of a consent
// page, or fails the test.
func ocConsentFields(t *testing.T, r resp) (request, csrf string) {
	t.Helper()
	m := ocConsentForm.FindSubmatch(r.body)
	if m == nil {
		t.Fatalf("no consent form (%d): %s", r.StatusCode, r.body)
	}
	return html.UnescapeString(string(m[1])), html.UnescapeString(string(m[2]))
}

// ocApprove posts the consent page r's form with decision and returns the
// response.
func ocApprove(t *testing.T, h *harness, c *http.Client, r resp, decision string) resp {
	t.Helper()
	req, csrf := ocConsentFields(t, r)
	return ocBrowse(t, c, "POST", h.srv.URL+"/oauth2/consent",
		url.Values{"request": {req}, "csrf": {csrf}, "decision": {decision}}, "Sec-Fetch-Site", "same-origin")
}

// ocAuthorize plays the browser's part for an authorization URL:
// GET it, approve the consent page when there is one (consented reports
// whether there was), and return where authd sent the browser back to.
func ocAuthorize(t *testing.T, h *harness, c *http.Client, authURL string) (back *url.URL, consented bool) {
	t.Helper()
	r := ocBrowse(t, c, "GET", authURL, nil)
	if r.StatusCode == http.StatusOK {
		consented = true
		r = ocApprove(t, h, c, r, "approve")
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("consent: %d %s", r.StatusCode, r.body)
		}
	} else if r.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d %s %s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil || r.Header.Get("Location") == "" {
		t.Fatalf("authorize: no usable Location %q", r.Header.Get("Location"))
	}
	return loc, consented
}

// ocIDClaims are the ID token claims the tests look at beyond go-oidc's.
type ocIDClaims struct {
	Email         string   `json:"email"`
	EmailVerified *bool    `json:"email_verified"`
	SID           string   `json:"sid"`
	AuthTime      int64    `json:"auth_time"`
	AMR           []string `json:"amr"`
	ACR           string   `json:"acr"`
	AtHash        string   `json:"at_hash"`
}

// ocRotateKey makes a key of alg the signing key of h, and checks that ID
// tokens are then signed with idAlg.
func ocRotateKey(t *testing.T, h *harness, alg, idAlg string) {
	t.Helper()
	ctx := context.Background()
	if _, err := token.RotateKey(ctx, h.db, alg, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := h.tokens.ReloadKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.tokens.IDTokenAlgs(); !slices.Equal(got, []string{idAlg}) {
		t.Errorf("ID token algs %v after rotation to %s, want [%s]", got, alg, idAlg)
	}
}

// TestRPGoOIDC signs in with golang.org/x/oauth2 and coreos/go-oidc as
// they are: discovery, the code flow with PKCE S256, state and nonce, the
// ID token verified by go-oidc (signature through the JWKS, iss, aud, exp,
// nonce, at_hash), userinfo, and the refresh through oauth2.TokenSource.
func TestRPGoOIDC(t *testing.T) {
	cases := []struct {
		name       string
		public     bool
		firstParty bool
		style      oauth2.AuthStyle
		alg        string // "" keeps the harness's key (EdDSA)
		// idAlg is the algorithm ID tokens must be signed with; "" is alg.
		idAlg string
	}{
		{name: "confidential/client_secret_basic", style: oauth2.AuthStyleInHeader},
		{name: "confidential/client_secret_post", style: oauth2.AuthStyleInParams},
		{name: "confidential/autodetect"},
		{name: "public", public: true},
		{name: "public/client_id_in_form", public: true, style: oauth2.AuthStyleInParams},
		{name: "first-party", firstParty: true, style: oauth2.AuthStyleInHeader},
		{name: "confidential/ES256", style: oauth2.AuthStyleInHeader, alg: "ES256"},
		{name: "confidential/RS256", style: oauth2.AuthStyleInHeader, alg: "RS256"},
		// API.md: "with --jwt-alg HS256 authd keeps an ES256 key for ID
		// tokens and publishes it".
		{name: "confidential/HS256 access tokens, ES256 ID tokens", style: oauth2.AuthStyleInHeader, alg: "HS256", idAlg: "ES256"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, realIssuer())
			ctx := context.Background()
			if tc.idAlg == "" {
				tc.idAlg = tc.alg
			}
			if tc.alg != "" {
				ocRotateKey(t, h, tc.alg, tc.idAlg)
			}
			const redirect = "http://127.0.0.1:9/callback"
			spec := oidc.ClientSpec{ID: "rp", Name: "Relying Party", Public: tc.public, FirstParty: tc.firstParty,
				RedirectURIs: []string{redirect}}
			secret := ""
			if !tc.public {
				spec.Secret, secret = rpSecret, rpSecret
			}
			if _, _, err := h.clients.Create(ctx, spec); err != nil {
				t.Fatal(err)
			}

			provider, err := gooidc.NewProvider(ctx, h.issuer)
			if err != nil {
				t.Fatalf("discovery: %v", err)
			}
			ep := provider.Endpoint()
			ep.AuthStyle = tc.style
			conf := &oauth2.Config{ClientID: "rp", ClientSecret: secret, Endpoint: ep, RedirectURL: redirect,
				Scopes: []string{gooidc.ScopeOpenID, "email", gooidc.ScopeOfflineAccess}}

			browser := h.login("ann@example.com")
			verifier := oauth2.GenerateVerifier()
			state, nonce := rand.Text(), rand.Text()
			back, consented := ocAuthorize(t, h, browser, conf.AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
			if consented == tc.firstParty {
				t.Errorf("consent page shown: %v, first-party: %v", consented, tc.firstParty)
			}
			if !strings.HasPrefix(back.String(), redirect+"?") {
				t.Fatalf("sent back to %s", back)
			}
			q := back.Query()
			if q.Get("state") != state || q.Get("iss") != h.issuer || q.Get("code") == "" {
				t.Fatalf("authorization response %s", back)
			}

			tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.Expiry.IsZero() {
				t.Fatalf("token response: type %q refresh %v expiry %v", tok.TokenType, tok.RefreshToken != "", tok.Expiry)
			}
			rawID, _ := tok.Extra("id_token").(string)
			if rawID == "" {
				t.Fatal("no id_token")
			}
			idt, err := provider.Verifier(&gooidc.Config{ClientID: "rp"}).Verify(ctx, rawID)
			if err != nil {
				t.Fatalf("go-oidc refuses the ID token: %v", err)
			}
			if idt.Nonce != nonce {
				t.Errorf("nonce %q, want %q", idt.Nonce, nonce)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			var cl ocIDClaims
			if err := idt.Claims(&cl); err != nil {
				t.Fatal(err)
			}
			if cl.Email != "ann@example.com" || cl.EmailVerified == nil || cl.SID == "" || cl.AuthTime == 0 ||
				len(cl.AMR) == 0 || cl.ACR == "" || cl.AtHash == "" {
				t.Errorf("ID token claims %+v", cl)
			}
			if d := time.Since(time.Unix(cl.AuthTime, 0)); d < -time.Minute || d > time.Minute {
				t.Errorf("auth_time %d is %s off", cl.AuthTime, d)
			}
			if tc.alg != "" {
				var hdr struct{ Alg string }
				ocJWTPart(t, rawID, 0, &hdr)
				if hdr.Alg != tc.idAlg {
					t.Errorf("ID token alg %s, want %s", hdr.Alg, tc.idAlg)
				}
			}

			// An ID token is never an access token (A5, J5), whatever the
			// two keys' algorithms.
			if s := bearerStatus(h, rawID); s != http.StatusUnauthorized {
				t.Errorf("ID token as bearer at /v1/me: %d, want 401", s)
			}

			ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			if ui.Subject != idt.Subject || ui.Email != "ann@example.com" {
				t.Errorf("userinfo sub %q email %q, ID token sub %q", ui.Subject, ui.Email, idt.Subject)
			}

			// The refresh, as oauth2 does it when the access token expires.
			expired := *tok
			expired.Expiry = time.Now().Add(-time.Minute)
			nt, err := conf.TokenSource(ctx, &expired).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if nt.AccessToken == tok.AccessToken || nt.RefreshToken == "" || nt.RefreshToken == tok.RefreshToken {
				t.Errorf("refresh gave no new tokens")
			}
			if ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(nt)); err != nil || ui.Subject != idt.Subject {
				t.Errorf("userinfo with the refreshed token: %v", err)
			}
			if rawID, _ := nt.Extra("id_token").(string); rawID != "" {
				// OIDC Core §12.2: an ID token from a refresh must verify too.
				if _, err := provider.Verifier(&gooidc.Config{ClientID: "rp"}).Verify(ctx, rawID); err != nil {
					t.Errorf("ID token of the refresh: %v", err)
				}
			}
		})
	}
}

// ocJWTPart decodes segment i (0 header, 1 payload) of a compact JWT
// into v.
func ocJWTPart(t *testing.T, jwt string, i int, v any) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// TestRPZitadel signs in with zitadel/oidc's relying party as it is: its
// own login and callback handlers run on a small app server, the browser
// goes from the app to authd (sign-in already done, consent) and back, and
// the callback gets verified tokens and userinfo.
func TestRPZitadel(t *testing.T) {
	for _, public := range []bool{false, true} {
		name := "confidential"
		if public {
			name = "public"
		}
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, realIssuer())
			ctx := context.Background()
			app := httptest.NewUnstartedServer(nil)
			redirect := "http://" + app.Listener.Addr().String() + "/callback"
			spec := oidc.ClientSpec{ID: "zapp", Name: "Zitadel app", Public: public, RedirectURIs: []string{redirect}}
			secret := ""
			if !public {
				spec.Secret, secret = rpSecret, rpSecret
			}
			if _, _, err := h.clients.Create(ctx, spec); err != nil {
				t.Fatal(err)
			}
			key := []byte("0123456789abcdef0123456789abcdef")
			cookies := zhttp.NewCookieHandler(key, key, zhttp.WithUnsecure())
			nonce := rand.Text()
			relying, err := zrp.NewRelyingPartyOIDC(ctx, h.issuer, "zapp", secret, redirect,
				[]string{zoidc.ScopeOpenID, zoidc.ScopeEmail, zoidc.ScopeOfflineAccess},
				zrp.WithPKCE(cookies), zrp.WithSigningAlgsFromDiscovery(),
				zrp.WithVerifierOpts(zrp.WithNonce(func(context.Context) string { return nonce })))
			if err != nil {
				t.Fatalf("zitadel discovery: %v", err)
			}
			type result struct {
				tokens *zoidc.Tokens[*zoidc.IDTokenClaims]
				info   *zoidc.UserInfo
				state  string
			}
			got := make(chan result, 1)
			state := "zitadel state " + rand.Text()
			mux := http.NewServeMux()
			mux.Handle("/login", zrp.AuthURLHandler(func() string { return state }, relying, zrp.WithURLParam("nonce", nonce)))
			mux.Handle("/callback", zrp.CodeExchangeHandler(zrp.UserinfoCallback(
				func(w http.ResponseWriter, r *http.Request, tokens *zoidc.Tokens[*zoidc.IDTokenClaims], state string, _ zrp.RelyingParty, info *zoidc.UserInfo) {
					got <- result{tokens, info, state}
					w.Write([]byte("signed in"))
				}), relying))
			app.Config.Handler = mux
			app.Start()
			defer app.Close()

			browser := h.login("ann@example.com")
			r := ocBrowse(t, browser, "GET", app.URL+"/login", nil)
			if r.StatusCode != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), h.issuer+"/oauth2/authorize?") {
				t.Fatalf("app login: %d %s", r.StatusCode, r.Header.Get("Location"))
			}
			back, consented := ocAuthorize(t, h, browser, r.Header.Get("Location"))
			if !consented {
				t.Error("no consent page for a third-party client")
			}
			if back.Query().Get("iss") != h.issuer {
				t.Errorf("no iss in %s", back)
			}
			r = ocBrowse(t, browser, "GET", back.String(), nil)
			if r.StatusCode != http.StatusOK || string(r.body) != "signed in" {
				t.Fatalf("callback: %d %s", r.StatusCode, r.body)
			}
			res := <-got
			if res.state != state {
				t.Errorf("state %q, want %q", res.state, state)
			}
			if res.info.Email != "ann@example.com" || res.info.Subject != res.tokens.IDTokenClaims.Subject {
				t.Errorf("userinfo %+v", res.info)
			}
			idc := res.tokens.IDTokenClaims
			if idc.Nonce != nonce || idc.SessionID == "" || idc.AccessTokenHash == "" || idc.Email != "ann@example.com" {
				t.Errorf("ID token claims %+v", idc)
			}
			if res.tokens.RefreshToken == "" {
				t.Fatal("no refresh token with offline_access")
			}
			nt, err := zrp.RefreshTokens[*zoidc.IDTokenClaims](ctx, relying, res.tokens.RefreshToken, "", "")
			if err != nil && err != zrp.ErrMissingIDToken {
				t.Fatalf("zitadel refresh: %v", err)
			}
			if nt == nil || nt.AccessToken == "" || nt.AccessToken == res.tokens.AccessToken {
				t.Fatalf("zitadel refresh gave no new access token: %+v", nt)
			}
		})
	}
}
