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

// FuzzVerify: random strings never panic and never verify.
func FuzzVerify(f *testing.F) {
	fuzzEnvOnce.Do(func() { fuzzEnv = newEnv(f, authd.AlgEdDSA, func(c *token.Config) { c.MaxStaleness = time.Hour }) })
	e := fuzzEnv
	fuzzSeeds(f, e)
	f.Fuzz(func(t *testing.T, raw string) {
		start := time.Now()
		c, err := e.svc.Verify(e.ctx, raw)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Verify took %s on %q", d, raw)
		}
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
