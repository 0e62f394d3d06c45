package dpop_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/authd/authd/dpop"
)

// FuzzCheck: no header value makes Check panic, every error is one of the
// four (the replay set and the request are sound, so no server error),
// and its text never holds the proof; a proof that passes is signed by one
// of the test's keys (nobody else holds them) and carries their
// thumbprint.
func FuzzCheck(f *testing.F) {
	k := keys()
	c := dpop.New(dpop.Config{Now: fixed(t0)}, replays(f))
	var jkts []string
	for _, pub := range []any{&k.ec.PublicKey, &k.ec2.PublicKey, &k.ec384.PublicKey, k.ed.Public(), &k.rsa.PublicKey} {
		jkt, err := dpop.Thumbprint(pub)
		if err != nil {
			f.Fatal(err)
		}
		jkts = append(jkts, jkt)
	}
	good := resourceProof(k.ec, t0)
	ed := resourceProof(k.ec, t0)
	ed.Key, ed.Alg, ed.Header["jwk"] = k.ed, jose.EdDSA, publicJWK(k.ed.Public())
	rs := resourceProof(k.ec, t0)
	rs.Key, rs.Alg, rs.Header["jwk"] = k.rsa, jose.PS256, publicJWK(&k.rsa.PublicKey)
	priv := resourceProof(k.ec, t0)
	priv.Header["jwk"] = privateJWK(k.ec)
	other := resourceProof(k.ec, t0)
	other.Key = k.ec2
	for _, s := range []string{
		good.sign(f), ed.sign(f), rs.sign(f), priv.sign(f), other.sign(f), "", ".", "..", "a.b.c",
		unsigned(map[string]any{"alg": "none", "typ": "dpop+jwt", "jwk": publicJWK(&k.ec.PublicKey)}, good.Claims),
		unsigned(map[string]any{"alg": "ES256", "typ": "dpop+jwt", "jwk": map[string]any{"kty": "EC", "crv": "P-256", "x": "", "y": ""}}, good.Claims),
		unsigned(map[string]any{"alg": "RS256", "typ": "dpop+jwt", "jwk": map[string]any{"kty": "RSA", "n": "AQ", "e": "AQAB"}}, good.Claims),
		unsigned(map[string]any{"alg": "EdDSA", "typ": "dpop+jwt", "jwk": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(strings.Repeat("\x00", 32))}}, good.Claims),
	} {
		f.Add(s, "GET", false)
	}
	f.Fuzz(func(t *testing.T, raw, method string, token bool) {
		req := dpop.Request{Method: method, URL: resourceURL}
		if token {
			req.AccessToken = accessToken
		}
		p, err := c.Check(context.Background(), []string{raw}, req)
		if err != nil {
			if p != nil {
				t.Fatalf("Check = %+v and %v", p, err)
			}
			if !errors.Is(err, dpop.ErrInvalid) && !errors.Is(err, dpop.ErrReplayed) {
				t.Fatalf("Check: %v, neither ErrInvalid nor ErrReplayed", err)
			}
			if len(raw) > 16 && strings.Contains(err.Error(), raw) {
				t.Fatalf("error text holds the proof: %v", err)
			}
			return
		}
		found := false
		for _, jkt := range jkts {
			found = found || p.JKT == jkt
		}
		if !found || p.JTI == "" || len(p.JTI) > 256 {
			t.Fatalf("passed a proof not signed by a test key: %+v", p)
		}
	})
}
