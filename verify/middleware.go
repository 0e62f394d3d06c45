package verify

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/authd/authd/dpop"
)

type claimsKey struct{}

// dpopKey answers whether the request's token came with the DPoP scheme.
type dpopKey struct{}

// ClaimsFrom returns the claims Middleware put into the request's context.
func ClaimsFrom(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	if !ok {
		return Claims{}, false
	}
	return *c, true
}

// WithClaims returns a copy of ctx carrying c, as Middleware does (for
// tests of handlers that read ClaimsFrom).
func WithClaims(ctx context.Context, c Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, &c)
}

// Middleware authenticates every request by its access token and calls
// next with the claims in the request's context (ClaimsFrom). A token is
// read from the Authorization header: "Bearer <token>" for a bearer
// token, "DPoP <token>" with a DPoP header holding a proof (RFC 9449) for
// a DPoP-bound one (cnf.jkt), the latter only with WithPublicURL.
// Otherwise it answers:
//   - 401 with "WWW-Authenticate: Bearer" when there is no Authorization
//     header (with WithPublicURL, a second challenge `DPoP algs="…"`;
//     under WithDPoPRequired, that one alone), and with
//     `Bearer error="invalid_token"` when the header is not one token of a
//     known scheme or the token is refused (RFC 6750 §3); the body says
//     nothing about why (the reason is logged at debug level);
//   - 401 with `DPoP error="invalid_token", algs="…"` (RFC 9449 §7.1) for
//     a DPoP-bound token sent as a bearer token, a token that is not bound
//     sent with the DPoP scheme, any bearer token under WithDPoPRequired,
//     and a refused token sent with the DPoP scheme;
//   - 401 with `DPoP error="invalid_dpop_proof", algs="…"` when the proof
//     is missing, breaks a rule of RFC 9449 §4.3 (see package dpop), was
//     seen before, or is signed by another key than the token's;
//   - 503 with Retry-After when the token cannot be checked because the
//     revocation list is stale (fail closed), or a proof cannot be because
//     the replay set failed or is full.
//
// Without WithPublicURL, DPoP is refused: a DPoP-bound token, and the
// DPoP scheme, get `Bearer error="invalid_token"`, and a warning is
// logged once saying that WithPublicURL is missing.
//
// The proof must name the request's method (htm) and its URL (htu):
// WithPublicURL's scheme and host and the request's path (r.URL, escaped
// as it came), its query ignored. So the middleware must see the path as
// the client sent it: put it before http.StripPrefix, and behind proxies
// that do not rewrite the path.
//
// Put CORS handling in front of it: a preflight (OPTIONS) request carries
// no token and would get the 401.
//
// NOTE: tokens are read from the Authorization header only, never from
// the URL, a form or a cookie (SECURITY J13).
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, tok, ok := credentials(r)
		switch {
		case scheme == noCredentials:
			v.askForCredentials(w)
			return
		case scheme == schemeDPoP && v.dpop == nil:
			v.warnNoPublicURL(r.Context(), "the DPoP scheme")
			unauthorized(w, `Bearer error="invalid_token"`)
			return
		case !ok:
			v.refuse(w, r, scheme == schemeDPoP || v.cfg.dpopRequired, "invalid_token", errMalformedAuthorization)
			return
		}
		c, err := v.verify(r.Context(), tok)
		if err != nil {
			if errors.Is(err, ErrUnavailable) {
				unavailable(w, "the token cannot be checked right now; try again shortly")
				return
			}
			v.refuse(w, r, scheme == schemeDPoP || v.cfg.dpopRequired, "invalid_token", err)
			return
		}
		if scheme == schemeBearer {
			switch {
			case c.JKT != "" && v.dpop == nil:
				v.warnNoPublicURL(r.Context(), "a DPoP-bound token")
				v.refuse(w, r, false, "invalid_token", errBoundAsBearer)
				return
			case c.JKT != "":
				v.refuse(w, r, true, "invalid_token", errBoundAsBearer)
				return
			case v.cfg.dpopRequired:
				v.refuse(w, r, true, "invalid_token", errDPoPRequired)
				return
			}
			next.ServeHTTP(w, r.WithContext(newClaimsContext(r.Context(), c, false)))
			return
		}
		if c.JKT == "" {
			v.refuse(w, r, true, "invalid_token", errUnboundAsDPoP)
			return
		}
		if err := v.checkProof(r, tok, c.JKT); err != nil {
			if errors.Is(err, dpop.ErrMissing) || errors.Is(err, dpop.ErrInvalid) || errors.Is(err, dpop.ErrReplayed) {
				v.refuse(w, r, true, "invalid_dpop_proof", err)
				return
			}
			v.cfg.log.ErrorContext(r.Context(), "verify: DPoP proof cannot be checked", "err", err)
			unavailable(w, "the proof cannot be checked right now; try again shortly")
			return
		}
		next.ServeHTTP(w, r.WithContext(newClaimsContext(r.Context(), c, true)))
	})
}

// Refusals of the middleware, for its debug log.
var (
	errMalformedAuthorization = errors.New("verify: Authorization is not one token of the Bearer or DPoP scheme")
	errBoundAsBearer          = errors.New("verify: a DPoP-bound token sent as a bearer token")
	errDPoPRequired           = errors.New("verify: a bearer token, and DPoP is required (WithDPoPRequired)")
	errUnboundAsDPoP          = errors.New("verify: a token that is not DPoP-bound sent with the DPoP scheme")
	errProofKey               = fmt.Errorf("%w: signed by another key than the token is bound to", dpop.ErrInvalid)
	errNoPath                 = fmt.Errorf("%w: the request has no absolute path for htu", dpop.ErrInvalid)
)

// checkProof checks the request's DPoP proof for tok, a token bound to
// jkt: RFC 9449 §4.3 by the dpop.Checker, with htu the public URL and the
// request's path, then that the proof's key is the token's (§6.1).
func (v *Verifier) checkProof(r *http.Request, tok, jkt string) error {
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	if path[0] != '/' {
		return errNoPath
	}
	p, err := v.dpop.Check(r.Context(), r.Header.Values("DPoP"), dpop.Request{
		Method: r.Method, URL: v.cfg.publicURL + path, AccessToken: tok,
	})
	switch {
	case err != nil:
		return err
	case subtle.ConstantTimeCompare([]byte(p.JKT), []byte(jkt)) != 1:
		return errProofKey
	}
	return nil
}

// dpopAlgs is the algs parameter of DPoP challenges (RFC 9449 §7.1).
var dpopAlgs = `algs="` + strings.Join(dpop.Algorithms(), " ") + `"`

// askForCredentials answers a request without an Authorization header:
// 401 with a challenge of each scheme the middleware accepts.
func (v *Verifier) askForCredentials(w http.ResponseWriter) {
	h := w.Header()
	switch {
	case v.dpop == nil:
		unauthorized(w, `Bearer`)
		return
	case v.cfg.dpopRequired:
		h.Set("WWW-Authenticate", `DPoP `+dpopAlgs)
	default:
		h.Set("WWW-Authenticate", `Bearer`)
		h.Add("WWW-Authenticate", `DPoP `+dpopAlgs)
	}
	problem(w, http.StatusUnauthorized, "a valid access token is required")
}

// refuse answers 401 with the error code in a DPoP challenge when
// dpopChallenge, else in a Bearer one, and logs err at debug level.
func (v *Verifier) refuse(w http.ResponseWriter, r *http.Request, dpopChallenge bool, code string, err error) {
	v.cfg.log.DebugContext(r.Context(), "verify: token refused", "err", err)
	if dpopChallenge {
		w.Header().Set("WWW-Authenticate", `DPoP error="`+code+`", `+dpopAlgs)
		problem(w, http.StatusUnauthorized, "a valid DPoP-bound token and DPoP proof are required")
		return
	}
	unauthorized(w, `Bearer error="`+code+`"`)
}

// warnNoPublicURL logs, once, that DPoP was refused for want of
// WithPublicURL.
func (v *Verifier) warnNoPublicURL(ctx context.Context, what string) {
	v.noPublicURL.Do(func() {
		v.cfg.log.WarnContext(ctx, "verify: "+what+" was refused: DPoP needs the service's public URL "+
			"(verify.WithPublicURL) to check proofs against; DPoP-bound tokens are refused until it is set")
	})
}

// claimsContext carries a request's claims: the context, the caller's copy
// of the claims and, for the usual few audiences and roles, their slices,
// in one allocation (the middleware runs on every request).
type claimsContext struct {
	context.Context
	claims Claims
	dpop   bool // the token came with the DPoP scheme and its proof
	buf    [8]string
}

func newClaimsContext(parent context.Context, c *Claims, dpop bool) *claimsContext {
	cc := &claimsContext{Context: parent, claims: *c, dpop: dpop}
	na, nr := len(c.Audience), len(c.Roles)
	if na+nr > len(cc.buf) {
		cc.claims = c.clone()
		return cc
	}
	// Copies, so that a handler changing its claims changes nothing held
	// by the verifier's cache.
	if c.Audience != nil {
		cc.claims.Audience = cc.buf[:na:na]
		copy(cc.claims.Audience, c.Audience)
	}
	if c.Roles != nil {
		cc.claims.Roles = cc.buf[na : na+nr : na+nr]
		copy(cc.claims.Roles, c.Roles)
	}
	return cc
}

// Value answers claimsKey with the claims and defers everything else to
// the parent, as context.WithValue does.
func (cc *claimsContext) Value(key any) any {
	switch key {
	case claimsKey{}:
		return &cc.claims
	case dpopKey{}:
		return cc.dpop
	}
	return cc.Context.Value(key)
}

// RequireRole returns middleware that lets through only requests whose
// claims (put there by Middleware, which must run first) carry role; others
// get 403 with `WWW-Authenticate: Bearer error="insufficient_scope"` (RFC
// 6750 §3.1; `DPoP error="insufficient_scope", algs="…"` for a token that
// came with the DPoP scheme), or 401 when there are no claims at all.
//
//	mux.Handle("GET /admin", v.Middleware(verify.RequireRole("admin")(admin)))
func RequireRole(role string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := ClaimsFrom(r.Context())
			if !ok {
				unauthorized(w, `Bearer`)
				return
			}
			if !c.HasRole(role) {
				if d, _ := r.Context().Value(dpopKey{}).(bool); d {
					w.Header().Set("WWW-Authenticate", `DPoP error="insufficient_scope", `+dpopAlgs)
				} else {
					w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
				}
				problem(w, http.StatusForbidden, "the token does not grant this role")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// The schemes of an Authorization header.
const (
	noCredentials = iota // no Authorization header
	schemeOther          // a header of no accepted scheme, or several headers
	schemeBearer
	schemeDPoP
)

// credentials returns the scheme and the token of the request's
// Authorization header: ok is false unless there is exactly one header,
// of the Bearer or the DPoP scheme (in any case), with one token of at
// most MaxTokenSize bytes.
func credentials(r *http.Request) (scheme int, tok string, ok bool) {
	h := r.Header["Authorization"]
	switch {
	case len(h) == 0:
		return noCredentials, "", false
	case len(h) > 1 || len(h[0]) > MaxTokenSize+len("Bearer "):
		return schemeOther, "", false
	}
	name, tok, found := strings.Cut(h[0], " ")
	switch {
	case strings.EqualFold(name, "Bearer"):
		scheme = schemeBearer
	case strings.EqualFold(name, "DPoP"):
		scheme = schemeDPoP
	default:
		return schemeOther, "", false
	}
	// (IndexByte, not ContainsAny: this runs on every request.)
	if !found || tok == "" || strings.IndexByte(tok, ' ') >= 0 || strings.IndexByte(tok, '\t') >= 0 {
		return scheme, "", false
	}
	return scheme, tok, true
}

func unauthorized(w http.ResponseWriter, challenge string) {
	w.Header().Set("WWW-Authenticate", challenge)
	problem(w, http.StatusUnauthorized, "a valid bearer token is required")
}

func unavailable(w http.ResponseWriter, detail string) {
	w.Header().Set("Retry-After", "1")
	problem(w, http.StatusServiceUnavailable, detail)
}

// problem writes a small RFC 9457 body; detail never carries the reason a
// token was refused.
func problem(w http.ResponseWriter, status int, detail string) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"type":"about:blank","title":"` + http.StatusText(status) + `","status":` +
		strconv.Itoa(status) + `,"detail":"` + detail + `"}`))
}
