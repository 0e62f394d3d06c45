package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/authd/authd"
	"github.com/authd/authd/dpop"
	"github.com/authd/authd/token"
)

// Errors of DPoP-bound tokens at resources, answered 401 with a DPoP
// challenge (RFC 9449 §7.1).
var (
	// errBoundAsBearer: a DPoP-bound token sent as a bearer token.
	errBoundAsBearer = errors.New("httpapi: a DPoP-bound token must be sent with Authorization: DPoP and a proof")
	// errUnboundAsDPoP: the DPoP scheme with a token that is not bound.
	errUnboundAsDPoP = errors.New("httpapi: the token is not DPoP-bound; send it as a bearer token")
	// errDPoPRequired: a bearer token while --dpop-required.
	errDPoPRequired = errors.New("httpapi: this server accepts DPoP-bound tokens only (--dpop-required)")
	// errProofKey: a proof signed by another key than the token's.
	errProofKey = errors.New("httpapi: the DPoP proof is not signed by the key the token is bound to")
	// errNoOriginal: at /v1/authz, the original request is unknown (no
	// forwarding headers from a trusted proxy), so a proof cannot be
	// checked against it.
	errNoOriginal = errors.New("httpapi: the original request's method and URL are unknown (forwarding headers from a --trusted-proxy are needed for DPoP)")
)

// dpopError is a refused DPoP credential: 401 with its challenge.
type dpopError struct {
	code string // invalid_token, invalid_dpop_proof, use_dpop_nonce
	err  error
}

func (e *dpopError) Error() string { return e.err.Error() }

// detail is the error as the client is told it: without the package
// prefix (the texts of package dpop never hold the proof or the token).
func (e *dpopError) detail() string {
	d := e.err.Error()
	for _, p := range []string{"httpapi: ", "dpop: "} {
		d = strings.TrimPrefix(d, p)
	}
	return d
}
func (e *dpopError) Unwrap() error { return authd.ErrUnauthenticated }

// publicURL is authd's public URL for path: the scheme and host of
// --issuer, and the path (RFC 9449 §4.3: htu names the request as the
// client addresses it, which behind a proxy is not what authd sees).
func (s *Server) publicURL(path string) string {
	return s.origin + path
}

// issuerOrigin is the scheme and host of issuer ("" when it does not
// parse: publicURL is then the bare path, which no proof names).
func issuerOrigin(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// tokenProof checks the DPoP proof of a token request (RFC 9449 §5): no
// proof gives no options (a bearer token) unless --dpop-required; a good
// proof binds what is issued to its key. A refusal is answered here.
func (s *Server) tokenProof(w http.ResponseWriter, r *http.Request) ([]token.IssueOption, bool) {
	if s.deps.DPoP == nil {
		return nil, true
	}
	hs := r.Header.Values("DPoP")
	if len(hs) == 0 {
		if s.cfg.DPoPRequired {
			writeOAuthError(w, http.StatusBadRequest, "invalid_dpop_proof", "this server issues DPoP-bound tokens only: send a DPoP proof (RFC 9449)")
			return nil, false
		}
		return nil, true
	}
	p, err := s.deps.DPoP.Check(r.Context(), hs, dpop.Request{Method: r.Method, URL: s.publicURL(r.URL.EscapedPath())})
	if err != nil {
		var nonce *dpop.UseNonceError
		switch {
		case errors.As(err, &nonce):
			w.Header().Set("DPoP-Nonce", nonce.Nonce)
			writeOAuthError(w, http.StatusBadRequest, "use_dpop_nonce", "send the DPoP proof again with the nonce of the DPoP-Nonce header")
		case errors.Is(err, dpop.ErrMissing), errors.Is(err, dpop.ErrInvalid), errors.Is(err, dpop.ErrReplayed):
			writeOAuthError(w, http.StatusBadRequest, "invalid_dpop_proof", err.Error())
		default:
			s.failOAuth(w, r, err)
		}
		return nil, false
	}
	if n := s.deps.DPoP.Nonce(); n != "" {
		w.Header().Set("DPoP-Nonce", n)
	}
	return []token.IssueOption{token.BoundTo(p.JKT)}, true
}

// checkBinding decides whether a verified access token c may be used as
// it came: scheme is the Authorization scheme ("bearer" or "dpop") and
// raw the token. A bound token needs the DPoP scheme and a proof of its
// key for this request; an unbound one the bearer scheme (and is refused
// under --dpop-required).
func (s *Server) checkBinding(r *http.Request, scheme, raw string, c *authd.Claims) error {
	switch {
	case scheme == "bearer" && c.JKT != "":
		return &dpopError{"invalid_token", errBoundAsBearer}
	case scheme == "bearer" && s.cfg.DPoPRequired:
		return &dpopError{"invalid_token", errDPoPRequired}
	case scheme == "bearer":
		return nil
	case c.JKT == "":
		return &dpopError{"invalid_token", errUnboundAsDPoP}
	case s.deps.DPoP == nil:
		return &dpopError{"invalid_token", errors.New("httpapi: DPoP is not enabled on this server")}
	}
	method, u, ok := s.proofTarget(r)
	if !ok {
		return &dpopError{"invalid_dpop_proof", errNoOriginal}
	}
	p, err := s.deps.DPoP.Check(r.Context(), r.Header.Values("DPoP"), dpop.Request{Method: method, URL: u, AccessToken: raw})
	var nonce *dpop.UseNonceError
	switch {
	case errors.As(err, &nonce):
		return &dpopError{"use_dpop_nonce:" + nonce.Nonce, err}
	case errors.Is(err, dpop.ErrMissing), errors.Is(err, dpop.ErrInvalid), errors.Is(err, dpop.ErrReplayed):
		return &dpopError{"invalid_dpop_proof", err}
	case err != nil:
		return err
	case p.JKT != c.JKT:
		return &dpopError{"invalid_dpop_proof", errProofKey}
	}
	return nil
}

// proofTarget is the method and URL a resource request's proof must name:
// this request, as authd's public URL names it; at /v1/authz the original
// request a trusted proxy forwards (X-Forwarded-Method, -Proto, -Host,
// -Uri as Traefik sends them — or the original Host, as deploy/nginx
// does — or X-Original-Method and X-Original-URL), which is believed only
// from --trusted-proxy addresses.
func (s *Server) proofTarget(r *http.Request) (method, u string, ok bool) {
	if r.URL.Path != "/v1/authz" {
		return r.Method, s.publicURL(r.URL.EscapedPath()), true
	}
	if !s.fromTrustedProxy(r) {
		return "", "", false
	}
	h := r.Header
	if m, ou := h.Get("X-Original-Method"), h.Get("X-Original-URL"); m != "" && ou != "" {
		return m, ou, true
	}
	m, proto, host, uri := h.Get("X-Forwarded-Method"), h.Get("X-Forwarded-Proto"), h.Get("X-Forwarded-Host"), h.Get("X-Forwarded-Uri")
	if host == "" {
		// nginx's auth_request (deploy/nginx) passes the original Host.
		host = r.Host
	}
	if m == "" || proto == "" || host == "" || uri == "" {
		return "", "", false
	}
	return m, proto + "://" + host + uri, true
}

// fromTrustedProxy reports whether r's peer is a --trusted-proxy.
func (s *Server) fromTrustedProxy(r *http.Request) bool {
	peer, _, ok := peerAddr(r)
	return ok && s.trusted(peer)
}

// dpopChallenge writes the WWW-Authenticate challenge of a refused DPoP
// credential (RFC 9449 §7.1) and returns the detail to answer, or false
// when err is not one.
func (s *Server) dpopChallenge(w http.ResponseWriter, err error) (string, bool) {
	var de *dpopError
	if !errors.As(err, &de) {
		return "", false
	}
	code := de.code
	if n, ok := strings.CutPrefix(code, "use_dpop_nonce:"); ok {
		w.Header().Set("DPoP-Nonce", n)
		code = "use_dpop_nonce"
	}
	w.Header().Set("WWW-Authenticate", `DPoP error="`+code+`", algs="`+strings.Join(dpop.Algorithms(), " ")+`"`)
	return de.detail(), true
}
