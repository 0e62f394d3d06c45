package jws

import (
	"bytes"
	"encoding/base64"
	"strings"
)

// Bounds checked before anything is decoded or looked up.
const (
	// MaxTokenSize bounds a token, in bytes, before anything splits or
	// parses it (SECURITY J8; CVE-2025-30204 was a split without one).
	MaxTokenSize = 8 << 10
	// MaxKIDLen bounds the kid header, in bytes.
	MaxKIDLen = 128
	// MaxDepth bounds the nesting of JSON objects and arrays in the header
	// and the payload (the outer object counts). authd's access tokens
	// nest two deep: the roles array inside the claims object.
	MaxDepth = 8
	// MaxSignatureLen bounds the signature segment, in characters.
	//
	// NOTE: 683 characters is an RSA-4096 signature (512 bytes), the
	// longest signature of any key authd loads or verify accepts: token
	// refuses stored RSA keys over MaxRSABits, and verify's JWK parser
	// (go-jose) refuses RSA moduli over 4096 bits. EdDSA and ES256
	// signatures are 86 characters, RS256 with authd's 2048-bit keys 342.
	// A longer segment could only fail the signature check, so it is
	// refused before it is decoded.
	MaxSignatureLen = (MaxRSABits + 5) / 6 // base64url characters of MaxRSABits/8 bytes
)

// Header is a set of JOSE header parameters that a Profile may allow
// beyond alg and typ, which every Profile requires.
type Header uint8

const (
	// HeaderKID is "kid": a string of 1 to MaxKIDLen bytes, in Token.KID.
	// It may only select a key among those the verifier holds, never name
	// one to fetch (RFC 8725 §3.10, SECURITY J2).
	HeaderKID Header = 1 << iota
	// HeaderJWK is "jwk": a JSON object, the signer's own public key, as
	// DPoP proofs carry it (RFC 9449 §4.2); its raw JSON is in Token.JWK
	// for the caller to parse. A token that carries its own key proves
	// only that the sender holds that key: allow it only where that is
	// the point.
	HeaderJWK
)

// Profile says what one kind of token may carry: which header parameters,
// which typ, which claims of which JSON type. Parse takes it by pointer
// and never changes it; a Profile is meant to be a package-level value of
// the package that owns the kind of token.
type Profile struct {
	// Typ is the typ header a token must carry, compared exactly
	// ("at+jwt"; "dpop+jwt"; "logout+jwt"). It must not be empty.
	//
	// NOTE: an explicit typ per kind of token keeps a token signed for
	// one purpose from being accepted for another by the same keys
	// (RFC 8725 §3.11, RFC 9068 §4, SECURITY J5).
	Typ string
	// Required are the header parameters a token must carry.
	Required Header
	// Allowed are the header parameters a token may carry besides the
	// Required ones. Any other parameter is refused; jku, x5u, x5c and
	// crit always are.
	Allowed Header
	// Claims are the claims the caller reads: each, when present, must
	// have its JSON type, and a top-level payload member whose name
	// differs from one of them only by case is refused. Other members are
	// allowed (and walked like the rest of the payload).
	Claims []Claim
}

// Claim is a claim a Profile's caller reads.
type Claim struct {
	Name string
	Type ClaimType
}

// ClaimType is the JSON type a claim must have when present.
type ClaimType uint8

const (
	// AnyType leaves the type to the caller's decoder (aud is a string or
	// an array).
	AnyType ClaimType = iota
	// String is a JSON string.
	String
	// Number is a JSON number.
	//
	// NOTE: golang-jwt would also take "exp":"123", a string holding a
	// number; RFC 7519 §2 wants a JSON number.
	Number
)

// Token is a compact JWS that passed Parse. Its byte slices are the
// caller's: they point into the one buffer Parse decoded the segments into
// (or, for a header value with escapes, into a copy), capped so that an
// append to one never writes over another.
type Token struct {
	// Alg is the header's alg: never empty, never "none" in any casing.
	// It names no key: the key is chosen by kid, and alg must merely
	// equal the key's own algorithm (RFC 8725 §3.1).
	Alg []byte
	// KID is the header's kid, 1 to MaxKIDLen bytes; empty when the
	// Profile allows none and the token has none.
	KID []byte
	// JWK is the header's jwk, raw JSON, when the Profile allows one and
	// the token has one.
	JWK []byte
	// SigningInput is what the signature covers: the header and payload
	// segments with the dot between them, a substring of the token.
	SigningInput string
	// Payload is the decoded payload: one JSON object, valid JSON.
	Payload []byte
	// Signature is the decoded signature.
	Signature []byte
}

// refusal is the error of a refused token. Its text says why, for logs
// only: never show it to a client (RFC 6750 §3.1 lets a server say only
// error="invalid_token").
type refusal string

func (r refusal) Error() string { return "jws: " + string(r) }

const (
	errEmpty        = refusal("empty token")
	errTooLarge     = refusal("token larger than 8 KiB")
	errNotCompact   = refusal("not the compact serialization of three base64url segments")
	errEmptySegment = refusal("empty segment")
	errSigTooLong   = refusal("signature too long")
	errBase64       = refusal("segment is not strict base64url")
	errHeaderJSON   = refusal("header is not a JSON object")
	errPayloadJSON  = refusal("payload is not a JSON object")
	errDuplicate    = refusal("duplicate JSON member name")
	errTooDeep      = refusal("JSON nested too deep")
	errEmbeddedKey  = refusal("embedded or remote key header (jwk, jku, x5u, x5c)")
	errCrit         = refusal("crit header (no extension is understood)")
	errNoAlg        = refusal("no alg")
	errAlgNone      = refusal(`alg "none"`)
	errNoKID        = refusal("no kid, or kid too long")
	errNoJWK        = refusal("no jwk")
	errJWKType      = refusal("header jwk is not a JSON object")
	errClaimType    = refusal("claim of the wrong JSON type")
	errClaimCase    = refusal("claim name differs from a known claim only by case")
	errSyntax       = refusal("malformed JSON") // replaced by errHeaderJSON or errPayloadJSON
)

// strictB64 is base64url without padding that refuses non-zero trailing
// bits (SECURITY J6): one token has one encoding.
var strictB64 = base64.RawURLEncoding.Strict()

// Parse checks tok against p and returns it decoded. It never panics,
// reads nothing past its input, and refuses, in this order:
//   - an empty token, or one over MaxTokenSize bytes, before anything else;
//   - anything but base64url characters and exactly two dots (so JSON
//     serialization and JWE's five segments), an empty segment, a
//     signature over MaxSignatureLen, a segment that is not strict
//     base64url (padding, non-zero trailing bits);
//   - a header that is not one JSON object, has duplicate member names, a
//     member other than alg, typ and p's parameters, or jwk, jku, x5u, x5c
//     or crit where p does not allow them; alg, typ or kid that is not a
//     string, alg missing, empty or "none" in any casing, typ other than
//     p.Typ, kid missing (when required), empty or over MaxKIDLen;
//   - a payload that is not one JSON object, has duplicate member names at
//     any depth or nests deeper than MaxDepth, a claim of p of the wrong
//     JSON type, or a member named like a claim of p but for case.
//
// Member names are compared after unescaping, as a decoder sees them
// ("e\u0078p" is "exp"; invalid UTF-8 is U+FFFD).
//
// NOTE: encoding/json keeps the last of duplicate members and matches
// names case-insensitively, other parsers keep the first: {"sub":"a",
// "sub":"b"} or {"sub":"a","Sub":"b"} could name two users to two parsers
// (SECURITY J7). Such a token is refused before anyone reads it.
func Parse(tok string, p *Profile) (Token, error) {
	var t Token
	if len(tok) == 0 {
		return t, errEmpty
	}
	if len(tok) > MaxTokenSize {
		return t, errTooLarge
	}
	dot1, dot2 := -1, -1
	for i := 0; i < len(tok); i++ {
		switch c := tok[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		case c == '.' && dot1 < 0:
			dot1 = i
		case c == '.' && dot2 < 0:
			dot2 = i
		default:
			return t, errNotCompact
		}
	}
	if dot2 < 0 {
		return t, errNotCompact
	}
	hseg, pseg, sseg := tok[:dot1], tok[dot1+1:dot2], tok[dot2+1:]
	if len(hseg) == 0 || len(pseg) == 0 || len(sseg) == 0 {
		return t, errEmptySegment
	}
	if len(sseg) > MaxSignatureLen {
		return t, errSigTooLong
	}
	// One buffer for the three decoded segments: one allocation.
	buf := make([]byte, strictB64.DecodedLen(len(hseg))+strictB64.DecodedLen(len(pseg))+strictB64.DecodedLen(len(sseg)))
	header, buf, err := decodeSegment(buf, hseg)
	if err != nil {
		return t, err
	}
	payload, buf, err := decodeSegment(buf, pseg)
	if err != nil {
		return t, err
	}
	sig, _, err := decodeSegment(buf, sseg)
	if err != nil {
		return t, err
	}

	w := walker{b: header, p: p, t: &t, header: true}
	if err := w.document(); err != nil {
		if err == errSyntax {
			err = errHeaderJSON
		}
		return Token{}, err
	}
	if err := w.headerDone(); err != nil {
		return Token{}, err
	}
	w = walker{b: payload, p: p, t: &t}
	if err := w.document(); err != nil {
		if err == errSyntax {
			err = errPayloadJSON
		}
		return Token{}, err
	}
	t.SigningInput, t.Payload, t.Signature = tok[:dot2], payload, sig
	return t, nil
}

// decodeSegment decodes seg into the start of dst and returns the decoded
// bytes and the rest of dst.
func decodeSegment(dst []byte, seg string) (decoded, rest []byte, err error) {
	n, err := strictB64.Decode(dst, []byte(seg))
	if err != nil {
		return nil, nil, errBase64
	}
	return dst[:n:n], dst[n:], nil
}

// allowed returns every header parameter p allows, required or not.
func (p *Profile) allowed() Header { return p.Required | p.Allowed }

// errParam is the refusal of a header parameter p does not allow.
func (p *Profile) errParam() error {
	return refusal("header parameter other than " + p.paramList(true, "and"))
}

// errParamType is the refusal of alg, typ or kid that is not a string.
func (p *Profile) errParamType() error {
	return refusal("header " + p.paramList(false, "or") + " is not a string")
}

// paramList names the header parameters p allows ("alg, kid and typ"),
// the object-valued jwk only when withJWK.
func (p *Profile) paramList(withJWK bool, conj string) string {
	names := []string{"alg"}
	if p.allowed()&HeaderKID != 0 {
		names = append(names, "kid")
	}
	if withJWK && p.allowed()&HeaderJWK != 0 {
		names = append(names, "jwk")
	}
	return strings.Join(names, ", ") + " " + conj + " typ"
}

// headerMember checks the top-level header member name, whose value
// starts at w.i, and walks its value.
func (w *walker) headerMember(name []byte) error {
	p := w.p
	switch string(name) {
	case "alg", "typ", "kid":
		if string(name) == "kid" && p.allowed()&HeaderKID == 0 {
			return p.errParam()
		}
		if w.peek() != '"' {
			return p.errParamType()
		}
		v, err := w.str(true)
		if err != nil {
			return err
		}
		switch string(name) {
		case "alg":
			w.t.Alg, w.haveAlg = v, true
		case "typ":
			w.typ, w.haveTyp = v, true
		case "kid":
			w.t.KID, w.have = v, w.have|HeaderKID
		}
		return nil
	case "jwk":
		if p.allowed()&HeaderJWK == 0 {
			// NOTE: keys come from the verifier's own key set only; a key
			// carried by the token, or a URL to fetch one from, is never
			// fetched or trusted (RFC 8725 §3.10, SECURITY J2).
			return errEmbeddedKey
		}
		if w.peek() != '{' {
			return errJWKType
		}
		start := w.i
		if err := w.value(1); err != nil {
			return err
		}
		w.t.JWK, w.have = w.b[start:w.i:w.i], w.have|HeaderJWK
		return nil
	case "jku", "x5u", "x5c":
		return errEmbeddedKey
	case "crit":
		// NOTE: crit names extensions a recipient must understand; authd
		// understands none, so any crit is refused (RFC 7515 §4.1.11,
		// SECURITY J3).
		return errCrit
	}
	return p.errParam()
}

// headerDone checks what the header must hold once it has been walked.
func (w *walker) headerDone() error {
	p, t := w.p, w.t
	switch {
	case !w.haveAlg || len(t.Alg) == 0:
		return errNoAlg
	case bytes.EqualFold(t.Alg, []byte("none")):
		// NOTE: "none" has no key and is never accepted, in any casing
		// (RFC 8725 §3.1, SECURITY J1).
		return errAlgNone
	case !w.haveTyp || string(w.typ) != p.Typ:
		return refusal("typ is not " + p.Typ)
	case (w.have|p.Required)&HeaderKID != 0 && (len(t.KID) == 0 || len(t.KID) > MaxKIDLen):
		return errNoKID
	case p.Required&HeaderJWK != 0 && w.have&HeaderJWK == 0:
		return errNoJWK
	}
	return nil
}

// claim checks the top-level payload member name, whose value starts at
// w.i, against the profile's claims, and walks its value.
func (w *walker) claim(name []byte) error {
	claims := w.p.Claims
	// The search starts after the claim found last: tokens list their
	// claims in the profile's order, so it usually ends at once.
	for k := range claims {
		i := w.next + k
		if i >= len(claims) {
			i -= len(claims)
		}
		if string(name) != claims[i].Name {
			continue
		}
		w.next = i + 1
		switch c := w.peek(); claims[i].Type {
		case String:
			if c != '"' {
				return errClaimType
			}
		case Number:
			if c != '-' && (c < '0' || c > '9') {
				return errClaimType
			}
		}
		return w.value(1)
	}
	for i := range claims {
		if bytes.EqualFold(name, []byte(claims[i].Name)) {
			return errClaimCase
		}
	}
	return w.value(1)
}
