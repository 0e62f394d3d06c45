package verify_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authd/authd/verify"
)

// discard is a ResponseWriter that keeps nothing, so that the benchmarks
// measure the handler chain and not a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = w.Write([]byte("ok"))
})

// BenchmarkHandlerAlone is the baseline: the handler without the verifier.
func BenchmarkHandlerAlone(b *testing.B) {
	req := httptest.NewRequest(http.MethodGet, "/orders", nil)
	req.Header.Set("Authorization", "Bearer x")
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		okHandler.ServeHTTP(w, req)
	}
}

// BenchmarkMiddleware is the same handler behind Middleware, per signing
// algorithm: with the verified-token cache warm (the common case: a
// client presents its token many times) and without the cache (a parse
// and a signature check on every request).
//
// The test issuer counts every request it gets; the benchmark fails if
// the count grows during the timed loop: the revocation check (and the
// whole of Verify for a known kid) makes no network call. The verifier is
// made with WithMaxStaleness(time.Minute) so that its background
// long-poll (wait 20 s) does not happen to end inside the timed loop; with
// the default it would be re-sent every 1.7 s, in the background, never on
// the request path.
func BenchmarkMiddleware(b *testing.B) {
	for _, alg := range []string{"EdDSA", "ES256", "RS256", "HS256"} {
		for _, cached := range []bool{true, false} {
			name := alg
			if !cached {
				name += "-nocache"
			}
			b.Run(name, func(b *testing.B) {
				k := newKey(b, alg)
				is := newIssuer(b, k)
				opts := []verify.Option{verify.WithMaxStaleness(time.Minute)}
				if alg == "HS256" {
					opts = append(opts, verify.WithHMACSecret(k.kid, k.priv.([]byte)))
				}
				if !cached {
					opts = append(opts, verify.WithCacheSize(0))
				}
				v := newVerifier(b, is, opts...)
				h := v.Middleware(okHandler)
				req := httptest.NewRequest(http.MethodGet, "/orders", nil)
				req.Header.Set("Authorization", "Bearer "+k.token(b, is.claims(time.Now())))
				w := &discard{h: http.Header{}}
				code := 0
				check := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
					if _, ok := verify.ClaimsFrom(r.Context()); ok {
						code = 200
					}
				})
				v.Middleware(check).ServeHTTP(w, req) // warms the cache
				if code != 200 {
					b.Fatal("the token is refused")
				}
				// The follower's first long-poll is under way (the feed's
				// first request was the whole list, at New).
				eventually(b, 5*time.Second, "long-poll sent", func() bool { return is.feedHits.Load() >= 2 })
				before := is.requests.Load()
				b.ReportAllocs()
				for b.Loop() {
					h.ServeHTTP(w, req)
				}
				if n := is.requests.Load() - before; n != 0 {
					b.Fatalf("%d requests to the issuer during the timed loop", n)
				}
				if len(w.h) != 0 {
					b.Fatalf("the middleware answered an error: %v", w.h)
				}
			})
		}
	}
}

// BenchmarkMiddlewareDPoP is the handler behind Middleware with a
// DPoP-bound token (EdDSA, authd's default, cached as in
// BenchmarkMiddleware) and an ES256 proof, a new one (a new jti) each
// request, signed before the timer starts: the cost over a cached bearer
// token is one proof check (the strict parse, one ES256 verification, the
// thumbprint, the claims) and the replay set. "floor" is go-jose parsing
// the same proofs and verifying their signature alone.
func BenchmarkMiddlewareDPoP(b *testing.B) {
	key, jkt := newECKey(b)
	proofs := func(n int, tok string) []string {
		ps := make([]string, n)
		for i := range ps {
			ps[i] = newProof(b, key, "GET", "/orders", tok, time.Now()).sign(b)
		}
		return ps
	}
	b.Run("middleware", func(b *testing.B) {
		k := newKey(b, "EdDSA")
		is := newIssuer(b, k) // its own, as the test counts its requests
		tok := k.token(b, is.boundClaims(time.Now(), jkt))
		v := newVerifier(b, is, verify.WithMaxStaleness(time.Minute), verify.WithPublicURL(publicURL),
			verify.WithReplayCapacity(max(b.N, 1)+1))
		h := v.Middleware(okHandler)
		ps := proofs(b.N+1, tok)
		req := httptest.NewRequest(http.MethodGet, "/orders", nil)
		req.Header.Set("Authorization", "DPoP "+tok)
		req.Header.Set("DPoP", ps[b.N])
		code := 0
		v.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { code = 200 })).ServeHTTP(&discard{h: http.Header{}}, req) // warms the cache
		if code != 200 {
			b.Fatal("the token and proof are refused")
		}
		eventually(b, 5*time.Second, "long-poll sent", func() bool { return is.feedHits.Load() >= 2 })
		w := &discard{h: http.Header{}}
		before := is.requests.Load()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			req.Header["Dpop"][0] = ps[i]
			h.ServeHTTP(w, req)
		}
		b.StopTimer()
		if n := is.requests.Load() - before; n != 0 {
			b.Fatalf("%d requests to the issuer during the timed loop", n)
		}
		if len(w.h) != 0 {
			b.Fatalf("the middleware answered an error: %v", w.h)
		}
	})
	b.Run("floor", func(b *testing.B) {
		ps := proofs(b.N, "a token")
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
}
