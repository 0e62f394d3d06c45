package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/authd/authd"
	"github.com/authd/authd/dpop"
)

// MaxBearerLen bounds an Authorization header before anything parses it.
const MaxBearerLen = 8 << 10

// errBadAuthorization is an Authorization header that is not a bearer or
// DPoP token.
var errBadAuthorization = errors.New("authorization header is not a bearer or DPoP token")

// bearer returns the token of an "Authorization: Bearer" or
// "Authorization: DPoP" header. NOTE: tokens are read from this header
// only, never from the URL or a cookie (J13).
func bearer(r *http.Request) (tok string, present bool, err error) {
	_, tok, present, err = credential(r)
	return tok, present, err
}

// credential returns the scheme ("bearer" or "dpop", RFC 9449 §7.1) and
// the token of the Authorization header.
func credential(r *http.Request) (scheme, tok string, present bool, err error) {
	h := r.Header.Values("Authorization")
	if len(h) == 0 {
		return "", "", false, nil
	}
	if len(h) > 1 || len(h[0]) > MaxBearerLen {
		return "", "", true, errBadAuthorization
	}
	scheme, tok, ok := strings.Cut(h[0], " ")
	// The scheme is case-insensitive (RFC 9110 §11.1). EqualFold and
	// IndexByte rather than ToLower and ContainsAny: this runs on every
	// request that carries a token, over a token of 400–800 bytes.
	switch {
	case strings.EqualFold(scheme, "bearer"):
		scheme = "bearer"
	case strings.EqualFold(scheme, "dpop"):
		scheme = "dpop"
	default:
		ok = false
	}
	if !ok || tok == "" || strings.IndexByte(tok, ' ') >= 0 || strings.IndexByte(tok, '\t') >= 0 {
		return "", "", true, errBadAuthorization
	}
	return scheme, tok, true, nil
}

// fromSession authenticates r by its session cookie alone.
func (s *Server) fromSession(ctx context.Context, r *http.Request) (*authd.Principal, *authd.Session, error) {
	v, ok := s.sessionCookie(r)
	if !ok {
		return nil, nil, authd.ErrUnauthenticated
	}
	sess, err := s.deps.Sessions.Lookup(ctx, v)
	if err != nil {
		return nil, nil, err
	}
	return &authd.Principal{UserID: sess.UserID, Email: sess.Email, Roles: sess.Roles, Auth: authd.AuthSession, SessionID: sess.ID,
		AMR: sess.AMR}, sess, nil
}

// principal authenticates r by a bearer token when it carries an
// Authorization header, else by its session cookie.
func (s *Server) principal(r *http.Request) (*authd.Principal, error) {
	scheme, tok, present, err := credential(r)
	if !present {
		p, _, err := s.fromSession(r.Context(), r)
		return p, err
	}
	if err != nil || s.deps.Verifier == nil {
		return nil, authd.ErrUnauthenticated
	}
	c, err := s.deps.Verifier.Verify(r.Context(), tok)
	if err != nil {
		return nil, err
	}
	if err := s.checkBinding(r, scheme, tok, c); err != nil {
		return nil, err
	}
	return &authd.Principal{UserID: c.Subject, Email: c.Email, Roles: c.Roles, Auth: authd.AuthToken, SessionID: c.SessionID,
		AMR: c.AMR, Token: c}, nil
}

// errClientToken is a valid access token that belongs to a client (the
// client_credentials grant), presented where a user is needed.
var errClientToken = errors.New("httpapi: the token belongs to a client, not a user")

// userPrincipal is principal for routes that answer about a user: a
// client's own token, which has no user behind it, is errClientToken.
func (s *Server) userPrincipal(r *http.Request) (*authd.Principal, error) {
	p, err := s.principal(r)
	if err == nil && p.Token != nil && p.Token.ForClient() {
		return nil, errClientToken
	}
	return p, err
}

// failAuth answers an authentication failure: 401 with the bearer
// challenge of RFC 6750 and no internal detail (J13), or the error's own
// status for anything else (503 when a store is down).
func (s *Server) failAuth(w http.ResponseWriter, r *http.Request, err error) {
	if detail, ok := s.dpopChallenge(w, err); ok {
		writeProblem(w, r, http.StatusUnauthorized, detail)
		return
	}
	if errors.Is(err, authd.ErrUnauthenticated) {
		if _, present, _ := bearer(r); present {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer`)
		}
		writeProblem(w, r, http.StatusUnauthorized, "sign in first: no valid session or token came with the request")
		return
	}
	if errors.Is(err, errClientToken) {
		// NOTE: the token is valid but names no user: 403 (RFC 6750 §3.1
		// insufficient_scope), not 401, so that the client does not retry
		// with a fresh token of the same kind.
		if scheme, _, _, _ := credential(r); scheme == "dpop" {
			// RFC 9449 §7.1: the challenge names the scheme used.
			w.Header().Set("WWW-Authenticate", `DPoP error="insufficient_scope", algs="`+strings.Join(dpop.Algorithms(), " ")+`"`)
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
		}
		writeProblem(w, r, http.StatusForbidden, "this token belongs to a client, not a user: this request needs a user's session or token")
		return
	}
	s.fail(w, r, err)
}
