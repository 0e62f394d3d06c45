package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/dpop"
	"github.com/authd/authd/oidc"
	"github.com/authd/authd/token"
)

// oauthError is an RFC 6749 §5.2 error body.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(oauthError{code, desc})
}

// failOAuth answers an error of the business rules in RFC 6749 form.
func (s *Server) failOAuth(w http.ResponseWriter, r *http.Request, err error) {
	var thr *authd.ThrottledError
	var inv *authd.InvalidError
	switch {
	case errors.As(err, &thr):
		w.Header().Set("Retry-After", retryAfter(thr.RetryAfter))
		writeOAuthError(w, http.StatusTooManyRequests, "temporarily_unavailable", "too many failed sign-in attempts; retry after the Retry-After delay")
	case errors.Is(err, authd.ErrInvalidCredentials):
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "the username or password is wrong")
	case errors.Is(err, authd.ErrInvalidGrant):
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "the refresh token is invalid, expired, revoked or already used")
	case errors.Is(err, token.ErrInvalidTarget):
		writeOAuthError(w, http.StatusBadRequest, "invalid_target", "a resource is not one of this server's audiences")
	case errors.As(err, &inv):
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", inv.Message)
	default:
		status, _ := errorStatus(err)
		if status >= 500 {
			s.log.ErrorContext(r.Context(), "token request failed", "route", r.Pattern, "err", err)
		}
		if status == http.StatusServiceUnavailable {
			writeOAuthError(w, status, "temporarily_unavailable", "a store is unavailable; try again shortly")
			return
		}
		writeOAuthError(w, http.StatusInternalServerError, "server_error", "internal error")
	}
}

// oauthForm reads an application/x-www-form-urlencoded body (RFC 6749 §3.2)
// bounded like every body. Parameters other than resource must not repeat.
func oauthForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		writeOAuthError(w, http.StatusUnsupportedMediaType, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeOAuthError(w, http.StatusRequestEntityTooLarge, "invalid_request", fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes))
		} else {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		}
		return nil, false
	}
	for k, v := range r.PostForm {
		if len(v) > 1 && k != "resource" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("parameter %q is given more than once", k))
			return nil, false
		}
	}
	return r.PostForm, true
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

func writeTokenResponse(w http.ResponseWriter, p token.Pair) {
	// NOTE: token responses are never cached (RFC 6749 §5.1, S8).
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	scope := p.Scope
	if scope == "" {
		scope = p.Claims.Scope
	}
	writeJSON(w, http.StatusOK, tokenResponse{p.AccessToken, p.TokenType, p.ExpiresIn, p.RefreshToken, scope, p.IDToken})
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	form, ok := oauthForm(w, r)
	if !ok {
		return
	}
	bind, ok := s.tokenProof(w, r)
	if !ok {
		return
	}
	switch gt := form.Get("grant_type"); {
	case gt == "password" && s.cfg.PasswordGrant:
		user, pw := form.Get("username"), form.Get("password")
		if user == "" || pw == "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "username and password are required")
			return
		}
		meta := s.meta(r)
		// NOTE: the password grant shares the login throttle and its
		// counters: it is the same guess at the same password.
		u, err := s.deps.Accounts.Authenticate(r.Context(), user, pw, meta)
		if err != nil {
			s.countLogin(err)
			s.failOAuth(w, r, err)
			return
		}
		p, err := s.deps.Tokens.IssuePair(r.Context(), u, form["resource"], bind...)
		if err != nil {
			s.failOAuth(w, r, err)
			return
		}
		s.metrics.logins.WithLabelValues("ok").Inc()
		s.deps.Accounts.Record(r.Context(), authd.AuditEvent{Event: authd.EventLoginSucceeded, UserID: u.ID, SessionID: p.Claims.SessionID,
			IP: meta.IP, UserAgent: meta.UserAgent, Detail: "password grant"})
		writeTokenResponse(w, p)
	case gt == "refresh_token":
		rt := form.Get("refresh_token")
		if rt == "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "refresh_token is required")
			return
		}
		if len(form["resource"]) > 0 {
			writeOAuthError(w, http.StatusBadRequest, "invalid_target", "a refresh keeps the audience of its grant; resource is not accepted here")
			return
		}
		clientID, ok := s.refreshClient(w, r, form)
		if !ok {
			return
		}
		m := s.meta(r)
		p, err := s.deps.Tokens.Refresh(token.WithClient(r.Context(), m.IP, m.UserAgent), rt, clientID, bind...)
		if err != nil {
			s.failOAuth(w, r, err)
			return
		}
		writeTokenResponse(w, p)
	case gt == authd.GrantAuthorizationCode && s.deps.OIDC != nil:
		s.authorizationCode(w, r, form, bind)
	case gt == authd.GrantClientCredentials && s.deps.Clients != nil:
		s.clientCredentials(w, r, form, bind)
	case gt == "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type",
			"supported grant types: "+strings.Join(s.grantTypes(), ", "))
	}
}

// grantTypes lists the grants /oauth2/token accepts, as discovery names
// them.
func (s *Server) grantTypes() []string {
	g := []string{authd.GrantRefreshToken}
	if s.deps.OIDC != nil {
		g = append([]string{authd.GrantAuthorizationCode}, g...)
	}
	if s.deps.Clients != nil {
		g = append(g, authd.GrantClientCredentials)
	}
	if s.cfg.PasswordGrant {
		g = append(g, "password")
	}
	return g
}

// countLogin counts a failed or throttled login.
func (s *Server) countLogin(err error) {
	var thr *authd.ThrottledError
	switch {
	case errors.As(err, &thr):
		s.metrics.logins.WithLabelValues("throttled").Inc()
	case errors.Is(err, authd.ErrInvalidCredentials):
		s.metrics.logins.WithLabelValues("failed").Inc()
	}
}

// tokenParam reads the form of /oauth2/revoke and /oauth2/introspect and
// its required token parameter (RFC 7009 §2.1, RFC 7662 §2.1). It reports
// false when it has answered the request itself.
func tokenParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	form, ok := oauthForm(w, r)
	if !ok {
		return "", false
	}
	tok := form.Get("token")
	if tok == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return "", false
	}
	return tok, true
}

func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	tok, ok := tokenParam(w, r)
	if !ok {
		return
	}
	if !s.mayRevoke(w, r, tok) {
		return
	}
	m := s.meta(r)
	// RFC 7009 §2.2: an unknown or invalid token is 200 too.
	if err := s.deps.Tokens.Revoke(token.WithClient(r.Context(), m.IP, m.UserAgent), tok); err != nil {
		s.failOAuth(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// mayRevoke applies RFC 7009 §2.1 to a revocation request for tok: a
// client that sends credentials must authenticate, and a token issued to a
// client (the client_credentials grant) is revoked only by that client. It
// reports false when it has answered the request itself.
//
// NOTE: tokens of no client (the password grant, a session's token)
// belong to no registered client: whoever holds one
// may revoke it, as a public client would (RFC 7009 §5: revoking is no
// threat to the token's owner). A client's token is another matter: anyone
// who saw it must not be able to cut the client off.
func (s *Server) mayRevoke(w http.ResponseWriter, r *http.Request, tok string) bool {
	// A confidential client authenticates; a public client names itself
	// with client_id (it has nothing else to prove who it is).
	caller, ok := s.refreshClient(w, r, r.PostForm)
	if !ok {
		return false
	}
	owner, err := s.deps.Tokens.IssuedTo(r.Context(), tok)
	if err != nil {
		s.failOAuth(w, r, err)
		return false
	}
	switch {
	case owner == "" || owner == caller:
		return true
	case caller == "":
		w.Header().Set("WWW-Authenticate", `Basic realm="authd"`)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "this token was issued to a client: authenticate as that client to revoke it")
	default:
		writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", "this token was issued to another client")
	}
	return false
}

func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	tok, ok := tokenParam(w, r)
	if !ok {
		return
	}
	if _, ok := s.authenticateClient(w, r, r.PostForm); !ok {
		return
	}
	res, err := s.deps.Tokens.Introspect(r.Context(), tok)
	if err != nil {
		s.failOAuth(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) handleSessionToken(w http.ResponseWriter, r *http.Request, sess *authd.Session) {
	p, err := s.deps.Tokens.IssueForSession(r.Context(), sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeTokenResponse(w, p)
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	// Verifiers refetch on an unknown kid, so a short max-age is enough to
	// spread a rotation; a retired key stays published past its last token.
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Type", "application/jwk-set+json")
	_, _ = w.Write(s.deps.Tokens.JWKS())
}

func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request) {
	iss := strings.TrimRight(s.cfg.Issuer, "/")
	// NOTE: every field describes what this server does now (a client
	// trusts discovery): only the grants enabled, only the algorithms
	// tokens are really signed with; DPoP only where proofs are checked.
	md := map[string]any{
		"issuer":                                        iss,
		"jwks_uri":                                      iss + "/.well-known/jwks.json",
		"token_endpoint":                                iss + "/oauth2/token",
		"revocation_endpoint":                           iss + "/oauth2/revoke",
		"introspection_endpoint":                        iss + "/oauth2/introspect",
		"revocation_feed_endpoint":                      iss + "/v1/revocations",
		"grant_types_supported":                         s.grantTypes(),
		"response_types_supported":                      []string{},
		"token_endpoint_auth_methods_supported":         []string{"none", "client_secret_basic", "client_secret_post"},
		"introspection_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"revocation_endpoint_auth_methods_supported":    []string{"none", "client_secret_basic", "client_secret_post"},
		"access_token_signing_alg_values_supported":     s.deps.Tokens.SigningAlgs(),
	}
	if s.deps.DPoP != nil {
		md["dpop_signing_alg_values_supported"] = dpop.Algorithms()
	}
	if s.deps.OIDC != nil {
		md["authorization_endpoint"] = iss + "/oauth2/authorize"
		md["userinfo_endpoint"] = iss + "/oauth2/userinfo"
		md["end_session_endpoint"] = iss + "/oauth2/logout"
		md["response_types_supported"] = []string{"code"}
		md["response_modes_supported"] = []string{"query"}
		md["code_challenge_methods_supported"] = []string{"S256"}
		md["scopes_supported"] = oidc.KnownScopes()
		md["claims_supported"] = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "at_hash", "amr", "acr", "email", "email_verified", "roles"}
		md["subject_types_supported"] = []string{"public"}
		md["id_token_signing_alg_values_supported"] = s.deps.Tokens.IDTokenAlgs()
		md["prompt_values_supported"] = []string{"none", "login", "consent"}
		md["acr_values_supported"] = []string{oidc.ACRPassword}
		if s.deps.MFA != nil {
			md["acr_values_supported"] = []string{oidc.ACRPassword, oidc.ACRTwoFactor}
		}
		md["backchannel_logout_supported"] = true
		md["backchannel_logout_session_supported"] = true
		md["authorization_response_iss_parameter_supported"] = true
		md["claims_parameter_supported"] = false
		md["request_parameter_supported"] = false
		md["request_uri_parameter_supported"] = false
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, md)
}

// MaxFeedWait bounds the long-poll of the revocation feed.
const MaxFeedWait = 30 * time.Second

type feedEntry struct {
	SID string    `json:"sid,omitempty"`
	JTI string    `json:"jti,omitempty"`
	Exp time.Time `json:"exp"`
}

func (s *Server) handleRevocations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var wait time.Duration
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			writeProblem(w, r, http.StatusBadRequest, "wait must be a duration like 30s")
			return
		}
		wait = min(d, MaxFeedWait)
	}
	entries, cursor, err := s.deps.Tokens.Revocations().Feed(r.Context(), q.Get("since"), wait)
	if err != nil {
		var inv *authd.InvalidError
		if errors.As(err, &inv) {
			writeProblem(w, r, http.StatusBadRequest, "since is not a cursor this server issued")
			return
		}
		s.fail(w, r, err)
		return
	}
	out := make([]feedEntry, 0, len(entries))
	for _, e := range entries {
		fe := feedEntry{Exp: e.ExpiresAt.UTC()}
		if e.Kind == authd.RevokeJTI {
			fe.JTI = e.ID
		} else {
			fe.SID = e.ID
		}
		out = append(out, fe)
	}
	writeJSON(w, http.StatusOK, map[string]any{"cursor": cursor, "revoked": out})
}
