package jws_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/authd/authd/internal/jws"
)

// reference reads b with encoding/json's token stream: whether it is valid
// JSON, an object, has a duplicate member name in some object (names as
// encoding/json unescapes them), and how deep it nests.
func reference(b []byte) (valid, object, duplicate bool, depth int) {
	if !json.Valid(b) {
		return false, false, false, 0
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type frame struct {
		names map[string]bool // nil in an array
	}
	var stack []frame
	expectName := false
	for first := true; ; first = false {
		t, err := dec.Token()
		if err != nil {
			return true, object, duplicate, depth
		}
		if first {
			object = t == json.Delim('{')
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			f := frame{}
			if t == json.Delim('{') {
				f.names = map[string]bool{}
			}
			stack = append(stack, f)
			depth = max(depth, len(stack))
			expectName = f.names != nil
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			expectName = len(stack) > 0 && stack[len(stack)-1].names != nil
			continue
		}
		if len(stack) == 0 {
			continue
		}
		top := stack[len(stack)-1]
		if top.names != nil && expectName {
			name := t.(string)
			duplicate = duplicate || top.names[name]
			top.names[name] = true
			expectName = false
			continue
		}
		expectName = top.names != nil
	}
}

// names returns the top-level member names of the JSON object b.
func names(b []byte) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	return m
}

var accessClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "email", "roles"}

// FuzzParse: the one fuzz target of the parser of outside input (SECURITY
// O2). No input makes Parse panic or read out of bounds, and:
//   - a raw token that passes has the shape Parse promises (size, three
//     segments, alg, kid, the parts are the token's);
//   - a token built from a fuzzed header and payload passes only when
//     encoding/json finds both valid, duplicate-free objects, the header
//     with alg, kid and typ at+jwt only, the payload with no case variant
//     of a claim;
//   - a fuzzed payload under a good header passes exactly when
//     encoding/json finds it a valid object without duplicate names,
//     nesting at most MaxDepth (the walker is a strict JSON validator).
func FuzzParse(f *testing.F) {
	good := tok(goodHeader, goodPayload)
	p := strings.Split(good, ".")
	for _, s := range []string{
		good, "", ".", "..", "...", "a.b.c", good + "=", good + ".x", p[0] + "." + p[1] + ".",
		`{"protected":"` + p[0] + `","payload":"` + p[1] + `","signature":"` + p[2] + `"}`,
		"eyJhbGciOiJub25lIn0.e30.", strings.Repeat("A", 9000),
		tok(`{"alg":"EdDSA","kid":"k","typ":"at+jwt","alg":"x"}`, goodPayload),
		tok(goodHeader, `{"a":[[[[[[[[[[[{}]]]]]]]]]]]}`),
	} {
		f.Add(s, []byte(goodHeader), []byte(goodPayload))
	}
	for _, s := range []string{
		`{"sub":"a","sub":"b"}`, `{"exp":1,"e\u0078p":2}`, `{"a":{"b":1,"b":2}}`, `{"a":[{"x":1},{"x":1,"x":2}]}`,
		`{"s\u00ffb":1,"s\u00ffb":2}`, "{\"\xff\":1,\"\xfe\":2}", `{"sub":"a"}`, `{"EXP":1}`, `{"a":1,}`, `{"a":1} {}`,
		`{"roles":["a","b"],"aud":"x","exp":1e3,"iat":-0.5,"nbf":0}`, `{"a":"\"}","b":"\\"}`, `{"a":1e999,"b":-0.0E+7}`,
		`{"a":[1,2,]}`, `{"a":tru}`, `{"a":01}`, `{"a":"\ud800"}`, `{"a":"\u00"}`, "{\"a\":\"\t\"}", `{"x":[[[[[[[1]]]]]]]}`,
	} {
		f.Add(good, []byte(goodHeader), []byte(s))
	}
	for _, s := range []string{
		`{"alg":"none","kid":"k","typ":"at+jwt"}`, `{"alg":"EdDSA","kid":"k","typ":"at+jwt","jwk":{}}`,
		`{"alg":"EdDSA","k\u0069d":"k","typ":"at+jwt"}`, `{"alg":"EdDSA","kid":"k","typ":"at+jwt","kid":"l"}`,
	} {
		f.Add(good, []byte(s), []byte(goodPayload))
	}
	enc := base64.RawURLEncoding
	anyClaims := &jws.Profile{Typ: "at+jwt", Required: jws.HeaderKID}
	f.Fuzz(func(t *testing.T, raw string, header, payload []byte) {
		if got, err := jws.ParseAccessToken(raw); err == nil {
			last := strings.LastIndexByte(raw, '.')
			switch {
			case len(raw) > jws.MaxTokenSize || strings.Count(raw, ".") != 2:
				t.Fatalf("passed a token of %d bytes, %d dots", len(raw), strings.Count(raw, "."))
			case len(got.Alg) == 0 || strings.EqualFold(string(got.Alg), "none"):
				t.Fatalf("passed alg %q", got.Alg)
			case len(got.KID) == 0 || len(got.KID) > jws.MaxKIDLen:
				t.Fatalf("passed kid %q", got.KID)
			case got.SigningInput != raw[:last] || enc.EncodeToString(got.Signature) != raw[last+1:]:
				t.Fatalf("parts are not the token's: %+v", got)
			case enc.EncodeToString(got.Payload) != raw[strings.IndexByte(raw, '.')+1:last]:
				t.Fatalf("payload is not the token's: %q", got.Payload)
			}
			if valid, object, dup, depth := reference(got.Payload); !valid || !object || dup || depth > jws.MaxDepth {
				t.Fatalf("passed payload %q", got.Payload)
			}
		}

		built := enc.EncodeToString(header) + "." + enc.EncodeToString(payload) + ".AAAA"
		if _, err := jws.ParseAccessToken(built); err == nil && len(built) <= jws.MaxTokenSize {
			if valid, object, dup, depth := reference(header); !valid || !object || dup || depth > jws.MaxDepth {
				t.Fatalf("passed header %q", header)
			}
			h := names(header)
			var typ string
			_ = json.Unmarshal(h["typ"], &typ)
			if len(h) != 3 || h["alg"] == nil || h["kid"] == nil || typ != "at+jwt" {
				t.Fatalf("passed header %q", header)
			}
			for name := range names(payload) {
				for _, c := range accessClaims {
					if name != c && strings.EqualFold(name, c) {
						t.Fatalf("passed case variant %q", name)
					}
				}
			}
		}

		built = tok(goodHeader, string(payload))
		_, err := jws.Parse(built, anyClaims)
		valid, object, dup, depth := reference(payload)
		if want := valid && object && !dup && depth <= jws.MaxDepth; len(built) <= jws.MaxTokenSize && want != (err == nil) {
			t.Fatalf("Parse = %v on payload %q; encoding/json: valid %v, object %v, duplicate %v, depth %d", err, payload, valid, object, dup, depth)
		}
	})
}
