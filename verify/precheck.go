package verify

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
)

// strictB64 is base64url without padding that refuses non-zero trailing
// bits (SECURITY J6).
var strictB64 = base64.RawURLEncoding.Strict()

const (
	// maxSigLen is the longest signature segment accepted: an RSA-8192
	// signature (1024 bytes) is 1366 characters.
	maxSigLen = 1366
	// maxJSONDepth bounds nesting in a header or payload (authd's tokens
	// nest two deep: the roles array in the claims object).
	maxJSONDepth = 8
)

// parsed is a token that passed the structural checks, decoded once.
type parsed struct {
	alg, kid     string
	signingInput string // header "." payload, as signed
	payload      []byte
	sig          []byte
}

// knownClaims are the claim names Verify reads; a payload member that
// differs from one of them only by case is refused, because encoding/json
// would match it case-insensitively (SECURITY J7).
var knownClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "email", "roles"}

var (
	errEmpty       = invalid("empty token")
	errTooLarge    = invalid("token larger than 8 KiB")
	errNotCompact  = invalid("not the compact serialization of three base64url segments")
	errEmptySeg    = invalid("empty segment")
	errSigTooLong  = invalid("signature too long")
	errB64         = invalid("segment is not strict base64url")
	errHeader      = invalid("header is not a JSON object")
	errPayload     = invalid("payload is not a JSON object")
	errDuplicate   = invalid("duplicate JSON member name")
	errTooDeep     = invalid("JSON nested too deep")
	errHeaderParam = invalid("header parameter other than alg, kid and typ")
	errEmbeddedKey = invalid("embedded or remote key header (jwk, jku, x5u, x5c)")
	errCrit        = invalid("crit header (no extension is understood)")
	errHeaderType  = invalid("header alg, kid or typ is not a string")
	errNoAlg       = invalid("no alg")
	errAlgNone     = invalid(`alg "none"`)
	errTyp         = invalid("typ is not at+jwt")
	errNoKID       = invalid("no kid, or kid too long")
	errClaimType   = invalid("claim of the wrong JSON type")
	errClaimCase   = invalid("claim name differs from a known claim only by case")
)

// precheck runs the structural checks before any key lookup, signature or
// claim processing (SECURITY J2, J3, J5–J8), in order:
//   - size: at most MaxTokenSize bytes, before anything else;
//   - compact serialization: base64url characters and exactly two dots, so
//     JSON serialization and JWE (five segments) are refused; no empty
//     segment;
//   - strict base64url in every segment: no padding, no '+' or '/', no
//     line breaks, no non-zero trailing bits;
//   - the header: one JSON object, no duplicate members, holding only alg,
//     kid and typ, each a string; jwk, jku, x5u, x5c and crit refused;
//     alg "none" in any casing refused; typ exactly "at+jwt"; kid present
//     and at most 128 bytes;
//   - the payload: one JSON object, no duplicate member names at any depth,
//     nesting at most 8 deep; exp, nbf and iat JSON numbers; iss, sub, jti,
//     sid and email strings; no member named like a known claim but for
//     case ("EXP").
func precheck(tok string, p *parsed) error {
	if len(tok) == 0 {
		return errEmpty
	}
	if len(tok) > MaxTokenSize {
		return errTooLarge
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
			return errNotCompact
		}
	}
	if dot2 < 0 {
		return errNotCompact
	}
	hseg, pseg, sseg := tok[:dot1], tok[dot1+1:dot2], tok[dot2+1:]
	if len(hseg) == 0 || len(pseg) == 0 || len(sseg) == 0 {
		return errEmptySeg
	}
	if len(sseg) > maxSigLen {
		return errSigTooLong
	}
	hb, err := strictB64.DecodeString(hseg)
	if err != nil {
		return errB64
	}
	pb, err := strictB64.DecodeString(pseg)
	if err != nil {
		return errB64
	}
	sig, err := strictB64.DecodeString(sseg)
	if err != nil {
		return errB64
	}
	if err := p.checkHeader(hb); err != nil {
		return err
	}
	if err := checkPayload(pb); err != nil {
		return err
	}
	p.signingInput, p.payload, p.sig = tok[:dot2], pb, sig
	return nil
}

func (p *parsed) checkHeader(b []byte) error {
	var buf [8]member
	members, err := topMembers(b, buf[:0])
	if err != nil {
		if err == errNotObject {
			return errHeader
		}
		return err
	}
	var alg, kid, typ []byte
	var haveAlg, haveKID, haveTyp bool
	for _, m := range members {
		switch string(m.name) {
		case "alg", "kid", "typ":
			if m.kind != kindString {
				return errHeaderType
			}
		case "jwk", "jku", "x5u", "x5c":
			// NOTE: keys come from authd's JWKS only; a key or key URL in
			// the token is never fetched or trusted (RFC 8725 §3.10).
			return errEmbeddedKey
		case "crit":
			return errCrit
		default:
			return errHeaderParam
		}
		switch string(m.name) {
		case "alg":
			alg, haveAlg = m.str, true
		case "kid":
			kid, haveKID = m.str, true
		case "typ":
			typ, haveTyp = m.str, true
		}
	}
	switch {
	case !haveAlg || len(alg) == 0:
		return errNoAlg
	case bytes.EqualFold(alg, []byte("none")):
		return errAlgNone
	case !haveTyp || string(typ) != "at+jwt":
		// NOTE: typ at+jwt (RFC 9068) keeps any other JWT the same keys
		// might sign from passing as an access token (RFC 8725 §3.11).
		return errTyp
	case !haveKID || len(kid) == 0 || len(kid) > maxKIDLen:
		return errNoKID
	}
	p.alg, p.kid = string(alg), string(kid)
	return nil
}

func checkPayload(b []byte) error {
	var buf [16]member
	members, err := topMembers(b, buf[:0])
	if err != nil {
		if err == errNotObject {
			return errPayload
		}
		return err
	}
	for _, m := range members {
		switch string(m.name) {
		case "exp", "nbf", "iat":
			// NOTE: golang-jwt would also take "exp":"123"; RFC 7519 wants
			// a JSON number.
			if m.kind != kindNumber {
				return errClaimType
			}
			continue
		case "iss", "sub", "jti", "sid", "email":
			if m.kind != kindString {
				return errClaimType
			}
			continue
		case "aud", "roles":
			continue // their types are checked by the claims decoder
		}
		for _, k := range knownClaims {
			if bytes.EqualFold(m.name, []byte(k)) {
				return errClaimCase
			}
		}
	}
	return nil
}

// member is one top-level member of a JSON object.
type member struct {
	name []byte // unescaped
	str  []byte // unescaped value, when kind is kindString
	kind byte
}

const (
	kindString = 's'
	kindNumber = 'n'
	kindOther  = 'o'
)

var errNotObject = invalid("not a JSON object")

// topMembers checks that b is one valid JSON object with no duplicate
// member names at any depth and nesting at most maxJSONDepth, and returns
// its top-level members appended to out.
//
// NOTE: encoding/json keeps the last of duplicate members, and other
// parsers keep the first, so {"sub":"a","sub":"b"} could mean two users
// (SECURITY J7). Names are compared after unescaping, as a decoder sees
// them ("e\u0078p" is "exp").
func topMembers(b []byte, out []member) ([]member, error) {
	// json.Valid first: the walk below may then assume well-formed JSON.
	if !json.Valid(b) {
		return nil, errNotObject
	}
	w := walker{b: b}
	w.space()
	if w.i >= len(b) || b[w.i] != '{' {
		return nil, errNotObject
	}
	return w.object(1, out)
}

// walker walks JSON already known to be valid.
type walker struct {
	b []byte
	i int
}

func (w *walker) space() {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\t', '\r', '\n':
			w.i++
		default:
			return
		}
	}
}

// str reads the string at w.i (its opening quote) and returns its content,
// unescaped. Escapes and non-ASCII go through encoding/json so that the
// result is what the claims decoder sees (invalid UTF-8 becomes U+FFFD).
func (w *walker) str() []byte {
	start := w.i
	plain := true
	j := w.i + 1
	for ; w.b[j] != '"'; j++ {
		switch c := w.b[j]; {
		case c == '\\':
			plain = false
			j++
		case c >= 0x80:
			plain = false
		}
	}
	w.i = j + 1
	if plain {
		return w.b[start+1 : j]
	}
	var s string
	_ = json.Unmarshal(w.b[start:w.i], &s) // valid JSON: cannot fail
	return []byte(s)
}

// object walks the object at w.i ('{') at depth; top receives its members
// when out is non-nil.
func (w *walker) object(depth int, out []member) ([]member, error) {
	if depth > maxJSONDepth {
		return nil, errTooDeep
	}
	w.i++ // '{'
	var buf [16][]byte
	names := buf[:0]
	var many map[string]bool
	for {
		w.space()
		if w.b[w.i] == '}' {
			w.i++
			return out, nil
		}
		if w.b[w.i] == ',' {
			w.i++
			w.space()
		}
		name := w.str()
		if many == nil && len(names) == cap(names) {
			many = make(map[string]bool, 2*len(names))
			for _, n := range names {
				many[string(n)] = true
			}
		}
		if many != nil {
			if many[string(name)] {
				return nil, errDuplicate
			}
			many[string(name)] = true
		} else {
			for _, n := range names {
				if bytes.Equal(n, name) {
					return nil, errDuplicate
				}
			}
			names = append(names, name)
		}
		w.space()
		w.i++ // ':'
		w.space()
		m := member{name: name, kind: kindOther}
		switch c := w.b[w.i]; {
		case c == '"':
			m.kind, m.str = kindString, w.str()
		case c == '-' || '0' <= c && c <= '9':
			m.kind = kindNumber
			w.scalar()
		default:
			if err := w.value(depth); err != nil {
				return nil, err
			}
		}
		if depth == 1 {
			out = append(out, m)
		}
	}
}

// value walks any value at w.i inside a container at depth.
func (w *walker) value(depth int) error {
	switch w.b[w.i] {
	case '{':
		_, err := w.object(depth+1, nil)
		return err
	case '[':
		if depth+1 > maxJSONDepth {
			return errTooDeep
		}
		w.i++
		for {
			w.space()
			switch w.b[w.i] {
			case ']':
				w.i++
				return nil
			case ',':
				w.i++
				w.space()
			}
			if err := w.value(depth + 1); err != nil {
				return err
			}
		}
	case '"':
		w.str()
		return nil
	default:
		w.scalar()
		return nil
	}
}

// scalar skips a number, true, false or null.
func (w *walker) scalar() {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ',', ']', '}', ' ', '\t', '\r', '\n':
			return
		}
		w.i++
	}
}
