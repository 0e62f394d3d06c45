package token

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
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

// precheckedHeader is what the pre-checks learned from the JOSE header.
type precheckedHeader struct {
	alg, kid string
}

// knownClaims are the claim names Verify reads. A payload member that differs
// from one of them only by case is refused (SECURITY J7).
var knownClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "email", "roles"}

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
//     nesting at most 8 deep, and no top-level member that differs from a
//     claim authd reads (iss, sub, aud, exp, nbf, iat, jti, sid, email,
//     roles) only by case.
func Precheck(raw string) (kid, alg string, err error) {
	h, _, err := precheck(raw)
	return h.kid, h.alg, err
}

// precheck is Precheck, also returning the decoded payload.
func precheck(raw string) (precheckedHeader, []byte, error) {
	var h precheckedHeader
	if len(raw) == 0 {
		return h, nil, invalid("empty token")
	}
	if len(raw) > MaxTokenSize {
		return h, nil, invalid("token larger than 8 KiB")
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
				return h, nil, invalid("more than three segments (JWE or garbage)")
			}
		default:
			return h, nil, invalid("not a compact serialization of base64url segments")
		}
	}
	if dot2 < 0 {
		return h, nil, invalid("fewer than three segments")
	}
	hseg, pseg, sseg := raw[:dot1], raw[dot1+1:dot2], raw[dot2+1:]
	if len(hseg) == 0 || len(pseg) == 0 || len(sseg) == 0 {
		return h, nil, invalid("empty segment")
	}
	if len(sseg) > maxSigLen || !strictB64Tail(sseg) {
		return h, nil, invalid("signature is not strict base64url")
	}
	hb, err := strictB64.DecodeString(hseg)
	if err != nil {
		return h, nil, invalid("header is not strict base64url")
	}
	pb, err := strictB64.DecodeString(pseg)
	if err != nil {
		return h, nil, invalid("payload is not strict base64url")
	}
	if h, err = checkHeader(hb); err != nil {
		return h, nil, err
	}
	if err := checkPayload(pb); err != nil {
		return h, nil, err
	}
	return h, pb, nil
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

// checkHeader checks the decoded JOSE header.
func checkHeader(b []byte) (precheckedHeader, error) {
	var h precheckedHeader
	members, err := scanObject(b, true)
	if err != nil {
		return h, err
	}
	var typ string
	var haveAlg, haveKID, haveTyp bool
	for _, m := range members {
		switch m.key {
		case "alg", "kid", "typ":
			if !m.isString {
				return h, invalid("header " + m.key + " is not a string")
			}
		case "jwk", "jku", "x5u", "x5c":
			return h, invalid("embedded or remote key header " + m.key)
		case "crit":
			return h, invalid("crit header (no extension is understood)")
		default:
			return h, invalid("unexpected header parameter")
		}
		switch m.key {
		case "alg":
			h.alg, haveAlg = m.str, true
		case "kid":
			h.kid, haveKID = m.str, true
		case "typ":
			typ, haveTyp = m.str, true
		}
	}
	switch {
	case !haveAlg:
		return h, invalid("no alg")
	case strings.EqualFold(h.alg, "none"):
		return h, invalid("alg none")
	case !haveTyp:
		return h, invalid("no typ")
	case typ != "at+jwt":
		return h, invalid("typ is not at+jwt")
	case !haveKID || h.kid == "":
		return h, invalid("no kid")
	case len(h.kid) > maxKIDLen:
		return h, invalid("kid too long")
	}
	return h, nil
}

// checkPayload checks the decoded claims.
func checkPayload(b []byte) error {
	members, err := scanObject(b, false)
	if err != nil {
		return err
	}
	for _, m := range members {
		switch m.key {
		case "exp", "nbf", "iat":
			// NOTE: golang-jwt would also take "exp":"123" (a string
			// holding a number); RFC 7519 wants a JSON number.
			if !m.isNumber {
				return invalid(m.key + " is not a JSON number")
			}
			continue
		case "iss", "sub", "jti", "sid", "email":
			if !m.isString {
				return invalid(m.key + " is not a string")
			}
			continue
		case "aud", "roles":
			continue // types checked by the claims decoder
		}
		for _, k := range knownClaims {
			if strings.EqualFold(m.key, k) {
				return invalid("claim name differs from " + k + " only by case")
			}
		}
	}
	return nil
}

// member is one top-level member of a JSON object.
type member struct {
	key      string
	str      string // the value, when it is a string
	isString bool
	isNumber bool
}

var errDuplicate = invalid("duplicate JSON member name")

// scanObject reads b as exactly one JSON object with encoding/json's token
// stream and returns its top-level members. It refuses invalid JSON, any
// value that is not an object, trailing data, nesting deeper than
// maxJSONDepth, and duplicate member names in any object at any depth
// (compared after unescaping, as encoding/json would see them).
//
// NOTE: encoding/json alone keeps the last of duplicate members and matches
// names case-insensitively, so a payload {"sub":"a","sub":"b"} could mean
// different things to different parsers (SECURITY J7). This walk makes such
// a token invalid before anyone reads it.
func scanObject(b []byte, wantStrings bool) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	t, err := dec.Token()
	if err != nil || t != json.Delim('{') {
		return nil, invalid("not a JSON object")
	}
	var top []member
	// stack of the key sets of the open objects; nil entries are arrays.
	type frame struct {
		keys    []string
		many    map[string]bool // replaces keys past 16 members
		isArray bool
	}
	stack := make([]frame, 1, maxJSONDepth)
	expectKey := true // inside an object, the next token is a key or '}'
	for len(stack) > 0 {
		t, err := dec.Token()
		if err != nil {
			return nil, invalid("malformed JSON")
		}
		f := &stack[len(stack)-1]
		if !f.isArray && expectKey {
			if t == json.Delim('}') {
				stack = stack[:len(stack)-1]
				expectKey = len(stack) > 0 && !stack[len(stack)-1].isArray
				continue
			}
			key, ok := t.(string)
			if !ok {
				return nil, invalid("malformed JSON")
			}
			if f.many != nil {
				if f.many[key] {
					return nil, errDuplicate
				}
				f.many[key] = true
			} else {
				for _, k := range f.keys {
					if k == key {
						return nil, errDuplicate
					}
				}
				f.keys = append(f.keys, key)
				if len(f.keys) > 16 {
					f.many = make(map[string]bool, 32)
					for _, k := range f.keys {
						f.many[k] = true
					}
				}
			}
			if len(stack) == 1 {
				top = append(top, member{key: key})
			}
			expectKey = false
			continue
		}
		// a value (or the end of an array)
		switch t {
		case json.Delim('{'), json.Delim('['):
			if len(stack) >= maxJSONDepth {
				return nil, invalid("JSON nested too deep")
			}
			stack = append(stack, frame{isArray: t == json.Delim('[')})
			expectKey = t == json.Delim('{')
			continue
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			expectKey = len(stack) > 0 && !stack[len(stack)-1].isArray
			continue
		}
		if len(stack) == 1 {
			m := &top[len(top)-1]
			switch v := t.(type) {
			case string:
				m.isString = true
				if wantStrings {
					m.str = v
				}
			case float64:
				m.isNumber = true
			}
		}
		expectKey = !f.isArray
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid("trailing data after JSON object")
	}
	return top, nil
}

// isInvalidToken reports whether err is a refusal of the token (as opposed
// to a store failure).
func isInvalidToken(err error) bool {
	var e *InvalidTokenError
	return errors.As(err, &e)
}
