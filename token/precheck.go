package token

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/authd/authd"
)

// InvalidTokenError is the error of every refused token. It wraps
// authd.ErrUnauthenticated (and the golang-jwt error, when there is one).
// Reason is for logs only: never show it to a client (RFC 6750 §3.1 lets
// a server say only error="invalid_token").
type InvalidTokenError struct {
	Reason string
	Err    error // the underlying cause, if any
}

func (e *InvalidTokenError) Error() string {
	if e.Err != nil {
		return "token: invalid: " + e.Reason + ": " + e.Err.Error()
	}
	return "token: invalid: " + e.Reason
}

// Unwrap returns authd.ErrUnauthenticated and the cause.
func (e *InvalidTokenError) Unwrap() []error {
	if e.Err != nil {
		return []error{authd.ErrUnauthenticated, e.Err}
	}
	return []error{authd.ErrUnauthenticated}
}

func invalid(reason string) error { return &InvalidTokenError{Reason: reason} }

// strictB64 is base64url without padding that refuses non-zero trailing bits.
var strictB64 = base64.RawURLEncoding.Strict()

// maxJSONDepth bounds nesting in a header or payload. authd's tokens nest
// two deep (the roles array inside the claims object).
const maxJSONDepth = 8

// maxSigLen is the longest signature segment accepted: an RSA-4096
// signature (512 bytes) is 683 characters.
const maxSigLen = 683

// maxTopMembers is the number of top-level members the pre-checks keep
// without allocating; more are fine, just slower.
const maxTopMembers = 16

// prechecked is a token that passed the pre-checks, decoded once.
type prechecked struct {
	alg, kid     []byte // from the header
	signingInput string // header "." payload, as signed
	payload      []byte
	sig          []byte
	members      [maxTopMembers]member // scratch space of the walks
}

// knownClaims are the claim names Verify reads. A payload member that differs
// from one of them only by case is refused (SECURITY J7).
var knownClaims = [][]byte{[]byte("iss"), []byte("sub"), []byte("aud"), []byte("exp"), []byte("nbf"),
	[]byte("iat"), []byte("jti"), []byte("sid"), []byte("email"), []byte("roles")}

// Precheck runs the structural checks Verify makes before any signature
// or claim processing, and returns the kid and alg of the header. It never
// panics, and errors wrap authd.ErrUnauthenticated. It is exported for
// fuzzing and for callers that want to refuse garbage before a key lookup.
//
// It checks, in order (SECURITY J2, J3, J6, J7, J8):
//   - size: at most MaxTokenSize bytes, before anything else;
//   - compact serialization: only base64url characters and exactly two dots
//     (JSON serialization, JWE's five segments, two or four segments are
//     refused), no empty segment;
//   - strict base64url: no padding, no '+' or '/', no line breaks, no
//     non-zero trailing bits, in all three segments;
//   - the header is one JSON object without duplicate members, holding only
//     alg, kid and typ, each a string: jwk, jku, x5u, x5c (embedded or
//     remote keys), crit (we understand no extension) and anything else are
//     refused; alg "none" in any casing is refused; typ is exactly "at+jwt";
//     kid is present and at most 128 bytes;
//   - the payload is one JSON object, no duplicate member names at any depth,
//     nesting at most 8 deep; exp, nbf and iat, when present, are JSON
//     numbers and iss, sub, jti, sid and email strings; and no top-level
//     member differs from a claim authd reads (iss, sub, aud, exp, nbf, iat,
//     jti, sid, email, roles) only by case.
func Precheck(raw string) (kid, alg string, err error) {
	var p prechecked
	if err := precheck(raw, &p, true); err != nil {
		return "", "", err
	}
	return string(p.kid), string(p.alg), nil
}

// precheck is Precheck, filling p with the decoded token. validPayload
// makes it check that the payload is valid JSON; Verify skips that because
// the claims decoder (encoding/json) checks it anyway, and the walk below
// refuses, without reading past the end, anything it cannot follow.
func precheck(raw string, p *prechecked, validPayload bool) error {
	if len(raw) == 0 {
		return invalid("empty token")
	}
	if len(raw) > MaxTokenSize {
		return invalid("token larger than 8 KiB")
	}
	dot1, dot2 := -1, -1
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		case c == '.':
			switch {
			case dot1 < 0:
				dot1 = i
			case dot2 < 0:
				dot2 = i
			default:
				return invalid("more than three segments (JWE or garbage)")
			}
		default:
			return invalid("not a compact serialization of base64url segments")
		}
	}
	if dot2 < 0 {
		return invalid("fewer than three segments")
	}
	hseg, pseg, sseg := raw[:dot1], raw[dot1+1:dot2], raw[dot2+1:]
	if len(hseg) == 0 || len(pseg) == 0 || len(sseg) == 0 {
		return invalid("empty segment")
	}
	if len(sseg) > maxSigLen {
		return invalid("signature too long")
	}
	hb, err := strictB64.DecodeString(hseg)
	if err != nil {
		return invalid("header is not strict base64url")
	}
	pb, err := strictB64.DecodeString(pseg)
	if err != nil {
		return invalid("payload is not strict base64url")
	}
	sig, err := strictB64.DecodeString(sseg)
	if err != nil {
		return invalid("signature is not strict base64url")
	}
	if err := p.checkHeader(hb); err != nil {
		return err
	}
	if validPayload && !json.Valid(pb) {
		return invalid("payload is not valid JSON")
	}
	if err := p.checkPayload(pb); err != nil {
		return err
	}
	p.signingInput, p.payload, p.sig = raw[:dot2], pb, sig
	return nil
}

// strictB64Tail reports whether s, already known to hold base64url
// characters only, has a valid unpadded length and zero trailing bits: what
// a strict decoder would accept, without decoding.
func strictB64Tail(s string) bool {
	last := strings.IndexByte(b64Alphabet, s[len(s)-1])
	switch len(s) % 4 {
	case 1:
		return false
	case 2:
		return last&0x0f == 0
	case 3:
		return last&0x03 == 0
	}
	return true
}

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// checkHeader checks the decoded JOSE header and keeps its alg and kid.
func (p *prechecked) checkHeader(b []byte) error {
	// The header's values are used as they are (no other decoder sees the
	// header), so it must be valid JSON first.
	if !json.Valid(b) {
		return invalid("header is not valid JSON")
	}
	members, err := scanObject(b, p.members[:0])
	if err != nil {
		return err
	}
	var typ []byte
	var haveAlg, haveKID, haveTyp bool
	for _, m := range members {
		switch string(m.key) {
		case "alg", "kid", "typ":
			if !m.isString {
				return invalid("header " + string(m.key) + " is not a string")
			}
		case "jwk", "jku", "x5u", "x5c":
			return invalid("embedded or remote key header " + string(m.key))
		case "crit":
			return invalid("crit header (no extension is understood)")
		default:
			return invalid("unexpected header parameter")
		}
		switch string(m.key) {
		case "alg":
			p.alg, haveAlg = m.str, true
		case "kid":
			p.kid, haveKID = m.str, true
		case "typ":
			typ, haveTyp = m.str, true
		}
	}
	switch {
	case !haveAlg:
		return invalid("no alg")
	case bytes.EqualFold(p.alg, []byte("none")):
		return invalid("alg none")
	case !haveTyp:
		return invalid("no typ")
	case string(typ) != "at+jwt":
		return invalid("typ is not at+jwt")
	case !haveKID || len(p.kid) == 0:
		return invalid("no kid")
	case len(p.kid) > maxKIDLen:
		return invalid("kid too long")
	}
	return nil
}

// checkPayload checks the decoded claims.
func (p *prechecked) checkPayload(b []byte) error {
	members, err := scanObject(b, p.members[:0])
	if err != nil {
		return err
	}
	for _, m := range members {
		switch string(m.key) {
		case "exp", "nbf", "iat":
			// NOTE: golang-jwt would also take "exp":"123" (a string
			// holding a number); RFC 7519 wants a JSON number.
			if !m.isNumber {
				return invalid(string(m.key) + " is not a JSON number")
			}
			continue
		case "iss", "sub", "jti", "sid", "email":
			if !m.isString {
				return invalid(string(m.key) + " is not a string")
			}
			continue
		case "aud", "roles":
			continue // types checked by the claims decoder
		}
		for _, k := range knownClaims {
			if bytes.EqualFold(m.key, k) {
				return invalid("claim name differs from " + string(k) + " only by case")
			}
		}
	}
	return nil
}

// member is one top-level member of a JSON object.
type member struct {
	key      []byte // the name, unescaped
	str      []byte // the value, unescaped, when it is a string
	isString bool
	isNumber bool
}

var (
	errDuplicate = invalid("duplicate JSON member name")
	errNotObject = invalid("not a JSON object")
	errTooDeep   = invalid("JSON nested too deep")
	errBadJSON   = invalid("malformed JSON")
)

// scanObject walks b as one JSON object and returns its top-level members,
// appended to top. It refuses any value that is not an object, trailing
// data, nesting deeper than maxJSONDepth, and duplicate member names in any
// object at any depth, compared after unescaping as encoding/json would see
// them ("e\u0078p" is "exp").
//
// It is a walk, not a parser: it finds where strings, objects, arrays and
// scalars begin and end, never reads past the end of b, and refuses what
// it cannot follow. On JSON that json.Valid accepts it sees exactly what
// encoding/json sees; input it accepts that is not valid JSON is refused
// later by encoding/json (Verify decodes the claims with it) or by
// json.Valid (the header, and Precheck).
//
// NOTE: encoding/json alone keeps the last of duplicate members and matches
// names case-insensitively, so a payload {"sub":"a","sub":"b"} could mean
// different things to different parsers (SECURITY J7). This walk makes such
// a token invalid before anyone reads it.
func scanObject(b []byte, top []member) ([]member, error) {
	w := walker{b: b, top: top}
	w.skipSpace()
	if w.peek() != '{' {
		return nil, errNotObject
	}
	if err := w.value(0); err != nil {
		return nil, err
	}
	w.skipSpace()
	if w.i != len(b) {
		return nil, invalid("trailing data after JSON object")
	}
	return w.top, nil
}

type walker struct {
	b   []byte
	i   int
	top []member
}

// peek returns the byte at w.i, or 0 at the end.
func (w *walker) peek() byte {
	if w.i < len(w.b) {
		return w.b[w.i]
	}
	return 0
}

func (w *walker) skipSpace() {
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
// unescaped. Escapes and non-ASCII go through encoding/json, so that invalid
// UTF-8 becomes U+FFFD exactly as the claims decoder will see it.
func (w *walker) str() ([]byte, error) {
	start := w.i
	plain := true
	j := w.i + 1
	for ; j < len(w.b) && w.b[j] != '"'; j++ {
		switch c := w.b[j]; {
		case c == '\\':
			plain = false
			j++
		case c >= 0x80:
			plain = false
		}
	}
	if j >= len(w.b) {
		return nil, errBadJSON
	}
	w.i = j + 1
	if plain {
		return w.b[start+1 : j], nil
	}
	var s string
	if err := json.Unmarshal(w.b[start:w.i], &s); err != nil {
		return nil, errBadJSON
	}
	return []byte(s), nil
}

// value walks the value at w.i; depth counts the enclosing containers.
func (w *walker) value(depth int) error {
	switch w.peek() {
	case '{':
		if depth >= maxJSONDepth {
			return errTooDeep
		}
		w.i++
		var buf [maxTopMembers][]byte
		keys := buf[:0]
		var many map[string]bool // replaces keys past maxTopMembers
		for first := true; ; first = false {
			w.skipSpace()
			if w.peek() == '}' && first {
				w.i++
				return nil
			}
			if w.peek() != '"' {
				return errBadJSON
			}
			key, err := w.str()
			if err != nil {
				return err
			}
			if many != nil {
				if many[string(key)] {
					return errDuplicate
				}
				many[string(key)] = true
			} else {
				for _, k := range keys {
					if bytes.Equal(k, key) {
						return errDuplicate
					}
				}
				if len(keys) < cap(keys) {
					keys = append(keys, key)
				} else {
					many = make(map[string]bool, 4*maxTopMembers)
					for _, k := range keys {
						many[string(k)] = true
					}
					many[string(key)] = true
				}
			}
			w.skipSpace()
			if w.peek() != ':' {
				return errBadJSON
			}
			w.i++
			w.skipSpace()
			if depth == 0 {
				m := member{key: key}
				switch c := w.peek(); {
				case c == '"':
					m.isString = true
					if m.str, err = w.str(); err != nil {
						return err
					}
				case c == '-' || '0' <= c && c <= '9':
					m.isNumber = true
					err = w.value(depth + 1)
				default:
					err = w.value(depth + 1)
				}
				if err != nil {
					return err
				}
				w.top = append(w.top, m)
			} else if err := w.value(depth + 1); err != nil {
				return err
			}
			w.skipSpace()
			switch w.peek() {
			case ',':
				w.i++
			case '}':
				w.i++
				return nil
			default:
				return errBadJSON
			}
		}
	case '[':
		if depth >= maxJSONDepth {
			return errTooDeep
		}
		w.i++
		for first := true; ; first = false {
			w.skipSpace()
			if w.peek() == ']' && first {
				w.i++
				return nil
			}
			if err := w.value(depth + 1); err != nil {
				return err
			}
			w.skipSpace()
			switch w.peek() {
			case ',':
				w.i++
			case ']':
				w.i++
				return nil
			default:
				return errBadJSON
			}
		}
	case '"':
		_, err := w.str()
		return err
	case 0:
		return errBadJSON
	default: // number, true, false, null: up to the next delimiter
		start := w.i
		for w.i < len(w.b) {
			switch w.b[w.i] {
			case ',', ']', '}', ':', '[', '{', '"', ' ', '\t', '\r', '\n':
				if w.i == start {
					return errBadJSON
				}
				return nil
			}
			w.i++
		}
		return nil
	}
}

// isInvalidToken reports whether err is a refusal of the token (as opposed
// to a store failure).
func isInvalidToken(err error) bool {
	var e *InvalidTokenError
	return errors.As(err, &e)
}
