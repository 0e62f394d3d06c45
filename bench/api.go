package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// cred is a credential as it travels: one request header.
type cred struct {
	header string // "Cookie" or "Authorization"
	value  string // "authd_session=…" or "Bearer …"
}

// wireBytes is the size of the header line on the wire: name, ": ", value
// and CRLF.
func (c cred) wireBytes() int { return len(c.header) + 2 + len(c.value) + 2 }

func cookieCred(v string) cred { return cred{"Cookie", sessionCookie + "=" + v} }
func bearerCred(t string) cred { return cred{"Authorization", "Bearer " + t} }

// sessionCookie is the cookie's name under --dev (plain HTTP, no __Host-).
const sessionCookie = "authd_session"

// api calls authd's HTTP interface (docs/API.md) for the bench.
type api struct{ hc *http.Client }

// randomPassword returns a password that passes authd's policy.
func randomPassword() string {
	var b [18]byte
	rand.Read(b[:])
	return "bench-" + base64.RawURLEncoding.EncodeToString(b[:])
}

// randomEmail returns a fresh address.
func randomEmail(tag string) string {
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s-%x@bench.example.com", tag, b)
}

// call sends a request and returns the status and body. body is JSON
// when it is a map[string]string sent to /v1/, a form otherwise (url.Values).
func (a api) call(ctx context.Context, method, u string, body any, c *cred) (int, []byte, *http.Response, error) {
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, nil, nil, err
		}
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c != nil {
		req.Header.Set(c.header, c.value)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, out, resp, err
}

// statusError describes an unexpected answer.
func statusError(what string, status int, body []byte) error {
	b := strings.TrimSpace(string(body))
	if len(b) > 200 {
		b = b[:200] + "…"
	}
	return fmt.Errorf("%s: HTTP %d %s", what, status, b)
}

func (a api) register(ctx context.Context, base, email, pw string) error {
	st, body, _, err := a.call(ctx, "POST", base+"/v1/register", map[string]string{"email": email, "password": pw}, nil)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	if st != http.StatusCreated {
		return statusError("register", st, body)
	}
	return nil
}

// login signs in with POST /v1/login and returns the session cookie.
func (a api) login(ctx context.Context, base, email, pw string) (cred, int, error) {
	st, body, resp, err := a.call(ctx, "POST", base+"/v1/login", map[string]string{"email": email, "password": pw}, nil)
	if err != nil {
		return cred{}, 0, fmt.Errorf("login: %w", err)
	}
	if st != http.StatusOK {
		return cred{}, st, statusError("login", st, body)
	}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			return cookieCred(c.Value), st, nil
		}
	}
	return cred{}, st, fmt.Errorf("login: no %s cookie in the answer", sessionCookie)
}

// tokenPair is an access token and its refresh token.
type tokenPair struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
}

func (a api) tokenCall(ctx context.Context, base string, form url.Values, what string) (tokenPair, int, error) {
	st, body, _, err := a.call(ctx, "POST", base+"/oauth2/token", form, nil)
	if err != nil {
		return tokenPair{}, 0, fmt.Errorf("%s: %w", what, err)
	}
	if st != http.StatusOK {
		return tokenPair{}, st, statusError(what, st, body)
	}
	var p tokenPair
	if err := json.Unmarshal(body, &p); err != nil || p.Access == "" {
		return tokenPair{}, st, fmt.Errorf("%s: unreadable token response", what)
	}
	return p, st, nil
}

// passwordGrant signs in with the OAuth 2.0 password grant.
func (a api) passwordGrant(ctx context.Context, base, email, pw string) (tokenPair, int, error) {
	return a.tokenCall(ctx, base, url.Values{"grant_type": {"password"}, "username": {email}, "password": {pw}}, "password grant")
}

// refresh rotates a refresh token.
func (a api) refresh(ctx context.Context, base, rt string) (tokenPair, int, error) {
	return a.tokenCall(ctx, base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "refresh")
}

// sessionToken exchanges a session for an access token.
func (a api) sessionToken(ctx context.Context, base string, c cred) (string, int, error) {
	st, body, _, err := a.call(ctx, "POST", base+"/v1/session/token", nil, &c)
	if err != nil {
		return "", 0, fmt.Errorf("session token: %w", err)
	}
	if st != http.StatusOK {
		return "", st, statusError("session token", st, body)
	}
	var p tokenPair
	if err := json.Unmarshal(body, &p); err != nil || p.Access == "" {
		return "", st, fmt.Errorf("session token: unreadable token response")
	}
	return p.Access, st, nil
}

// logout ends the session of c.
func (a api) logout(ctx context.Context, base string, c cred) (int, error) {
	st, body, _, err := a.call(ctx, "POST", base+"/v1/logout", nil, &c)
	if err != nil {
		return 0, fmt.Errorf("logout: %w", err)
	}
	if st != http.StatusNoContent {
		return st, statusError("logout", st, body)
	}
	return st, nil
}

// revoke revokes a token (access or refresh) with RFC 7009.
func (a api) revoke(ctx context.Context, base, tok string) (int, error) {
	st, body, _, err := a.call(ctx, "POST", base+"/oauth2/revoke", url.Values{"token": {tok}}, nil)
	if err != nil {
		return 0, fmt.Errorf("revoke: %w", err)
	}
	if st != http.StatusOK {
		return st, statusError("revoke", st, body)
	}
	return st, nil
}

// changePassword changes the password through the session c.
func (a api) changePassword(ctx context.Context, base string, c cred, current, next string) (int, error) {
	st, body, _, err := a.call(ctx, "POST", base+"/v1/password", map[string]string{"current_password": current, "new_password": next}, &c)
	if err != nil {
		return 0, fmt.Errorf("password change: %w", err)
	}
	if st != http.StatusNoContent {
		return st, statusError("password change", st, body)
	}
	return st, nil
}

// me calls GET /v1/me with c and returns the status.
func (a api) me(ctx context.Context, base string, c cred) (int, error) {
	st, _, _, err := a.call(ctx, "GET", base+"/v1/me", nil, &c)
	return st, err
}

// meRequest is a reusable GET /v1/me request carrying c.
func meRequest(base string, c cred) *http.Request {
	req, _ := http.NewRequest("GET", base+"/v1/me", nil)
	req.Header.Set(c.header, c.value)
	return req
}
