package token_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authd/authd"
	"github.com/authd/authd/token"
)

// benchEnv is an env tuned for benchmarks: the revocation set never turns
// stale (nothing runs Sync), and the cache on or off.
func benchEnv(b *testing.B, alg string, cache bool) *env {
	return newEnv(b, alg, func(c *token.Config) {
		c.MaxStaleness = time.Hour
		if !cache {
			c.CacheSize = -1
		}
	})
}

// primitive is a stdlib-only signature check of one algorithm.
type primitive struct {
	name   string
	alg    string
	verify func(key any, in, sig []byte) bool
}

var primitives = []primitive{
	{"HMAC-SHA256", authd.AlgHS256, func(key any, in, sig []byte) bool {
		m := hmac.New(sha256.New, key.([]byte))
		m.Write(in)
		return hmac.Equal(m.Sum(nil), sig)
	}},
	{"Ed25519", authd.AlgEdDSA, func(key any, in, sig []byte) bool {
		return ed25519.Verify(key.(ed25519.PublicKey), in, sig)
	}},
	{"ECDSA-P256", authd.AlgES256, func(key any, in, sig []byte) bool {
		h := sha256.Sum256(in)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(key.(*ecdsa.PublicKey), h[:], r, s)
	}},
	{"RSA-2048", authd.AlgRS256, func(key any, in, sig []byte) bool {
		h := sha256.Sum256(in)
		return rsa.VerifyPKCS1v15(key.(*rsa.PublicKey), crypto.SHA256, h[:], sig) == nil
	}},
}

func publicOf(b *testing.B, k *authd.Key) any {
	if k.Alg == authd.AlgHS256 {
		return k.Private
	}
	p, err := x509.ParsePKIXPublicKey(k.Public)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func BenchmarkIssue(b *testing.B) {
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			e := benchEnv(b, alg, false)
			sess := &authd.Session{ID: "sess-bench", UserID: e.user.ID, Email: e.user.Email, Roles: e.user.Roles}
			var size int
			b.ReportAllocs()
			for b.Loop() {
				p, err := e.svc.IssueForSession(e.ctx, sess)
				if err != nil {
					b.Fatal(err)
				}
				size = len(p.AccessToken)
			}
			b.ReportMetric(float64(size), "bytes/token")
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			e := benchEnv(b, alg, false)
			raw, _ := e.issue()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.svc.Verify(e.ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(raw)), "bytes/token")
		})
	}
}

func BenchmarkVerifyCached(b *testing.B) {
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			e := benchEnv(b, alg, true)
			raw, _ := e.issue()
			if _, err := e.svc.Verify(e.ctx, raw); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.svc.Verify(e.ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRawPrimitive is the signature check alone, stdlib crypto on the
// signing input of a real token.
func BenchmarkRawPrimitive(b *testing.B) {
	for _, p := range primitives {
		b.Run(p.name, func(b *testing.B) {
			e := benchEnv(b, p.alg, false)
			raw, _ := e.issue()
			i := strings.LastIndexByte(raw, '.')
			in := []byte(raw[:i])
			sig, _ := base64.RawURLEncoding.DecodeString(raw[i+1:])
			key := publicOf(b, e.key)
			if !p.verify(key, in, sig) {
				b.Fatal("primitive refuses the token")
			}
			b.ReportAllocs()
			for b.Loop() {
				if !p.verify(key, in, sig) {
					b.Fatal("refused")
				}
			}
		})
	}
}

// BenchmarkRawPrimitivePlusDecode is the floor of any verifier: split,
// base64-decode the three segments, json.Unmarshal header and claims into
// maps, and check the signature.
func BenchmarkRawPrimitivePlusDecode(b *testing.B) {
	for _, p := range primitives {
		b.Run(p.alg, func(b *testing.B) {
			e := benchEnv(b, p.alg, false)
			raw, _ := e.issue()
			key := publicOf(b, e.key)
			b.ReportAllocs()
			for b.Loop() {
				i := strings.IndexByte(raw, '.')
				j := strings.LastIndexByte(raw, '.')
				hb, err1 := base64.RawURLEncoding.DecodeString(raw[:i])
				pb, err2 := base64.RawURLEncoding.DecodeString(raw[i+1 : j])
				sig, err3 := base64.RawURLEncoding.DecodeString(raw[j+1:])
				var h, c map[string]any
				err4 := json.Unmarshal(hb, &h)
				err5 := json.Unmarshal(pb, &c)
				if err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil || !p.verify(key, []byte(raw[:j]), sig) {
					b.Fatal("refused")
				}
			}
		})
	}
}

// BenchmarkGolangJWTBareParse is golang-jwt's ParseWithClaims with typed
// RegisteredClaims and a fixed key: the baseline of the HS256 target.
func BenchmarkGolangJWTBareParse(b *testing.B) {
	b.Run(authd.AlgHS256, func(b *testing.B) {
		e := benchEnv(b, authd.AlgHS256, false)
		raw, _ := e.issue()
		key := e.key.Private
		kf := func(*jwt.Token) (any, error) { return key, nil }
		parser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(e.clock.Now))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parser.ParseWithClaims(raw, &jwt.RegisteredClaims{}, kf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerifyParallel is the cached and uncached verify under
// concurrency (GOMAXPROCS goroutines).
func BenchmarkVerifyParallel(b *testing.B) {
	for _, cache := range []bool{false, true} {
		name := "EdDSA/uncached"
		if cache {
			name = "EdDSA/cached"
		}
		b.Run(name, func(b *testing.B) {
			e := benchEnv(b, authd.AlgEdDSA, cache)
			raw, _ := e.issue()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.svc.Verify(e.ctx, raw); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func TestTokenSize(t *testing.T) {
	for _, alg := range allAlgs {
		e := newEnv(t, alg)
		raw, _ := e.issue()
		t.Logf("%s access token: %d bytes", alg, len(raw))
		if len(raw) > token.MaxTokenSize/4 {
			t.Errorf("%s token of %d bytes is close to the verify bound", alg, len(raw))
		}
	}
}

// BenchmarkRatio measures the full Verify (cache off) and its baseline
// interleaved in small batches, so that both see the same machine load:
// the baseline is BenchmarkRawPrimitivePlusDecode for EdDSA, ES256 and
// RS256 and BenchmarkGolangJWTBareParse for HS256. It reports both costs and
// verify/baseline as "ratio".
func BenchmarkRatio(b *testing.B) {
	for _, p := range primitives {
		b.Run(p.alg, func(b *testing.B) {
			e := benchEnv(b, p.alg, false)
			raw, _ := e.issue()
			key := publicOf(b, e.key)
			verify := func() {
				if _, err := e.svc.Verify(e.ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
			baseline := func() {
				i := strings.IndexByte(raw, '.')
				j := strings.LastIndexByte(raw, '.')
				hb, _ := base64.RawURLEncoding.DecodeString(raw[:i])
				pb, _ := base64.RawURLEncoding.DecodeString(raw[i+1 : j])
				sig, _ := base64.RawURLEncoding.DecodeString(raw[j+1:])
				var h, c map[string]any
				_ = json.Unmarshal(hb, &h)
				_ = json.Unmarshal(pb, &c)
				if !p.verify(key, []byte(raw[:j]), sig) {
					b.Fatal("refused")
				}
			}
			if p.alg == authd.AlgHS256 {
				kf := func(*jwt.Token) (any, error) { return key, nil }
				parser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(e.clock.Now))
				baseline = func() {
					if _, err := parser.ParseWithClaims(raw, &jwt.RegisteredClaims{}, kf); err != nil {
						b.Fatal(err)
					}
				}
			}
			const batch = 20
			var tv, tb time.Duration
			n := 0
			for b.Loop() {
				t0 := time.Now()
				for range batch {
					verify()
				}
				t1 := time.Now()
				for range batch {
					baseline()
				}
				tv += t1.Sub(t0)
				tb += time.Since(t1)
				n += batch
			}
			b.ReportMetric(float64(tv.Nanoseconds())/float64(n), "verify-ns/op")
			b.ReportMetric(float64(tb.Nanoseconds())/float64(n), "baseline-ns/op")
			b.ReportMetric(float64(tv)/float64(tb), "ratio")
		})
	}
}
