package token_test

import (
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

// FuzzVerify: random strings never panic and never verify. (The structural
// checks alone are fuzzed once, in internal/jws: FuzzParse.)
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
