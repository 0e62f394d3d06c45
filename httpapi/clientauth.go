package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/authd/authd"
	"github.com/authd/authd/token"
)

// authenticateClient authenticates the confidential client of an OAuth
// request made to /oauth2/token or /oauth2/introspect, whose form is
// form: client_secret_basic (RFC 6749 §2.3.1: HTTP Basic, id and secret
// form-urlencoded before base64) or client_secret_post (client_id and
// client_secret in the form). It returns the client's id, or reports false
// when it has answered the request itself: 400 invalid_request when both
// methods are used at once (or Basic and another client_id), 401
// invalid_client when no credentials came or they are refused (with the
// Basic challenge when Basic was used or nothing was sent), 503 when the
// client store is down.
func (s *Server) authenticateClient(w http.ResponseWriter, r *http.Request, form url.Values) (*authd.Client, bool) {
	refuse := func(challenge bool, desc string) (*authd.Client, bool) {
		if challenge {
			w.Header().Set("WWW-Authenticate", `Basic realm="authd"`)
		}
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", desc)
		return nil, false
	}
	_, hasAuthz := r.Header["Authorization"]
	_, postID := form["client_id"]
	_, postSecret := form["client_secret"]
	var id, secret string
	switch {
	case hasAuthz && postSecret:
		// NOTE: RFC 6749 §2.3 says a client uses one method per request;
		// two sets of credentials would leave open which one authd trusted.
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "use one client authentication method: HTTP Basic or client_id and client_secret in the form, not both")
		return nil, false
	case hasAuthz:
		rawID, rawSecret, ok := r.BasicAuth()
		if !ok {
			return refuse(true, "the Authorization header is not HTTP Basic client authentication")
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(rawID)
		secret, err2 = url.QueryUnescape(rawSecret)
		if err1 != nil || err2 != nil {
			return refuse(true, "client id and secret must be form-urlencoded before base64 (RFC 6749 §2.3.1)")
		}
		if postID && form.Get("client_id") != id {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "client_id in the form names another client than HTTP Basic")
			return nil, false
		}
	case postID && postSecret:
		id, secret = form.Get("client_id"), form.Get("client_secret")
	default:
		return refuse(true, "client authentication is required: HTTP Basic (client_secret_basic) or client_id and client_secret in the form (client_secret_post)")
	}
	if s.deps.Clients == nil {
		return refuse(hasAuthz, "client authentication failed")
	}
	cl, err := s.deps.Clients.Authenticate(r.Context(), id, secret)
	if err != nil {
		if errors.Is(err, authd.ErrInvalidCredentials) {
			return refuse(hasAuthz, "client authentication failed")
		}
		s.failOAuth(w, r, err)
		return nil, false
	}
	return cl, true
}

// userScopes are the registered scopes a client_credentials
// request without a scope parameter does not get: both are about a user
// (an ID token, offline access to a user's data), and this grant has none.
var userScopes = []string{"openid", "offline_access"}

// clientCredentials answers grant_type=client_credentials (RFC 6749 §4.4):
// an access token for the authenticated client itself, scope a subset of
// its registered scopes, no refresh token and no ID token.
func (s *Server) clientCredentials(w http.ResponseWriter, r *http.Request, form url.Values, bind []token.IssueOption) {
	cl, ok := s.authenticateClient(w, r, form)
	if !ok {
		return
	}
	// NOTE: a client that authenticated but is not registered for this
	// grant is unauthorized_client (RFC 6749 §5.2), not invalid_client: its
	// credentials are right, it may not use them this way. Only
	// confidential clients can get here (Authenticate refuses public ones).
	if !slices.Contains(cl.Grants, authd.GrantClientCredentials) {
		writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", "this client is not registered for the client_credentials grant")
		return
	}
	var scopes []string
	if raw, asked := form["scope"]; asked {
		// RFC 6749 §3.3: scope tokens are separated by single spaces;
		// empty tokens (doubled spaces) are skipped, nothing else splits.
		scopes = slices.DeleteFunc(strings.Split(raw[0], " "), func(s string) bool { return s == "" })
		for _, sc := range scopes {
			if !slices.Contains(cl.Scopes, sc) {
				writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "scope "+sc+" is not registered for this client")
				return
			}
		}
		scopes = slices.Compact(slices.Sorted(slices.Values(scopes)))
	} else {
		for _, sc := range cl.Scopes {
			if !slices.Contains(userScopes, sc) {
				scopes = append(scopes, sc)
			}
		}
	}
	p, err := s.deps.Tokens.IssueForClient(cl.ID, scopes, form["resource"], bind...)
	if err != nil {
		s.failOAuth(w, r, err)
		return
	}
	// NOTE: no audit event of the contract fits an issuance to a client
	// (token_issued is not one), so it goes to the structured log only,
	// without the token.
	m := s.meta(r)
	s.log.InfoContext(r.Context(), "token issued", "grant", authd.GrantClientCredentials, "client_id", cl.ID,
		"jti", p.Claims.ID, "scope", p.Claims.Scope, "aud", p.Claims.Audience, "ip", m.IP)
	writeTokenResponse(w, p)
}

// identifyClient establishes the client of a token request that a public
// client may make (the authorization_code and refresh_token grants): a
// confidential client authenticates as authenticateClient says; a public
// client sends its client_id alone (token_endpoint_auth_method none), or
// HTTP Basic with an empty secret, as golang.org/x/oauth2 does by default.
// required says whether a request naming no client is refused (401
// invalid_client); otherwise it is "" and ok.
func (s *Server) identifyClient(w http.ResponseWriter, r *http.Request, form url.Values, required bool) (*authd.Client, bool) {
	_, hasAuthz := r.Header["Authorization"]
	_, postSecret := form["client_secret"]
	id := form.Get("client_id")
	if hasAuthz && !postSecret {
		if rawID, rawSecret, ok := r.BasicAuth(); ok && rawSecret == "" {
			if bid, err := url.QueryUnescape(rawID); err == nil && (id == "" || id == bid) {
				id, hasAuthz = bid, false
			}
		}
	}
	if hasAuthz || postSecret {
		return s.authenticateClient(w, r, form)
	}
	if id == "" {
		if required {
			writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client_id is required")
			return nil, false
		}
		return nil, true
	}
	if s.deps.Clients == nil {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "unknown client")
		return nil, false
	}
	cl, err := s.deps.Clients.Get(r.Context(), id)
	switch {
	case errors.Is(err, authd.ErrNotFound):
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "unknown client")
		return nil, false
	case err != nil:
		s.failOAuth(w, r, err)
		return nil, false
	case cl.Confidential():
		// NOTE: a confidential client must prove itself: its client_id
		// alone is public knowledge.
		w.Header().Set("WWW-Authenticate", `Basic realm="authd"`)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "this client must authenticate with its secret")
		return nil, false
	}
	return cl, true
}

// refreshClient is the client of a refresh_token (or revocation)
// request: the authenticated or public client's id, or "" when none is
// named. A client_id that names no registered client is treated as none,
// as before clients signed users in: a family of the password grant names
// no client.
func (s *Server) refreshClient(w http.ResponseWriter, r *http.Request, form url.Values) (string, bool) {
	_, hasAuthz := r.Header["Authorization"]
	_, postSecret := form["client_secret"]
	if !hasAuthz && !postSecret && form.Get("client_id") != "" && s.deps.Clients != nil {
		if _, err := s.deps.Clients.Get(r.Context(), form.Get("client_id")); errors.Is(err, authd.ErrNotFound) {
			return "", true
		}
	}
	cl, ok := s.identifyClient(w, r, form, false)
	if cl == nil {
		return "", ok
	}
	return cl.ID, ok
}

// authorizationCode answers grant_type=authorization_code (RFC 6749
// §4.1.3, RFC 7636 §4.5).
func (s *Server) authorizationCode(w http.ResponseWriter, r *http.Request, form url.Values, bind []token.IssueOption) {
	cl, ok := s.identifyClient(w, r, form, true)
	if !ok {
		return
	}
	code, redirectURI, verifier := form.Get("code"), form.Get("redirect_uri"), form.Get("code_verifier")
	switch {
	case code == "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "code is required")
		return
	case redirectURI == "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "redirect_uri is required")
		return
	case verifier == "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "code_verifier is required (PKCE)")
		return
	}
	if len(form["resource"]) > 0 {
		writeOAuthError(w, http.StatusBadRequest, "invalid_target", "the code keeps the resource of its authorization request")
		return
	}
	m := s.meta(r)
	p, err := s.deps.OIDC.Exchange(token.WithClient(r.Context(), m.IP, m.UserAgent), cl, code, redirectURI, verifier, bind...)
	if err != nil {
		s.failOAuth(w, r, err)
		return
	}
	writeTokenResponse(w, p)
}
