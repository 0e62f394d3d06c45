package dpop_test

import (
	"context"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authd/authd/dpop"
)

// BenchmarkCheck is Check on an ES256 proof with an access token, against
// the floor: go-jose parsing the same proof and verifying its one ES256
// signature with its embedded key. Check adds the strict parser, the key
// and private-member checks, the thumbprint, the claims, the URL and, in
// "check", the replay set (authd's SQLite store, one UPSERT), which
// "remember" measures alone. Each iteration checks a new proof (a new jti),
// signed before the timer starts.
func BenchmarkCheck(b *testing.B) {
	k := keys()
	ctx := context.Background()
	proofs := func(n int) []string {
		ps := make([]string, n)
		for i := range ps {
			ps[i] = resourceProof(k.ec, t0).sign(b)
		}
		return ps
	}
	b.Run("check", func(b *testing.B) {
		c := dpop.New(dpop.Config{Now: fixed(t0)}, replays(b))
		ps := proofs(b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := c.Check(ctx, ps[i:i+1], resourceReq); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor", func(b *testing.B) {
		ps := proofs(b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			obj, err := jose.ParseSignedCompact(ps[i], []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := obj.Verify(obj.Signatures[0].Header.JSONWebKey); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("remember", func(b *testing.B) {
		r := replays(b)
		jkt, _ := dpop.Thumbprint(&k.ec.PublicKey)
		keys := make([]string, b.N)
		for i := range keys {
			keys[i] = jkt + ":" + newJTI()
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if ok, err := r.Remember(ctx, keys[i], t0.Add(65*time.Second), t0); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
}
