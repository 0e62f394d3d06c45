package dpop

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authd/authd/internal/jws"
)

// Defaults of Config.
const (
	DefaultWindow = 60 * time.Second
	DefaultSkew   = 5 * time.Second
)

// The errors of Check. Each error Check returns for a proof wraps one of
// them; their text is safe to log and to show.
var (
	// ErrMissing: the request has no DPoP header.
	ErrMissing = errors.New("dpop: no DPoP proof")
	// ErrInvalid: the proof breaks a rule of RFC 9449 §4.3 (or there are
	// several DPoP headers).
	ErrInvalid = errors.New("dpop: invalid DPoP proof")
	// ErrReplayed: a valid proof whose (thumbprint, jti) was already
	// accepted, on this node or another.
	ErrReplayed = errors.New("dpop: DPoP proof replayed")
	// ErrUseNonce: the proof lacks a nonce the server issued recently
	// (RFC 9449 §8); the error is a *UseNonceError with the nonce to send.
	ErrUseNonce = errors.New("dpop: DPoP nonce required")
)

// UseNonceError is the error of a proof without a fresh server nonce. It
// wraps ErrUseNonce; Nonce is the value to answer in the DPoP-Nonce header
// with error use_dpop_nonce.
type UseNonceError struct {
	Nonce  string
	Reason string // "no nonce" or "stale or unknown nonce"
}

func (e *UseNonceError) Error() string { return ErrUseNonce.Error() + ": " + e.Reason }
func (e *UseNonceError) Unwrap() error { return ErrUseNonce }

// Replays is what a Checker needs of a replay set: authd.ReplaySet's
// Remember, with its contract (atomic across nodes; true for a key not
// recorded or expired, false, changing nothing, for a live one). Every
// authd.ReplaySet is one.
//
// NOTE: the method alone, not authd.ReplaySet, so that dpop does not
// import the root package and verify/ (which must not) can use it with
// its own bounded set.
type Replays interface {
	Remember(ctx context.Context, key string, expiresAt, now time.Time) (bool, error)
}

// Config configures a Checker. The zero value of each field is its
// default.
type Config struct {
	// Window is how far iat may be from now, either way (default 60 s,
	// API.md).
	Window time.Duration
	// Skew is the clock difference between nodes allowed for: a proof's
	// record in the replay set lives Window+Skew after its iat (default
	// 5 s).
	Skew time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Nonce, when not nil, makes a server nonce (RFC 9449 §8) mandatory.
	Nonce *NonceSource
}

// Checker verifies DPoP proofs (RFC 9449 §4.3). It is safe for concurrent
// use.
type Checker struct {
	window, skew time.Duration
	now          func() time.Time
	nonce        *NonceSource
	replays      Replays
}

// New returns a Checker that remembers proofs in replays, which every node
// must share. It panics when replays is nil: a Checker without a replay
// set would accept a captured proof again.
func New(cfg Config, replays Replays) *Checker {
	if replays == nil {
		panic("dpop: New without a replay set")
	}
	c := &Checker{window: cfg.Window, skew: cfg.Skew, now: cfg.Now, nonce: cfg.Nonce, replays: replays}
	if c.window <= 0 {
		c.window = DefaultWindow
	}
	if c.skew <= 0 {
		c.skew = DefaultSkew
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Request is what a proof must match.
type Request struct {
	// Method is the request's method, compared with htm exactly.
	Method string
	// URL is the request's URL as authd's public URL names it: the scheme
	// and host of the issuer and the request's path. A query or fragment
	// is ignored. It must be an absolute http or https URL.
	URL string
	// AccessToken is the access token the request presents, "" at the
	// token endpoint; with one, ath must be ATH(AccessToken), without one
	// there must be no ath.
	AccessToken string
}

// Proof is a verified proof.
type Proof struct {
	// JKT is the RFC 7638 SHA-256 thumbprint of the proof's key, base64url:
	// what cnf.jkt binds a token to.
	JKT      string
	JTI      string
	IssuedAt time.Time
	Alg      string
}

// algorithms are the proof algorithms accepted, each with the key it
// needs. Asymmetric only (RFC 9449 §4.3): never none, never HS*.
//
// NOTE: ES256 first, the one every DPoP client implements; EdDSA, the
// default of authd's own tokens; ES384; PS256 and RS256 for clients whose
// keys live where only RSA does (RS256 is in authd's jws.Algorithms too).
var algorithms = [...]struct {
	name string
	jose jose.SignatureAlgorithm
	fits func(pub crypto.PublicKey) bool
}{
	{"ES256", jose.ES256, ecKey(elliptic.P256())},
	{"EdDSA", jose.EdDSA, edKey},
	{"ES384", jose.ES384, ecKey(elliptic.P384())},
	{"PS256", jose.PS256, rsaKey},
	{"RS256", jose.RS256, rsaKey},
}

func ecKey(curve elliptic.Curve) func(crypto.PublicKey) bool {
	return func(pub crypto.PublicKey) bool {
		k, ok := pub.(*ecdsa.PublicKey)
		return ok && k.Curve == curve
	}
}

func edKey(pub crypto.PublicKey) bool {
	k, ok := pub.(ed25519.PublicKey)
	return ok && len(k) == ed25519.PublicKeySize
}

// rsaKey: an RSA key of jws.MinRSABits or more (go-jose refuses over
// jws.MaxRSABits).
func rsaKey(pub crypto.PublicKey) bool {
	k, ok := pub.(*rsa.PublicKey)
	return ok && k.N.BitLen() >= jws.MinRSABits && k.N.BitLen() <= jws.MaxRSABits
}

// Algorithms returns the proof algorithms a Checker accepts, in a new
// slice: discovery's dpop_signing_alg_values_supported.
func Algorithms() []string {
	names := make([]string, len(algorithms))
	for i, a := range algorithms {
		names[i] = a.name
	}
	return names
}

// privateMembers are the members of a JWK that hold private or symmetric
// key material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
//
// NOTE: go-jose reads an EC or OKP key with d as a private key (refused
// as not public), but an RSA key with p or q and no d as a public one: a
// member is refused for being there, whatever go-jose makes of it
// (RFC 9449 §4.3: "the jwk header does not contain a private key").
// encoding/json matches names case-insensitively, so "D" is refused too.
type privateMembers struct {
	D, P, Q, DP, DQ, QI, Oth, K present
}

type present bool

func (p *present) UnmarshalJSON([]byte) error { *p = true; return nil }

func (m *privateMembers) any() bool {
	return bool(m.D || m.P || m.Q || m.DP || m.DQ || m.QI || m.Oth || m.K)
}

func invalid(reason string) error { return fmt.Errorf("%w: %s", ErrInvalid, reason) }

// Check verifies the DPoP header values of a request (all of them:
// http.Header.Values("DPoP")) against req, as the package comment lists,
// and returns the proof. Its error wraps ErrMissing, ErrInvalid,
// ErrReplayed or ErrUseNonce, or is the replay set's or a malformed
// req.URL's (the server's).
func (c *Checker) Check(ctx context.Context, headers []string, req Request) (*Proof, error) {
	switch len(headers) {
	case 0:
		return nil, ErrMissing
	case 1:
	default:
		return nil, invalid("more than one DPoP header")
	}
	raw := headers[0]
	t, err := jws.ParseDPoPProof(raw)
	if err != nil {
		// The parser's reasons are fixed texts, safe to show.
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	alg := -1
	for i := range algorithms {
		if string(t.Alg) == algorithms[i].name {
			alg = i
			break
		}
	}
	if alg < 0 {
		return nil, invalid("alg is not an accepted asymmetric algorithm (" + fmt.Sprint(Algorithms()) + ")")
	}
	a := &algorithms[alg]
	var priv privateMembers
	if err := json.Unmarshal(t.JWK, &priv); err != nil || priv.any() {
		return nil, invalid("jwk holds private or symmetric key material")
	}
	// NOTE: go-jose verifies the signature. It reads the token again,
	// which the strict parser has accepted: one header object without
	// duplicates, alg, typ and jwk only, so go-jose sees what the parser
	// saw; it is allowed exactly the one algorithm already chosen, and
	// refuses an embedded jwk that is not a valid public key.
	jwsObj, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{a.jose})
	if err != nil || len(jwsObj.Signatures) != 1 {
		return nil, invalid("jwk is not a valid public key")
	}
	hdr := jwsObj.Signatures[0].Header
	jwk := hdr.JSONWebKey
	switch {
	case jwk == nil || !jwk.Valid() || !jwk.IsPublic():
		return nil, invalid("jwk is not a valid public key")
	case !a.fits(jwk.Key):
		return nil, invalid("jwk is not a key of the type " + a.name + " needs")
	case jwk.Algorithm != "" && jwk.Algorithm != a.name:
		return nil, invalid("jwk names another alg")
	case jwk.Use != "" && jwk.Use != "sig":
		return nil, invalid("jwk use is not sig")
	}
	payload, err := jwsObj.Verify(jwk)
	if err != nil || !bytes.Equal(payload, t.Payload) {
		return nil, invalid("signature does not verify with jwk")
	}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, invalid("jwk has no thumbprint")
	}
	jkt := base64.RawURLEncoding.EncodeToString(tp)

	claims, err := jws.DecodeDPoPClaims(t.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if claims.HTM != req.Method {
		return nil, invalid("htm is not the request's method")
	}
	want, ok := normalizeURL(req.URL)
	if !ok {
		return nil, errors.New("dpop: Request.URL is not an absolute http or https URL")
	}
	if got, ok := normalizeURL(claims.HTU); !ok || got != want {
		return nil, invalid("htu is not the request's URL")
	}
	now := c.now()
	switch iat := claims.IssuedAt; {
	case iat.Before(now.Add(-c.window)):
		return nil, invalid("iat too old")
	case iat.After(now.Add(c.window)):
		return nil, invalid("iat in the future")
	}
	switch {
	case req.AccessToken != "" && claims.ATH == nil:
		return nil, invalid("no ath with an access token")
	case req.AccessToken != "" && subtle.ConstantTimeCompare([]byte(*claims.ATH), []byte(ATH(req.AccessToken))) != 1:
		return nil, invalid("ath is not the access token's hash")
	case req.AccessToken == "" && claims.ATH != nil:
		return nil, invalid("ath without an access token")
	}
	if c.nonce != nil {
		switch {
		case claims.Nonce == nil:
			return nil, &UseNonceError{Nonce: c.nonce.Nonce(now), Reason: "no nonce"}
		case !c.nonce.Valid(*claims.Nonce, now):
			return nil, &UseNonceError{Nonce: c.nonce.Nonce(now), Reason: "stale or unknown nonce"}
		}
	}
	// NOTE: keyed by (thumbprint, jti): a jti is the client's choice, so
	// two keys may pick the same one without either replaying the other
	// (ARCHITECTURE: DPoP). The record outlives the last moment any node
	// would accept the proof: iat + Window, + Skew for the nodes' clocks.
	fresh, err := c.replays.Remember(ctx, jkt+":"+claims.JTI, claims.IssuedAt.Add(c.window+c.skew), now)
	if err != nil {
		return nil, fmt.Errorf("dpop: replay set: %w", err)
	}
	if !fresh {
		return nil, ErrReplayed
	}
	return &Proof{JKT: jkt, JTI: claims.JTI, IssuedAt: claims.IssuedAt, Alg: a.name}, nil
}

// Nonce returns the server nonce to send in DPoP-Nonce now, or "" when c
// has no NonceSource. Sending it on successful answers too (RFC 9449 §8.2)
// spares clients a refused request when the period turns.
func (c *Checker) Nonce() string {
	if c.nonce == nil {
		return ""
	}
	return c.nonce.Nonce(c.now())
}

// ATH returns the ath of a proof sent with token: base64url(SHA-256(token))
// (RFC 9449 §4.2).
func ATH(token string) string {
	h := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint, base64url, of a
// public key (*ecdsa.PublicKey, ed25519.PublicKey, *rsa.PublicKey): the
// cnf.jkt of a token bound to it, and Proof.JKT of a proof signed by it.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: pub}
	if !jwk.Valid() || !jwk.IsPublic() {
		return "", errors.New("dpop: not a public key")
	}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("dpop: thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}
