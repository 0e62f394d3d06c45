package jws

import (
	"encoding/json"
	"math"
	"time"
)

// MaxJTILen bounds a DPoP proof's jti, in bytes: it is a key of the
// replay set every node shares.
const MaxJTILen = 256

// dpopProof is the Profile of DPoP proofs (RFC 9449 §4.2).
//
// NOTE: the header carries alg, typ and the signer's public key in jwk,
// and nothing else: no kid (the key is the one in jwk, never one looked
// up), no jku, x5u, x5c or crit (SECURITY K1, J2, J3).
var dpopProof = Profile{
	Typ:      "dpop+jwt",
	Required: HeaderJWK,
	Claims: []Claim{ // in the order RFC 9449 §4.2 lists them
		{"jti", String}, {"htm", String}, {"htu", String}, {"iat", Number}, {"ath", String}, {"nonce", String},
	},
}

// ParseDPoPProof is Parse with the profile of DPoP proofs (RFC 9449 §4.2):
// typ "dpop+jwt", jwk required (a JSON object, in Token.JWK), no other
// header parameter than alg, jwk and typ; jti, htm, htu, ath and nonce
// strings, iat a JSON number; no member named like one of those but for
// case. Like Parse, it checks no signature, no alg and no key: the caller
// allows alg, parses Token.JWK as a public key of that alg, and checks the
// signature with it before decoding the claims (DecodeDPoPClaims).
func ParseDPoPProof(tok string) (Token, error) { return Parse(tok, &dpopProof) }

// DPoPClaims are the claims of a DPoP proof (RFC 9449 §4.2).
type DPoPClaims struct {
	JTI, HTM, HTU string
	// IssuedAt is iat.
	IssuedAt time.Time
	// ATH and Nonce are nil when absent: a present empty string is not an
	// absent claim.
	ATH, Nonce *string
}

// maxIAT bounds iat (the year 5138): a larger NumericDate is no proof's
// creation time, and would overflow time.Duration arithmetic.
const maxIAT = 1e11

// DecodeDPoPClaims decodes the payload of a proof that passed
// ParseDPoPProof and whose signature the caller has checked (claims are
// read only then: SECURITY J1), and checks that jti (1 to MaxJTILen
// bytes), htm, htu and iat (a NumericDate from 0 to 10^11) are present.
// It compares no value with the request: the caller does.
//
// NOTE: encoding/json matches member names case-insensitively and keeps
// the last of duplicates; ParseDPoPProof has refused both a case variant
// of these claims and a duplicate, so what is decoded is what the parser
// saw (SECURITY J7).
func DecodeDPoPClaims(payload []byte) (*DPoPClaims, error) {
	var c struct {
		JTI   string   `json:"jti"`
		HTM   string   `json:"htm"`
		HTU   string   `json:"htu"`
		IAT   *float64 `json:"iat"`
		ATH   *string  `json:"ath"`
		Nonce *string  `json:"nonce"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, refusal("claims do not decode")
	}
	switch {
	case c.JTI == "" || len(c.JTI) > MaxJTILen:
		return nil, refusal("no jti, or jti too long")
	case c.HTM == "":
		return nil, refusal("no htm")
	case c.HTU == "":
		return nil, refusal("no htu")
	case c.IAT == nil || !(*c.IAT >= 0 && *c.IAT <= maxIAT):
		return nil, refusal("no iat, or iat out of range")
	}
	sec, frac := math.Modf(*c.IAT)
	return &DPoPClaims{
		JTI: c.JTI, HTM: c.HTM, HTU: c.HTU, IssuedAt: time.Unix(int64(sec), int64(frac*1e9)),
		ATH: c.ATH, Nonce: c.Nonce,
	}, nil
}
