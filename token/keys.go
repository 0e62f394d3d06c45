package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/jws"
)

// Algorithms returns every signing algorithm NewKey accepts (EdDSA, ES256,
// RS256, HS256), the default first, in a new slice.
//
// NOTE: RS256 (RSASSA-PKCS1-v1_5) is offered only for interoperability with
// verifiers that know nothing else: OWASP ASVS 5.0 Appendix C disallows
// RSASSA-PKCS1-v1_5 for new designs. EdDSA is the default, ES256 the
// alternative for verifiers without Ed25519 (SECURITY J11).
func Algorithms() []string { return jws.Algorithms() }

// rsaBits is the modulus size of new RS256 keys, and the smallest loaded.
const rsaBits = jws.MinRSABits

// hmacSecretLen is the size of new HS256 secrets: 256 bits (SECURITY J10).
const hmacSecretLen = jws.MinHMACKeyLen

// kidLen is the number of random bytes in a kid: 128 bits, base64url.
const kidLen = 16

// ErrUnknownAlg is returned by NewKey and RotateKey for an algorithm that is
// not one of Algorithms (compared case-sensitively).
var ErrUnknownAlg = errors.New("token: unknown signing algorithm")

// validAlg reports whether alg is one of Algorithms, case-sensitively.
func validAlg(alg string) bool { return jws.Method(alg) != nil }

// NewKey generates a signing key of alg (EdDSA, ES256, RS256 or HS256) with
// a random kid of 128 bits, created at now. Private is PKCS#8 DER (the raw
// 32-byte secret for HS256); Public is PKIX DER (empty for HS256). Every
// random byte comes from crypto/rand.
func NewKey(alg string, now time.Time) (*authd.Key, error) {
	k := &authd.Key{ID: randomString(kidLen), Alg: alg, CreatedAt: now.UTC()}
	var priv, pub any
	switch alg {
	case authd.AlgEdDSA:
		p, s, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("token: generate Ed25519 key: %w", err)
		}
		priv, pub = s, p
	case authd.AlgES256:
		s, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("token: generate P-256 key: %w", err)
		}
		priv, pub = s, &s.PublicKey
	case authd.AlgRS256:
		s, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			return nil, fmt.Errorf("token: generate RSA key: %w", err)
		}
		priv, pub = s, &s.PublicKey
	case authd.AlgHS256:
		k.Private = randomBytes(hmacSecretLen)
		return k, nil
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownAlg, alg)
	}
	var err error
	if k.Private, err = x509.MarshalPKCS8PrivateKey(priv); err != nil {
		return nil, fmt.Errorf("token: encode private key: %w", err)
	}
	if k.Public, err = x509.MarshalPKIXPublicKey(pub); err != nil {
		return nil, fmt.Errorf("token: encode public key: %w", err)
	}
	return k, nil
}

// RotateKey generates a key of alg at now and makes it the current key of
// ks, retiring the previous current key at now. An empty alg means the
// current key's algorithm (EdDSA when there is none). Every node running
// Service.Run signs with the new key within Config.KeyReload (2 s by
// default); the retired key keeps verifying until now plus the access token
// lifetime, and stays in the JWKS until then.
func RotateKey(ctx context.Context, ks authd.KeyStore, alg string, now time.Time) (*authd.Key, error) {
	if alg == "" {
		alg = authd.AlgEdDSA
		keys, err := ks.Keys(ctx, now)
		if err != nil {
			return nil, fmt.Errorf("token: rotate key: %w", err)
		}
		if len(keys) > 0 && keys[0].RetiredAt.IsZero() {
			alg = keys[0].Alg
		}
	}
	k, err := NewKey(alg, now)
	if err != nil {
		return nil, err
	}
	if err := ks.RotateKey(ctx, k); err != nil {
		return nil, fmt.Errorf("token: rotate key: %w", err)
	}
	return k, nil
}

// ringKey is one parsed key of the ring. It is immutable once built.
//
// NOTE: it holds private key material, so it has String, GoString and
// LogValue methods that print the kid and alg only: a key never reaches a
// log by accident (fmt's %v, %+v, %#v and slog all go through them).
type ringKey struct {
	kid       string
	alg       string
	method    jwt.SigningMethod
	signer    any // ed25519.PrivateKey, *ecdsa.PrivateKey, *rsa.PrivateKey or []byte; nil if unusable for signing
	verifier  any // ed25519.PublicKey, *ecdsa.PublicKey, *rsa.PublicKey or []byte
	createdAt time.Time
	retiredAt time.Time
	until     time.Time // zero for the current key; RetiredAt+AccessTTL otherwise
	jwk       *jwk      // nil for HS256
	keyFunc   jwt.Keyfunc
	// idOnly marks the ID-token key of an HS256 ring: it signs and
	// verifies ID and logout tokens, never an access token.
	idOnly bool
}

func (k *ringKey) String() string   { return fmt.Sprintf("key(kid=%s alg=%s)", k.kid, k.alg) }
func (k *ringKey) GoString() string { return k.String() }

// LogValue makes slog print the kid and alg only.
func (k *ringKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kid", k.kid), slog.String("alg", k.alg))
}

// usable reports whether the key may verify a token at now (SECURITY J12).
func (k *ringKey) usable(now time.Time) bool {
	return k.until.IsZero() || now.Before(k.until)
}

// parseKey turns a stored key into a ringKey. It checks that the key
// material matches the algorithm exactly (an RS256 key is an RSA key of
// 2048 to 4096 bits, an ES256 key is on P-256, an HS256 secret is at least
// 256 bits), so that each key has exactly one algorithm.
func parseKey(k *authd.Key, accessTTL time.Duration) (*ringKey, error) {
	rk := &ringKey{kid: k.ID, alg: k.Alg, method: jws.Method(k.Alg), createdAt: k.CreatedAt, retiredAt: k.RetiredAt}
	if k.ID == "" || len(k.ID) > jws.MaxKIDLen {
		return nil, errors.New("token: key has no usable kid")
	}
	if rk.method == nil {
		return nil, fmt.Errorf("%w: key %s has alg %q", ErrUnknownAlg, k.ID, k.Alg)
	}
	if !k.RetiredAt.IsZero() {
		rk.until = k.RetiredAt.Add(accessTTL)
	}
	if k.Alg == authd.AlgHS256 {
		if len(k.Private) < hmacSecretLen {
			return nil, fmt.Errorf("token: key %s: HS256 secret shorter than 256 bits", k.ID)
		}
		secret := append([]byte(nil), k.Private...)
		rk.signer, rk.verifier = secret, secret
		rk.keyFunc = makeKeyFunc(rk)
		return rk, nil
	}
	pub, err := x509.ParsePKIXPublicKey(k.Public)
	if err != nil {
		return nil, fmt.Errorf("token: key %s: parse public key: %w", k.ID, err)
	}
	var priv any
	if len(k.Private) > 0 {
		if priv, err = x509.ParsePKCS8PrivateKey(k.Private); err != nil {
			return nil, fmt.Errorf("token: key %s: parse private key: %w", k.ID, err)
		}
	}
	mismatch := fmt.Errorf("token: key %s: material does not match alg %s", k.ID, k.Alg)
	switch k.Alg {
	case authd.AlgEdDSA:
		p, ok := pub.(ed25519.PublicKey)
		if !ok {
			return nil, mismatch
		}
		rk.verifier = p
		rk.jwk = &jwk{Kty: "OKP", Crv: "Ed25519", X: b64(p)}
		if priv != nil {
			s, ok := priv.(ed25519.PrivateKey)
			if !ok || !p.Equal(s.Public()) {
				return nil, mismatch
			}
			rk.signer = s
		}
	case authd.AlgES256:
		p, ok := pub.(*ecdsa.PublicKey)
		if !ok || p.Curve != elliptic.P256() {
			return nil, mismatch
		}
		rk.verifier = p
		pt, err := p.Bytes() // uncompressed point: 0x04 || X || Y, fixed length
		if err != nil {
			return nil, mismatch
		}
		rk.jwk = &jwk{Kty: "EC", Crv: "P-256", X: b64(pt[1:33]), Y: b64(pt[33:65])}
		if priv != nil {
			s, ok := priv.(*ecdsa.PrivateKey)
			if !ok || !p.Equal(s.Public()) {
				return nil, mismatch
			}
			rk.signer = s
		}
	case authd.AlgRS256:
		// NOTE: a modulus over jws.MaxRSABits is refused: the tokens it
		// signed would be refused anyway, by verify/ (whose JWK parser
		// stops there) and by the parser's signature bound, in authd too.
		p, ok := pub.(*rsa.PublicKey)
		if !ok || p.N.BitLen() < rsaBits || p.N.BitLen() > jws.MaxRSABits {
			return nil, mismatch
		}
		rk.verifier = p
		rk.jwk = &jwk{Kty: "RSA", N: b64(p.N.Bytes()), E: b64(big.NewInt(int64(p.E)).Bytes())}
		if priv != nil {
			s, ok := priv.(*rsa.PrivateKey)
			if !ok || !p.Equal(s.Public()) {
				return nil, mismatch
			}
			rk.signer = s
		}
	}
	rk.jwk.Kid, rk.jwk.Alg, rk.jwk.Use = k.ID, k.Alg, "sig"
	rk.keyFunc = makeKeyFunc(rk)
	return rk, nil
}

// makeKeyFunc returns the golang-jwt key function of rk, built once per key
// so that Verify allocates no closure.
//
// NOTE: the key was chosen by kid before parsing; the parser only accepts
// rk.alg (WithValidMethods) and this function checks again that the token's
// alg is rk's, so an EdDSA public key is never used as an HMAC secret
// (algorithm confusion, RFC 8725 §2.1).
func makeKeyFunc(rk *ringKey) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if t.Method == nil || t.Method.Alg() != rk.alg {
			return nil, errors.New("algorithm does not match the key's")
		}
		if kid, _ := t.Header["kid"].(string); kid != rk.kid {
			return nil, errors.New("kid changed during parsing")
		}
		return rk.verifier, nil
	}
}

// jwk is the public JSON Web Key of a ringKey (RFC 7517, RFC 8037).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwksJSON renders the public keys of keys as an RFC 7517 key set. HS256
// keys are left out (their secret is never published: SECURITY J10); a kid
// appears once.
func jwksJSON(keys []*ringKey) []byte {
	set := struct {
		Keys []*jwk `json:"keys"`
	}{Keys: []*jwk{}}
	seen := map[string]bool{}
	for _, k := range keys {
		if k.jwk == nil || seen[k.kid] {
			continue
		}
		seen[k.kid] = true
		set.Keys = append(set.Keys, k.jwk)
	}
	b, _ := json.Marshal(set)
	return b
}

// randomBytes returns n bytes from crypto/rand.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand.Read never fails on supported platforms (Go 1.24+);
		// if it ever did, issuing predictable ids would be worse than dying.
		panic("token: crypto/rand failed: " + err.Error())
	}
	return b
}

// randomString returns n random bytes, base64url without padding.
func randomString(n int) string { return b64(randomBytes(n)) }
