package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authd/authd"
	"github.com/authd/authd/dpop"
	"github.com/authd/authd/internal/jwstest"
	"github.com/authd/authd/sqlite"
)

const (
	resourceURL = "https://auth.example/v1/me"
	tokenURL    = "https://auth.example/oauth2/token"
	accessToken = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1MSJ9.c2ln"
)

var t0 = time.Unix(1700000000, 0)

// keys are generated once for the package's tests.
var keys = sync.OnceValue(func() (k struct {
	ec, ec2 *ecdsa.PrivateKey
	ec384   *ecdsa.PrivateKey
	ed      ed25519.PrivateKey
	rsa     *rsa.PrivateKey
	rsa1024 *rsa.PrivateKey
}) {
	var err error
	k.ec, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k.ec2, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k.ec384, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, k.ed, _ = ed25519.GenerateKey(rand.Reader)
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.rsa1024, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
		panic(err)
	}
	return k
})

// replays opens a real replay set: authd's SQLite store in a new file.
func replays(t testing.TB) authd.ReplaySet {
	return openReplays(t, filepath.Join(t.TempDir(), "x.db"))
}

func openReplays(t testing.TB, path string) authd.ReplaySet {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// spec is a proof to sign: go-jose writes alg (Alg) and the header
// members in Header, and signs Claims with Key.
type spec struct {
	Key    any
	Alg    jose.SignatureAlgorithm
	Header map[string]any
	Claims map[string]any
}

// publicJWK is pub as a JWK, as a JSON object.
func publicJWK(pub any) map[string]any {
	b, err := json.Marshal(&jose.JSONWebKey{Key: pub})
	if err != nil {
		panic(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}

func newJTI() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// resourceProof is a good ES256 proof for GET resourceURL with
// accessToken at now, signed by key.
func resourceProof(key *ecdsa.PrivateKey, now time.Time) spec {
	return spec{
		Key: key, Alg: jose.ES256,
		Header: map[string]any{"typ": "dpop+jwt", "jwk": publicJWK(&key.PublicKey)},
		Claims: map[string]any{"jti": newJTI(), "htm": "GET", "htu": resourceURL, "iat": now.Unix(), "ath": dpop.ATH(accessToken)},
	}
}

func (s spec) sign(t testing.TB) string {
	t.Helper()
	return jwstest.Sign(t, s.Key, s.Alg, s.Header, s.Claims)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// unsigned is a proof with header and claims as given and a signature of
// 64 bytes that nothing signed (alg none has no key to sign with).
func unsigned(header, claims map[string]any) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return b64(string(h)) + "." + b64(string(c)) + "." + b64(strings.Repeat("s", 64))
}

func fixed(now time.Time) func() time.Time { return func() time.Time { return now } }

var resourceReq = dpop.Request{Method: "GET", URL: resourceURL, AccessToken: accessToken}
var tokenReq = dpop.Request{Method: "POST", URL: tokenURL}

// TestCheck is RFC 9449 §4.3 and SECURITY K1, one case per rule. Each
// case edits a good ES256 proof for GET resourceURL with accessToken.
func TestCheck(t *testing.T) {
	k := keys()
	c := dpop.New(dpop.Config{Now: fixed(t0)}, replays(t))
	tests := []struct {
		name    string
		edit    func(s *spec)
		req     *dpop.Request               // resourceReq when nil
		headers func(proof string) []string // {proof} when nil
		raw     func(s spec) string         // s.sign when nil
		want    error
		reason  string // a piece of the error's text
	}{
		{name: "ES256 with a token"},
		{name: "EdDSA", edit: func(s *spec) { s.Key, s.Alg, s.Header["jwk"] = k.ed, jose.EdDSA, publicJWK(k.ed.Public()) }},
		{name: "ES384", edit: func(s *spec) { s.Key, s.Alg, s.Header["jwk"] = k.ec384, jose.ES384, publicJWK(&k.ec384.PublicKey) }},
		{name: "PS256", edit: func(s *spec) { s.Key, s.Alg, s.Header["jwk"] = k.rsa, jose.PS256, publicJWK(&k.rsa.PublicKey) }},
		{name: "RS256", edit: func(s *spec) { s.Key, s.Alg, s.Header["jwk"] = k.rsa, jose.RS256, publicJWK(&k.rsa.PublicKey) }},
		{name: "token endpoint, no ath", req: &tokenReq, edit: func(s *spec) {
			s.Claims["htm"], s.Claims["htu"] = "POST", tokenURL
			delete(s.Claims, "ath")
		}},
		{name: "unknown claims and a nonce without a NonceSource", edit: func(s *spec) { s.Claims["nonce"], s.Claims["x"] = "n", []int{1} }},
		{name: "jwk with alg and use", edit: func(s *spec) {
			s.Header["jwk"].(map[string]any)["alg"], s.Header["jwk"].(map[string]any)["use"] = "ES256", "sig"
		}},
		{name: "jti of 256 bytes", edit: func(s *spec) { s.Claims["jti"] = strings.Repeat("j", 256) }},
		{name: "fractional iat", edit: func(s *spec) { s.Claims["iat"] = float64(t0.Unix()) + 0.5 }},

		{name: "missing", headers: func(string) []string { return nil }, want: dpop.ErrMissing},
		{name: "two headers", headers: func(p string) []string { return []string{p, p} }, want: dpop.ErrInvalid, reason: "more than one"},
		{name: "two headers, the second empty", headers: func(p string) []string { return []string{p, ""} }, want: dpop.ErrInvalid, reason: "more than one"},
		{name: "two proofs joined in one header", headers: func(p string) []string { return []string{p + ", " + p} }, want: dpop.ErrInvalid, reason: "not the compact serialization"},
		{name: "empty header", headers: func(string) []string { return []string{""} }, want: dpop.ErrInvalid, reason: "empty token"},
		{name: "not a JWT", headers: func(string) []string { return []string{"proof"} }, want: dpop.ErrInvalid, reason: "not the compact serialization"},

		{name: "wrong method", edit: func(s *spec) { s.Claims["htm"] = "POST" }, want: dpop.ErrInvalid, reason: "htm"},
		{name: "method in lower case", edit: func(s *spec) { s.Claims["htm"] = "get" }, want: dpop.ErrInvalid, reason: "htm"},
		{name: "no htm", edit: func(s *spec) { delete(s.Claims, "htm") }, want: dpop.ErrInvalid, reason: "no htm"},

		{name: "URL: other path", edit: func(s *spec) { s.Claims["htu"] = "https://auth.example/v1/authz" }, want: dpop.ErrInvalid, reason: "htu"},
		{name: "URL: other host", edit: func(s *spec) { s.Claims["htu"] = "https://evil.example/v1/me" }, want: dpop.ErrInvalid, reason: "htu"},
		{name: "URL: other scheme", edit: func(s *spec) { s.Claims["htu"] = "http://auth.example/v1/me" }, want: dpop.ErrInvalid, reason: "htu"},
		{name: "URL: other port", edit: func(s *spec) { s.Claims["htu"] = "https://auth.example:8443/v1/me" }, want: dpop.ErrInvalid, reason: "htu"},
		{name: "URL: trailing slash", edit: func(s *spec) { s.Claims["htu"] = resourceURL + "/" }, want: dpop.ErrInvalid, reason: "htu"},
		{name: "URL: encoded slash", edit: func(s *spec) { s.Claims["htu"] = "https://auth.example/v1%2Fme" }, want: dpop.ErrInvalid, reason: "htu"},
		{name: "URL: userinfo", edit: func(s *spec) { s.Claims["htu"] = "https://ann@auth.example/v1/me" }, want: dpop.ErrInvalid, reason: "htu"},
		{name: "URL: relative", edit: func(s *spec) { s.Claims["htu"] = "/v1/me" }, want: dpop.ErrInvalid, reason: "htu"},
		{name: "URL: other scheme than http", edit: func(s *spec) { s.Claims["htu"] = "wss://auth.example/v1/me" }, want: dpop.ErrInvalid, reason: "htu"},
		{name: "no htu", edit: func(s *spec) { delete(s.Claims, "htu") }, want: dpop.ErrInvalid, reason: "no htu"},
		{name: "URL: query and fragment ignored", edit: func(s *spec) { s.Claims["htu"] = resourceURL + "?a=1&b=2#frag" }},
		{name: "URL: query of the request ignored", req: &dpop.Request{Method: "GET", URL: resourceURL + "?x=1", AccessToken: accessToken}},
		{name: "URL: scheme and host case, default port", edit: func(s *spec) { s.Claims["htu"] = "HTTPS://Auth.EXAMPLE:443/v1/me" }},
		{name: "URL: dot segments and encoded unreserved", edit: func(s *spec) { s.Claims["htu"] = "https://auth.example/v1/x/../%6De" }},
		{name: "URL: path case matters", edit: func(s *spec) { s.Claims["htu"] = "https://auth.example/V1/me" }, want: dpop.ErrInvalid, reason: "htu"},

		{name: "stale iat", edit: func(s *spec) { s.Claims["iat"] = t0.Add(-61 * time.Second).Unix() }, want: dpop.ErrInvalid, reason: "iat too old"},
		{name: "iat at the window's edge", edit: func(s *spec) { s.Claims["iat"] = t0.Add(-60 * time.Second).Unix() }},
		{name: "future iat", edit: func(s *spec) { s.Claims["iat"] = t0.Add(61 * time.Second).Unix() }, want: dpop.ErrInvalid, reason: "iat in the future"},
		{name: "no iat", edit: func(s *spec) { delete(s.Claims, "iat") }, want: dpop.ErrInvalid, reason: "no iat"},
		{name: "iat a string", edit: func(s *spec) { s.Claims["iat"] = "1700000000" }, want: dpop.ErrInvalid, reason: "wrong JSON type"},
		{name: "iat negative", edit: func(s *spec) { s.Claims["iat"] = -1 }, want: dpop.ErrInvalid, reason: "iat out of range"},
		{name: "iat huge", edit: func(s *spec) { s.Claims["iat"] = 1e300 }, want: dpop.ErrInvalid, reason: "iat out of range"},

		{name: "wrong ath", edit: func(s *spec) { s.Claims["ath"] = dpop.ATH("another token") }, want: dpop.ErrInvalid, reason: "ath is not"},
		{name: "ath missing with a token", edit: func(s *spec) { delete(s.Claims, "ath") }, want: dpop.ErrInvalid, reason: "no ath"},
		{name: "ath empty", edit: func(s *spec) { s.Claims["ath"] = "" }, want: dpop.ErrInvalid, reason: "ath is not"},
		{name: "ath at the token endpoint", req: &tokenReq, edit: func(s *spec) { s.Claims["htm"], s.Claims["htu"] = "POST", tokenURL }, want: dpop.ErrInvalid, reason: "ath without an access token"},

		{name: "other key", edit: func(s *spec) { s.Key = k.ec2 }, want: dpop.ErrInvalid, reason: "signature does not verify"},
		{name: "alg none", raw: func(s spec) string { s.Header["alg"] = "none"; return unsigned(s.Header, s.Claims) }, want: dpop.ErrInvalid, reason: `alg "none"`},
		{name: "HS256 with an oct jwk", edit: func(s *spec) {
			secret := []byte(strings.Repeat("k", 32))
			s.Key, s.Alg, s.Header["jwk"] = secret, jose.HS256, map[string]any{"kty": "oct", "k": b64(string(secret))}
		}, want: dpop.ErrInvalid, reason: "alg is not an accepted"},
		{name: "HS256 with the EC jwk", edit: func(s *spec) { s.Key, s.Alg = []byte(strings.Repeat("k", 32)), jose.HS256 }, want: dpop.ErrInvalid, reason: "alg is not an accepted"},
		{name: "ES512", edit: func(s *spec) {
			k521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
			s.Key, s.Alg, s.Header["jwk"] = k521, jose.ES512, publicJWK(&k521.PublicKey)
		}, want: dpop.ErrInvalid, reason: "alg is not an accepted"},
		{name: "alg es256", raw: func(s spec) string { s.Header["alg"] = "es256"; return unsigned(s.Header, s.Claims) }, want: dpop.ErrInvalid, reason: "alg is not an accepted"},
		{name: "private key in jwk", edit: func(s *spec) { s.Header["jwk"] = privateJWK(k.ec) }, want: dpop.ErrInvalid, reason: "private"},
		{name: "private RSA primes in jwk", edit: func(s *spec) {
			jwk := publicJWK(&k.rsa.PublicKey)
			jwk["p"], jwk["q"] = b64("p"), b64("q")
			s.Key, s.Alg, s.Header["jwk"] = k.rsa, jose.RS256, jwk
		}, want: dpop.ErrInvalid, reason: "private"},
		{name: "private key in jwk, the only key", edit: func(s *spec) { s.Header["jwk"] = map[string]any{"kty": "oct", "k": b64(strings.Repeat("k", 32))} }, want: dpop.ErrInvalid, reason: "private"},
		{name: "wrong typ", edit: func(s *spec) { s.Header["typ"] = "JWT" }, want: dpop.ErrInvalid, reason: "typ is not dpop+jwt"},
		{name: "no typ", edit: func(s *spec) { delete(s.Header, "typ") }, want: dpop.ErrInvalid, reason: "typ is not dpop+jwt"},
		{name: "access token's typ", edit: func(s *spec) { s.Header["typ"] = "at+jwt" }, want: dpop.ErrInvalid, reason: "typ is not dpop+jwt"},
		{name: "no jwk", edit: func(s *spec) { delete(s.Header, "jwk") }, want: dpop.ErrInvalid, reason: "no jwk"},
		{name: "jwk of the wrong type for alg (OKP for ES256)", edit: func(s *spec) { s.Header["jwk"] = publicJWK(k.ed.Public()) }, want: dpop.ErrInvalid, reason: "not a key of the type ES256 needs"},
		{name: "jwk of the wrong curve for alg (P-384 for ES256)", edit: func(s *spec) { s.Header["jwk"] = publicJWK(&k.ec384.PublicKey) }, want: dpop.ErrInvalid, reason: "not a key of the type ES256 needs"},
		{name: "jwk of the wrong type for alg (EC for RS256)", edit: func(s *spec) { s.Key, s.Alg = k.rsa, jose.RS256 }, want: dpop.ErrInvalid, reason: "not a key of the type RS256 needs"},
		{name: "RSA key of 1024 bits", edit: func(s *spec) { s.Key, s.Alg, s.Header["jwk"] = k.rsa1024, jose.RS256, publicJWK(&k.rsa1024.PublicKey) }, want: dpop.ErrInvalid, reason: "not a key of the type RS256 needs"},
		{name: "jwk naming another alg", edit: func(s *spec) { s.Header["jwk"].(map[string]any)["alg"] = "ES384" }, want: dpop.ErrInvalid, reason: "another alg"},
		{name: "jwk for encryption", edit: func(s *spec) { s.Header["jwk"].(map[string]any)["use"] = "enc" }, want: dpop.ErrInvalid, reason: "use is not sig"},
		{name: "jwk point off the curve", edit: func(s *spec) { s.Header["jwk"].(map[string]any)["x"] = b64(strings.Repeat("\x01", 32)) }, want: dpop.ErrInvalid, reason: "not a valid public key"},
		{name: "unknown header member", edit: func(s *spec) { s.Header["foo"] = "bar" }, want: dpop.ErrInvalid, reason: "header parameter other than alg, jwk and typ"},
		{name: "kid header", edit: func(s *spec) { s.Header["kid"] = "k1" }, want: dpop.ErrInvalid, reason: "header parameter other than alg, jwk and typ"},
		{name: "jku header", edit: func(s *spec) { s.Header["jku"] = "https://evil.example/jwks" }, want: dpop.ErrInvalid, reason: "embedded or remote key"},
		{name: "x5c header", edit: func(s *spec) { s.Header["x5c"] = []string{"MIIB"} }, want: dpop.ErrInvalid, reason: "embedded or remote key"},
		{name: "crit header", edit: func(s *spec) { s.Header["crit"] = []string{"exp"} }, want: dpop.ErrInvalid, reason: "crit header"},
		{name: "no jti", edit: func(s *spec) { delete(s.Claims, "jti") }, want: dpop.ErrInvalid, reason: "no jti"},
		{name: "jti of 257 bytes", edit: func(s *spec) { s.Claims["jti"] = strings.Repeat("j", 257) }, want: dpop.ErrInvalid, reason: "jti too long"},
		{name: "HTM beside htm", edit: func(s *spec) { s.Claims["HTM"] = "POST" }, want: dpop.ErrInvalid, reason: "only by case"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := resourceProof(k.ec, t0)
			if tc.edit != nil {
				tc.edit(&s)
			}
			var proof string
			if tc.raw != nil {
				s.Header["alg"] = string(s.Alg)
				proof = tc.raw(s)
			} else {
				proof = s.sign(t)
			}
			headers := []string{proof}
			if tc.headers != nil {
				headers = tc.headers(proof)
			}
			req := resourceReq
			if tc.req != nil {
				req = *tc.req
			}
			got, err := c.Check(context.Background(), headers, req)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				jkt, err := dpop.Thumbprint(publicOf(s.Key))
				if err != nil {
					t.Fatal(err)
				}
				if got.JKT != jkt || got.JTI != s.Claims["jti"] || got.Alg != string(s.Alg) || float64(got.IssuedAt.UnixNano())/1e9 != toFloat(s.Claims["iat"]) {
					t.Fatalf("Check = %+v; want jkt %s", got, jkt)
				}
				return
			}
			if got != nil || !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("Check = %+v, %v; want %v with %q", got, err, tc.want, tc.reason)
			}
			// The error's text is safe to show: neither the proof nor
			// the token is in it.
			if msg := err.Error(); (proof != "" && strings.Contains(msg, proof)) || strings.Contains(msg, accessToken) {
				t.Fatalf("error text holds the request's data: %s", msg)
			}
		})
	}
}

func toFloat(v any) float64 {
	switch v := v.(type) {
	case int64:
		return float64(v)
	case float64:
		return v
	}
	return -1
}

func publicOf(key any) any {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return &k.PublicKey
	case ed25519.PrivateKey:
		return k.Public()
	case *rsa.PrivateKey:
		return &k.PublicKey
	}
	return nil
}

func privateJWK(key *ecdsa.PrivateKey) map[string]any {
	b, err := json.Marshal(&jose.JSONWebKey{Key: key})
	if err != nil {
		panic(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m["d"] == nil {
		panic("no d")
	}
	return m
}

// TestReplay: a proof is accepted once, on every node sharing the replay
// set, and only a proof with the same key and jti is its replay.
func TestReplay(t *testing.T) {
	k := keys()
	path := filepath.Join(t.TempDir(), "x.db")
	now := t0
	clock := func() time.Time { return now }
	node1 := dpop.New(dpop.Config{Now: clock}, openReplays(t, path))
	node2 := dpop.New(dpop.Config{Now: clock}, openReplays(t, path))
	ctx := context.Background()

	s := resourceProof(k.ec, t0)
	proof := s.sign(t)
	if _, err := node1.Check(ctx, []string{proof}, resourceReq); err != nil {
		t.Fatal(err)
	}
	t.Run("same proof, same node", func(t *testing.T) {
		if p, err := node1.Check(ctx, []string{proof}, resourceReq); p != nil || !errors.Is(err, dpop.ErrReplayed) {
			t.Fatalf("Check = %v, %v; want ErrReplayed", p, err)
		}
	})
	t.Run("same proof, another node", func(t *testing.T) {
		if p, err := node2.Check(ctx, []string{proof}, resourceReq); p != nil || !errors.Is(err, dpop.ErrReplayed) {
			t.Fatalf("Check = %v, %v; want ErrReplayed", p, err)
		}
	})
	t.Run("same key and jti, another proof", func(t *testing.T) {
		again := s
		again.Claims = map[string]any{"jti": s.Claims["jti"], "htm": "GET", "htu": resourceURL, "iat": t0.Unix() + 1, "ath": dpop.ATH(accessToken)}
		if p, err := node2.Check(ctx, []string{again.sign(t)}, resourceReq); p != nil || !errors.Is(err, dpop.ErrReplayed) {
			t.Fatalf("Check = %v, %v; want ErrReplayed", p, err)
		}
	})
	t.Run("same jti, another key", func(t *testing.T) {
		other := resourceProof(k.ec2, t0)
		other.Claims["jti"] = s.Claims["jti"]
		if _, err := node2.Check(ctx, []string{other.sign(t)}, resourceReq); err != nil {
			t.Fatalf("Check: %v; a jti is only a replay under the same key", err)
		}
	})
	t.Run("refused proofs are not remembered", func(t *testing.T) {
		bad := resourceProof(k.ec, t0)
		bad.Claims["htm"] = "POST"
		if _, err := node1.Check(ctx, []string{bad.sign(t)}, resourceReq); !errors.Is(err, dpop.ErrInvalid) {
			t.Fatal(err)
		}
		bad.Claims["htm"] = "GET"
		if _, err := node1.Check(ctx, []string{bad.sign(t)}, resourceReq); err != nil {
			t.Fatalf("Check: %v", err)
		}
	})
	t.Run("still a replay at the end of the window", func(t *testing.T) {
		now = t0.Add(dpop.DefaultWindow)
		if _, err := node2.Check(ctx, []string{proof}, resourceReq); !errors.Is(err, dpop.ErrReplayed) {
			t.Fatalf("Check: %v; want ErrReplayed", err)
		}
	})
	t.Run("too old after the window", func(t *testing.T) {
		now = t0.Add(dpop.DefaultWindow + time.Second)
		if _, err := node2.Check(ctx, []string{proof}, resourceReq); !errors.Is(err, dpop.ErrInvalid) {
			t.Fatalf("Check: %v; want ErrInvalid", err)
		}
	})
}

// TestNonce is RFC 9449 §8 with a stateless NonceSource.
func TestNonce(t *testing.T) {
	k := keys()
	secret := []byte(strings.Repeat("s", 32))
	src, err := dpop.NewNonceSource(secret, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	c := dpop.New(dpop.Config{Now: func() time.Time { return now }, Nonce: src}, replays(t))
	ctx := context.Background()
	check := func(nonce *string) (*dpop.Proof, error) {
		s := resourceProof(k.ec, now)
		if nonce != nil {
			s.Claims["nonce"] = *nonce
		}
		return c.Check(ctx, []string{s.sign(t)}, resourceReq)
	}
	useNonce := func(t *testing.T, err error) string {
		t.Helper()
		var ne *dpop.UseNonceError
		if !errors.Is(err, dpop.ErrUseNonce) || !errors.As(err, &ne) || ne.Nonce == "" {
			t.Fatalf("Check: %v; want ErrUseNonce with a nonce", err)
		}
		if ne.Nonce != c.Nonce() {
			t.Fatalf("nonce %q; Checker.Nonce() %q", ne.Nonce, c.Nonce())
		}
		return ne.Nonce
	}

	_, err = check(nil)
	nonce := useNonce(t, err)
	if _, err := check(&nonce); err != nil {
		t.Fatalf("with the nonce: %v", err)
	}
	now = now.Add(time.Minute) // the next period: the nonce is the previous one's
	if _, err := check(&nonce); err != nil {
		t.Fatalf("with the previous period's nonce: %v", err)
	}
	now = now.Add(time.Minute) // two periods on
	_, err = check(&nonce)
	fresh := useNonce(t, err)
	if fresh == nonce {
		t.Fatal("the same nonce two periods on")
	}
	if _, err := check(&fresh); err != nil {
		t.Fatalf("with the fresh nonce: %v", err)
	}
	for _, bad := range []string{"", "x", fresh + "A", strings.ToUpper(fresh), strings.Repeat("A", len(fresh))} {
		_, err := check(&bad)
		useNonce(t, err)
	}
	// Another node with the same secret accepts the nonce; a node with
	// another secret does not.
	same, _ := dpop.NewNonceSource(secret, time.Minute)
	other, _ := dpop.NewNonceSource([]byte(strings.Repeat("o", 32)), time.Minute)
	if !same.Valid(fresh, now) || other.Valid(fresh, now) {
		t.Fatal("a nonce is valid exactly under its secret")
	}
	// A nonce of the next period (a node whose clock is ahead) is not
	// accepted: the client is given a fresh one.
	if src.Valid(src.Nonce(now.Add(time.Minute)), now) {
		t.Fatal("a nonce of the next period is accepted")
	}
	// A proof refused for its nonce is not remembered: the client sends
	// it again, jti and all, with the nonce.
	s := resourceProof(k.ec, now)
	if _, err := c.Check(ctx, []string{s.sign(t)}, resourceReq); !errors.Is(err, dpop.ErrUseNonce) {
		t.Fatal(err)
	}
	s.Claims["nonce"] = c.Nonce()
	if _, err := c.Check(ctx, []string{s.sign(t)}, resourceReq); err != nil {
		t.Fatalf("the same jti after use_dpop_nonce: %v", err)
	}
	if _, err := dpop.NewNonceSource(make([]byte, 31), 0); err == nil {
		t.Fatal("a 31-byte secret is accepted")
	}
	if plain := dpop.New(dpop.Config{}, replays(t)); plain.Nonce() != "" {
		t.Fatal("Nonce() without a NonceSource")
	}
}

// TestThumbprint is RFC 7638 §3.1's example, and ATH RFC 9449 §7.1's.
func TestThumbprint(t *testing.T) {
	var jwk jose.JSONWebKey
	err := jwk.UnmarshalJSON([]byte(`{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := dpop.Thumbprint(jwk.Key); err != nil || got != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("Thumbprint = %q, %v", got, err)
	}
	if _, err := dpop.Thumbprint(keys().ec); err == nil {
		t.Fatal("the thumbprint of a private key")
	}
	if got := dpop.ATH("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"); got != "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo" {
		t.Fatalf("ATH = %q", got)
	}
	algs := dpop.Algorithms()
	algs[0] = "none"
	if got := dpop.Algorithms(); len(got) != 5 || got[0] != "ES256" {
		t.Fatalf("Algorithms() = %v", got)
	}
	for _, alg := range dpop.Algorithms() {
		if strings.HasPrefix(alg, "HS") || strings.EqualFold(alg, "none") {
			t.Fatalf("Algorithms() lists %s", alg)
		}
	}
}

// TestConcurrentReplay: of many concurrent Checks of one proof, across
// two nodes, exactly one passes.
func TestConcurrentReplay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	nodes := []*dpop.Checker{
		dpop.New(dpop.Config{Now: fixed(t0)}, openReplays(t, path)),
		dpop.New(dpop.Config{Now: fixed(t0)}, openReplays(t, path)),
	}
	proof := resourceProof(keys().ec, t0).sign(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	passed := 0
	for i := range 16 {
		wg.Go(func() {
			_, err := nodes[i%2].Check(context.Background(), []string{proof}, resourceReq)
			switch {
			case err == nil:
				mu.Lock()
				passed++
				mu.Unlock()
			case !errors.Is(err, dpop.ErrReplayed):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if passed != 1 {
		t.Fatalf("%d of 16 concurrent checks passed", passed)
	}
}
