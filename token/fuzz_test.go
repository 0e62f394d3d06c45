package token_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/token"
)

var (
	fuzzEnvOnce sync.Once
	fuzzEnv     *env
	fuzzSeed    string
)

func fuzzSeeds(f *testing.F, e *env) {
	raw, _ := e.issue()
	fuzzSeed = raw
	p := strings.Split(raw, ".")
	for _, s := range []string{
		raw, "", ".", "..", "...", "a.b.c", raw + "=", raw + ".x", p[0] + "." + p[1] + ".",
		`{"protected":"` + p[0] + `","payload":"` + p[1] + `","signature":"` + p[2] + `"}`,
		"eyJhbGciOiJub25lIn0.e30.", strings.Repeat("A", 9000),
		b64([]byte(`{"alg":"EdDSA","kid":"k","typ":"at+jwt","alg":"x"}`)) + "." + p[1] + "." + p[2],
		b64([]byte(`{"alg":"EdDSA","kid":"k","typ":"at+jwt"}`)) + "." + b64([]byte(`{"a":[[[[[[[[[[[{}]]]]]]]]]]]}`)) + "." + p[2],
	} {
		f.Add(s)
	}
}

// FuzzVerify: random strings never panic and never verify.
func FuzzVerify(f *testing.F) {
	fuzzEnvOnce.Do(func() { fuzzEnv = newEnv(f, authd.AlgEdDSA, func(c *token.Config) { c.MaxStaleness = time.Hour }) })
	e := fuzzEnv
	fuzzSeeds(f, e)
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := e.svc.Verify(e.ctx, raw)
		if raw == fuzzSeed {
			return // the one genuine token
		}
		if err == nil || c != nil {
			t.Fatalf("verified a fuzzed token %q", raw)
		}
	})
}

// FuzzPrecheck: the structural pre-checks never panic, and whatever passes
// them has the shape they promise.
func FuzzPrecheck(f *testing.F) {
	fuzzEnvOnce.Do(func() { fuzzEnv = newEnv(f, authd.AlgEdDSA, func(c *token.Config) { c.MaxStaleness = time.Hour }) })
	fuzzSeeds(f, fuzzEnv)
	f.Fuzz(func(t *testing.T, raw string) {
		kid, alg, err := token.Precheck(raw)
		if err != nil {
			return
		}
		if len(raw) > token.MaxTokenSize || strings.Count(raw, ".") != 2 || kid == "" || alg == "" || strings.EqualFold(alg, "none") {
			t.Fatalf("Precheck passed %q (kid %q alg %q)", raw, kid, alg)
		}
	})
}

// hasDuplicateMember is the reference duplicate detector: encoding/json's
// token stream, a key set per open object.
func hasDuplicateMember(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		keys  map[string]bool
		inObj bool
	}
	var stack []frame
	expectKey := false
	for {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		switch t {
		case json.Delim('{'):
			stack = append(stack, frame{keys: map[string]bool{}, inObj: true})
			expectKey = true
			continue
		case json.Delim('['):
			stack = append(stack, frame{})
			expectKey = false
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			expectKey = len(stack) > 0 && stack[len(stack)-1].inObj
			if len(stack) == 0 {
				return false
			}
			continue
		}
		if len(stack) > 0 && stack[len(stack)-1].inObj && expectKey {
			k := t.(string)
			if stack[len(stack)-1].keys[k] {
				return true
			}
			stack[len(stack)-1].keys[k] = true
			expectKey = false
			continue
		}
		if len(stack) == 0 {
			return false
		}
		expectKey = stack[len(stack)-1].inObj
	}
}

// FuzzPayloadDuplicates checks the pre-checks' JSON walk against
// encoding/json: a payload with duplicate members (as encoding/json reads
// them) never passes, and whatever passes is one valid JSON object whose
// top-level names are not case variants of the claims authd reads.
func FuzzPayloadDuplicates(f *testing.F) {
	for _, s := range []string{
		`{"sub":"a","sub":"b"}`, `{"exp":1,"e\u0078p":2}`, `{"a":{"b":1,"b":2}}`, `{"a":[{"x":1},{"x":1,"x":2}]}`,
		`{"s\u00ffb":1,"s\u00ffb":2}`, "{\"\xff\":1,\"\xfe\":2}", `{"sub":"a"}`, `{"EXP":1}`, `{"a":1,}`, `{"a":1} {}`,
		`{"roles":["a","b"],"aud":"x","exp":1e3,"iat":-0.5,"nbf":0}`, `{"a":"\"}","b":"\\"}`,
	} {
		f.Add([]byte(s))
	}
	header := b64([]byte(`{"alg":"EdDSA","kid":"k1","typ":"at+jwt"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		raw := header + "." + b64(payload) + ".AAAA"
		_, _, err := token.Precheck(raw)
		if json.Valid(payload) && hasDuplicateMember(payload) && err == nil {
			t.Fatalf("duplicate members passed: %s", payload)
		}
		if err != nil {
			return
		}
		var m map[string]json.RawMessage
		if !json.Valid(payload) || json.Unmarshal(payload, &m) != nil {
			t.Fatalf("Precheck passed a payload encoding/json refuses: %q", payload)
		}
		for k := range m {
			for _, c := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "email", "roles"} {
				if k != c && strings.EqualFold(k, c) {
					t.Fatalf("case variant %q passed", k)
				}
			}
		}
	})
}
