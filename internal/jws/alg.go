package jws

import "github.com/golang-jwt/jwt/v5"

// Key sizes that go with the algorithms.
const (
	// MinRSABits is the smallest RSA modulus signed or verified with.
	MinRSABits = 2048
	// MaxRSABits is the largest RSA modulus signed or verified with. It is
	// the largest the JWK parser verify/ uses accepts (go-jose's
	// MaxRSAModulusBits), and it sets MaxSignatureLen.
	MaxRSABits = 4096
	// MinHMACKeyLen is the shortest HS256 secret, in bytes: 256 bits
	// (RFC 7518 §3.2, SECURITY J10).
	MinHMACKeyLen = 32
)

// algorithms are the signing algorithms authd signs with and verifiers
// accept, the default first, each with golang-jwt's method.
//
// NOTE: EdDSA (Ed25519) is the default and ES256 the alternative for
// verifiers without Ed25519. RS256 (RSASSA-PKCS1-v1_5) is offered only for
// interoperability with verifiers that know nothing else: OWASP ASVS 5.0
// Appendix C disallows RSASSA-PKCS1-v1_5 for new designs. HS256 needs the
// secret on every verifier, so it is never published (SECURITY J10, J11).
var algorithms = [...]struct {
	name   string
	method jwt.SigningMethod
}{
	{"EdDSA", jwt.SigningMethodEdDSA},
	{"ES256", jwt.SigningMethodES256},
	{"RS256", jwt.SigningMethodRS256},
	{"HS256", jwt.SigningMethodHS256},
}

// Algorithms returns every signing algorithm authd can sign with and
// verifiers accept, the default (EdDSA) first, in a new slice.
func Algorithms() []string {
	names := make([]string, len(algorithms))
	for i, a := range algorithms {
		names[i] = a.name
	}
	return names
}

// Method returns golang-jwt's signing method of alg, one of Algorithms
// compared case-sensitively, or nil.
//
// NOTE: the comparison is exact: "eddsa" or "Hs256" name no method
// (RFC 8725 §3.1, SECURITY J1). A key is given the method of its own alg
// once, when it is loaded, and verifies with that method only; a token's
// alg merely has to agree.
func Method(alg string) jwt.SigningMethod {
	for _, a := range algorithms {
		if a.name == alg {
			return a.method
		}
	}
	return nil
}
