package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/authd/authd"
)

// AuthRequest is a checked authorization request (RFC 6749 §4.1.1,
// OpenID Connect Core §3.1.2.1, RFC 7636): everything the browser flow
// needs from sign-in through consent to the code.
type AuthRequest struct {
	Client      *authd.Client
	RedirectURI string
	State       string
	Nonce       string
	Scopes      []string
	Challenge   string // PKCE S256
	Prompt      []string
	MaxAge      int // -1 when absent
	LoginHint   string
	ACRValues   []string
	Resource    []string
	// Query is the request's query string as received, to come back to
	// after sign-in and to carry through the consent form.
	Query string
}

// Has reports whether prompt holds v.
func (r *AuthRequest) Has(prompt string) bool { return slices.Contains(r.Prompt, prompt) }

// PageError is an authorization request that cannot be answered by a
// redirect: its client or redirect URI is unknown, so the browser is
// shown an error page and sent nowhere (RFC 6749 §4.1.2.1, SECURITY A1).
type PageError struct{ Reason string }

func (e *PageError) Error() string { return "oidc: " + e.Reason }

// RedirectError is an authorization error answered by a redirect to the
// client's redirect URI with error, error_description, state and iss
// (RFC 6749 §4.1.2.1, RFC 9207).
type RedirectError struct {
	Code        string
	Description string
}

func (e *RedirectError) Error() string { return "oidc: " + e.Code + ": " + e.Description }

// Unwrap lets errors.Is see a store outage behind a redirect error (none
// is one; kept for symmetry).
func redirectErr(code, desc string) error { return &RedirectError{Code: code, Description: desc} }

// Bounds of request parameters.
const (
	maxParamLen    = 512
	maxStateLen    = 1024
	challengeLen   = 43 // base64url of a SHA-256 (RFC 7636 §4.2)
	maxScopes      = 32
	maxResources   = 8
	maxLoginHint   = 320
	maxAuthorizeQS = 4096
)

// singleParams may appear once at most (RFC 6749 §3.1).
var singleParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "prompt", "max_age", "login_hint", "acr_values",
	"response_mode", "request", "request_uri", "display", "id_token_hint", "ui_locales", "claims"}

// ParseAuthorize checks an authorization request's query. Its errors are
// a *PageError while the client and redirect URI are not established,
// then a *RedirectError; a store failure is any other error.
//
// NOTE: the order matters: nothing is redirected until client_id names a
// client of the authorization_code grant and redirect_uri is exactly one
// of its registered URIs (string equality, no normalisation: SECURITY A1,
// RFC 9700 §4.1.3). Only then are the other errors sent back to it.
func (p *Provider) ParseAuthorize(ctx context.Context, rawQuery string) (*AuthRequest, error) {
	if len(rawQuery) > maxAuthorizeQS {
		return nil, &PageError{"the request is too long"}
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, &PageError{"the request's parameters cannot be read"}
	}
	clientID, redirectURI := q.Get("client_id"), q.Get("redirect_uri")
	if len(q["client_id"]) > 1 || len(q["redirect_uri"]) > 1 {
		return nil, &PageError{"client_id or redirect_uri is repeated"}
	}
	if clientID == "" {
		return nil, &PageError{"the request names no client (client_id)"}
	}
	cl, err := p.pageClient(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if redirectURI == "" {
		return nil, &PageError{"the request has no redirect_uri"}
	}
	if !slices.Contains(cl.RedirectURIs, redirectURI) {
		return nil, &PageError{"the redirect_uri is not registered for this client"}
	}
	r := &AuthRequest{Client: cl, RedirectURI: redirectURI, State: q.Get("state"), MaxAge: -1, Query: rawQuery}
	if len(q["state"]) > 1 {
		// state is not returned when it is ambiguous.
		r.State = ""
	}
	if len(r.State) > maxStateLen {
		r.State = ""
		return r, redirectErr("invalid_request", "state is too long")
	}
	return r, p.checkAuthorize(r, q)
}

// checkAuthorize checks the rest of the request, once it can be redirected.
func (p *Provider) checkAuthorize(r *AuthRequest, q url.Values) error {
	for _, name := range singleParams {
		if len(q[name]) > 1 {
			return redirectErr("invalid_request", name+" is repeated")
		}
	}
	if !slices.Contains(r.Client.Grants, authd.GrantAuthorizationCode) {
		return redirectErr("unauthorized_client", "the client may not use the authorization code grant")
	}
	// NOTE: only the code flow: response_type token or id_token (the
	// implicit and hybrid flows) would put tokens in the URL (RFC 9700
	// §2.1.2, SECURITY A3).
	switch rt := q.Get("response_type"); rt {
	case "code":
	case "":
		return redirectErr("invalid_request", "response_type is missing")
	default:
		return redirectErr("unsupported_response_type", "only response_type=code is supported")
	}
	if m := q.Get("response_mode"); m != "" && m != "query" {
		return redirectErr("invalid_request", "only response_mode=query is supported")
	}
	if q.Has("request") {
		return redirectErr("request_not_supported", "request objects are not supported")
	}
	if q.Has("request_uri") {
		return redirectErr("request_uri_not_supported", "request_uri is not supported")
	}
	// NOTE: PKCE S256 for every client, confidential ones too (RFC 9700
	// §2.1.1, SECURITY A1): plain would put the verifier in the URL.
	r.Challenge = q.Get("code_challenge")
	switch method := q.Get("code_challenge_method"); {
	case r.Challenge == "":
		return redirectErr("invalid_request", "code_challenge is required (PKCE S256)")
	case method != "S256":
		return redirectErr("invalid_request", "code_challenge_method must be S256")
	case len(r.Challenge) != challengeLen || !unreserved(r.Challenge):
		return redirectErr("invalid_request", "code_challenge is not a base64url SHA-256")
	}
	scopes := strings.Fields(q.Get("scope"))
	if len(scopes) > maxScopes {
		return redirectErr("invalid_scope", "too many scopes")
	}
	for _, s := range scopes {
		if !slices.Contains(r.Client.Scopes, s) {
			return redirectErr("invalid_scope", fmt.Sprintf("scope %q is not allowed for this client", s))
		}
		if !slices.Contains(r.Scopes, s) {
			r.Scopes = append(r.Scopes, s)
		}
	}
	if r.Nonce = q.Get("nonce"); len(r.Nonce) > maxParamLen {
		return redirectErr("invalid_request", "nonce is too long")
	}
	r.Prompt = strings.Fields(q.Get("prompt"))
	for _, v := range r.Prompt {
		if v != "none" && v != "login" && v != "consent" {
			return redirectErr("invalid_request", fmt.Sprintf("prompt %q is not supported", v))
		}
	}
	if r.Has("none") && len(r.Prompt) > 1 {
		return redirectErr("invalid_request", "prompt=none cannot be combined with another value")
	}
	if v := q.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return redirectErr("invalid_request", "max_age must be a number of seconds")
		}
		r.MaxAge = n
	}
	if r.LoginHint = q.Get("login_hint"); len(r.LoginHint) > maxLoginHint {
		r.LoginHint = ""
	}
	r.ACRValues = strings.Fields(q.Get("acr_values"))
	r.Resource = q["resource"]
	if len(r.Resource) > maxResources {
		return redirectErr("invalid_target", "too many resource values")
	}
	for _, res := range r.Resource {
		if !slices.Contains(p.cfg.Audiences, res) {
			return redirectErr("invalid_target", fmt.Sprintf("resource %q is not an audience of this server", res))
		}
	}
	return nil
}

// pageClient returns the client a browser request names; an unknown one
// is a *PageError (never redirected to).
func (p *Provider) pageClient(ctx context.Context, id string) (*authd.Client, error) {
	cl, err := p.clients.Get(ctx, id)
	if errors.Is(err, authd.ErrNotFound) {
		return nil, &PageError{"the request names an unknown client"}
	}
	return cl, err
}

// unreserved reports whether s holds only RFC 3986 unreserved characters
// (RFC 7636 §4.1: the alphabet of verifiers and challenges).
func unreserved(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// ErrorRedirect returns the URL that answers r with err (RFC 6749
// §4.1.2.1): error, error_description, state and iss (RFC 9207).
func (p *Provider) ErrorRedirect(r *AuthRequest, err *RedirectError) string {
	v := url.Values{"error": {err.Code}}
	if err.Description != "" {
		v.Set("error_description", err.Description)
	}
	return p.redirectTo(r, v)
}

// redirectTo adds v, state and iss to r's redirect URI.
func (p *Provider) redirectTo(r *AuthRequest, v url.Values) string {
	if r.State != "" {
		v.Set("state", r.State)
	}
	v.Set("iss", p.cfg.Issuer)
	sep := "?"
	if strings.Contains(r.RedirectURI, "?") {
		sep = "&"
	}
	return r.RedirectURI + sep + v.Encode()
}
