package verify_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/verify"
)

// FuzzVerify: no input makes Verify panic or answer anything but a token's
// claims or ErrInvalidToken, and nothing but the seeds' valid tokens is
// ever accepted (SECURITY O2).
func FuzzVerify(f *testing.F) {
	ed, es := newKey(f, "EdDSA"), newKey(f, "ES256")
	is := newIssuer(f, ed, es)
	v := newVerifier(f, is, verify.WithMaxStaleness(time.Hour), verify.WithCacheSize(64))
	valid := map[string]bool{}
	for _, k := range []*testKey{ed, es} {
		tok := k.token(f, is.claims(time.Now()))
		valid[tok] = true
		f.Add(tok)
		parts := strings.Split(tok, ".")
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add(parts[0] + ".." + parts[2])
		f.Add(k.signRaw(f, k.header(), `{"sub":"a","sub":"b"}`))
	}
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add(strings.Repeat("a", 9000))
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := v.Verify(ctx, tok)
		switch {
		case err == nil && !valid[tok]:
			t.Fatalf("accepted a token that was never issued: %q (%+v)", tok, c)
		case err != nil && !errors.Is(err, verify.ErrInvalidToken):
			t.Fatalf("error %v is not ErrInvalidToken", err)
		case err != nil && c.Subject != "":
			t.Fatalf("claims with an error: %+v", c)
		}
	})
}

// FuzzParseJWK: a JWKS member from the network never panics the parser.
func FuzzParseJWK(f *testing.F) {
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		k := newKey(f, alg)
		b := []byte(`{"kty":"` + k.jwk["kty"].(string) + `","kid":"k","alg":"` + alg + `"`)
		for _, m := range []string{"crv", "x", "y", "n", "e"} {
			if v, ok := k.jwk[m].(string); ok {
				b = append(b, `,"`+m+`":"`+v+`"`...)
			}
		}
		f.Add(append(b, '}'))
	}
	f.Add([]byte(`{"kty":"oct","k":"AAAA"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = verify.ParseJWK(b)
	})
}
