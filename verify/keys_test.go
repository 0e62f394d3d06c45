package verify_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/verify"
)

// TestKeyRotation: a token signed with a key published after New is
// accepted after one JWKS fetch; unknown kids cause at most one fetch per
// KeyRefetchInterval; a key no longer published stops verifying, cached
// tokens included.
func TestKeyRotation(t *testing.T) {
	oldKey, newK := newKey(t, "EdDSA"), newKey(t, "ES256")
	is := newIssuer(t, oldKey)
	clk := newClock()
	v := newVerifier(t, is, verify.WithClock(clk.Now), verify.WithMaxStaleness(time.Hour))
	oldTok := oldKey.token(t, is.claims(clk.Now()))
	if _, err := v.Verify(ctx, oldTok); err != nil {
		t.Fatal(err)
	}
	fetches := is.jwksHits.Load()

	is.publish(oldKey, newK) // authd rotated
	newTok := newK.token(t, is.claims(clk.Now()))
	if _, err := v.Verify(ctx, newTok); !errors.Is(err, verify.ErrInvalidToken) {
		t.Fatalf("within %s of the last fetch, a new kid: %v; want refused", verify.KeyRefetchInterval, err)
	}
	if n := is.jwksHits.Load() - fetches; n != 0 {
		t.Fatalf("%d JWKS fetches within the rate limit", n)
	}
	clk.Advance(verify.KeyRefetchInterval)
	if _, err := v.Verify(ctx, newTok); err != nil {
		t.Fatalf("new kid after the rate limit: %v", err)
	}
	if n := is.jwksHits.Load() - fetches; n != 1 {
		t.Fatalf("%d JWKS fetches for a rotation, want 1", n)
	}

	// A flood of made-up kids: no fetch within the interval.
	stranger := newKey(t, "EdDSA")
	for range 100 {
		stranger.kid = b64(randBytes(16))
		if _, err := v.Verify(ctx, stranger.token(t, is.claims(clk.Now()))); !errors.Is(err, verify.ErrInvalidToken) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n := is.jwksHits.Load() - fetches; n != 1 {
		t.Fatalf("%d JWKS fetches after 100 unknown kids, want still 1", n)
	}

	// The old key is retired past its last token: authd stops publishing
	// it; the next fetch drops it and its cached token dies.
	is.publish(newK)
	clk.Advance(verify.KeyRefetchInterval)
	stranger.kid = b64(randBytes(16))
	_, _ = v.Verify(ctx, stranger.token(t, is.claims(clk.Now()))) // causes the fetch
	if _, err := v.Verify(ctx, oldTok); !errors.Is(err, verify.ErrInvalidToken) {
		t.Fatalf("cached token of a key no longer published: %v", err)
	}
	if _, err := v.Verify(ctx, newTok); err != nil {
		t.Fatalf("token of the current key: %v", err)
	}
}

// TestJWKSMaxAge: the JWKS is fetched again when its max-age runs out,
// without any token asking.
func TestJWKSMaxAge(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 10 s minimum max-age")
	}
	ed := newKey(t, "EdDSA")
	is := newIssuer(t, ed)
	is.cacheControl = "max-age=0" // the floor: KeyRefetchInterval
	newVerifier(t, is)
	before := is.jwksHits.Load()
	eventually(t, verify.KeyRefetchInterval+5*time.Second, "JWKS fetched again", func() bool { return is.jwksHits.Load() > before })
}

func TestParseJWK(t *testing.T) {
	ed, es, rs := newKey(t, "EdDSA"), newKey(t, "ES256"), newKey(t, "RS256")
	jwk := func(k *testKey, mod func(map[string]any)) string {
		m := map[string]any{}
		for n, v := range k.jwk {
			m[n] = v
		}
		if mod != nil {
			mod(m)
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	x, y := es.jwk["x"].(string), es.jwk["y"].(string)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	es384 := &testKey{jwk: map[string]any{"kty": "EC", "crv": "P-384", "kid": "k384", "alg": "ES256", "use": "sig",
		"x": b64(p384.X.FillBytes(make([]byte, 48))), "y": b64(p384.Y.FillBytes(make([]byte, 48)))}}
	tests := []struct {
		name, jwk, want string // want: the alg, or a piece of the reason
	}{
		{"EdDSA", jwk(ed, nil), "EdDSA"},
		{"ES256", jwk(es, nil), "ES256"},
		{"RS256", jwk(rs, nil), "RS256"},
		{"no use", jwk(ed, func(m map[string]any) { delete(m, "use") }), "EdDSA"},
		{"key_ops verify", jwk(ed, func(m map[string]any) { m["key_ops"] = []string{"verify"} }), "EdDSA"},

		{"no alg", jwk(ed, func(m map[string]any) { delete(m, "alg") }), "no alg"},
		{"alg none", jwk(ed, func(m map[string]any) { m["alg"] = "none" }), "not one verify knows"},
		{"alg HS256", jwk(ed, func(m map[string]any) { m["alg"] = "HS256" }), "not one verify knows"},
		{"oct key", `{"kty":"oct","kid":"k","alg":"HS256","k":"c2VjcmV0"}`, "private or symmetric"},
		{"private key", jwk(ed, func(m map[string]any) { m["d"] = b64(ed.priv.(ed25519.PrivateKey).Seed()) }), "private or symmetric"},
		{"private key not matching x", jwk(ed, func(m map[string]any) { m["d"] = m["x"] }), "x does not match d"},
		{"ES256 private key", jwk(es, func(m map[string]any) {
			d, _ := es.priv.(*ecdsa.PrivateKey).Bytes()
			m["d"] = b64(d)
		}), "private or symmetric"},
		{"no kid", jwk(ed, func(m map[string]any) { delete(m, "kid") }), "no usable kid"},
		{"use enc", jwk(ed, func(m map[string]any) { m["use"] = "enc" }), "use is not sig"},
		{"key_ops sign only", jwk(ed, func(m map[string]any) { m["key_ops"] = []string{"sign"} }), "key_ops"},
		{"EdDSA on X25519", jwk(ed, func(m map[string]any) { m["crv"] = "X25519" }), "unsupported key type"},
		{"EdDSA alg on an EC key", jwk(es, func(m map[string]any) { m["alg"] = "EdDSA" }), "not an OKP Ed25519"},
		{"Ed25519 x too short", jwk(ed, func(m map[string]any) { m["x"] = b64(make([]byte, 31)) }), "wrong length for x"},
		{"Ed25519 x padded", jwk(ed, func(m map[string]any) { m["x"] = m["x"].(string) + "=" }), "illegal base64"},
		{"Ed25519 low-order point", jwk(ed, func(m map[string]any) { m["x"] = b64(make([]byte, 32)) }), "low-order point"},
		{"ES256 on P-384", jwk(es, func(m map[string]any) { m["crv"] = "P-384" }), "wrong length for x"},
		{"ES256 alg on a P-384 key", jwk(es384, nil), "not an EC P-256"},
		{"ES256 point off the curve", jwk(es, func(m map[string]any) { m["y"] = x }), "not on"},
		{"ES256 x and y swapped", jwk(es, func(m map[string]any) { m["x"], m["y"] = y, x }), "not on"},
		{"ES256 short y", jwk(es, func(m map[string]any) { m["y"] = b64(make([]byte, 31)) }), "wrong length for y"},
		{"RS256 1024 bits", jwk(rs, func(m map[string]any) { m["n"] = b64(append([]byte{0xc1}, make([]byte, 127)...)) }), "1024 bits"},
		{"RS256 8192 bits", jwk(rs, func(m map[string]any) { m["n"] = b64(append([]byte{0xc1}, make([]byte, 1023)...)) }), "RSA modulus size"},
		// A leading zero octet in n (RFC 7518 §6.3.1.1 says to use the
		// fewest) is the same key; go-jose reads it as such.
		{"RS256 leading zero octet in n", jwk(rs, func(m map[string]any) {
			n, _ := base64.RawURLEncoding.DecodeString(m["n"].(string))
			m["n"] = b64(append([]byte{0}, n...))
		}), "RS256"},
		{"RS256 even e", jwk(rs, func(m map[string]any) { m["e"] = b64([]byte{1, 0, 0}) }), "exponent"},
		{"RS256 e=1", jwk(rs, func(m map[string]any) { m["e"] = b64([]byte{1}) }), "bad e value"},
		{"RS256 huge e", jwk(rs, func(m map[string]any) { m["e"] = b64([]byte{1, 0, 0, 0, 1}) }), "exponent"},
		{"RS256 even modulus", jwk(rs, func(m map[string]any) { m["n"] = b64(append([]byte{0xc1}, make([]byte, 255)...)) }), "exponent or modulus"},
		{"RS256 alg on an EC key", jwk(es, func(m map[string]any) { m["alg"] = "RS256" }), "not an RSA key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alg, err := verify.ParseJWK([]byte(tc.jwk))
			got := alg
			if err != nil {
				got = err.Error()
			}
			if !strings.Contains(got, tc.want) {
				t.Fatalf("ParseJWK = %q, %v; want %q", alg, err, tc.want)
			}
		})
	}
}

// TestJWKSDuplicateKID: two keys under one kid make it ambiguous: neither
// is used, the others are.
func TestJWKSDuplicateKID(t *testing.T) {
	a, b, c := newKey(t, "EdDSA"), newKey(t, "EdDSA"), newKey(t, "ES256")
	b.kid = a.kid
	b.jwk["kid"] = a.kid
	is := newIssuer(t, a, b, c)
	v := newVerifier(t, is)
	for _, k := range []*testKey{a, b} {
		if _, err := v.Verify(ctx, k.token(t, is.claims(time.Now()))); !errors.Is(err, verify.ErrInvalidToken) {
			t.Fatalf("token under a duplicate kid: %v", err)
		}
	}
	if _, err := v.Verify(ctx, c.token(t, is.claims(time.Now()))); err != nil {
		t.Fatalf("token of the other key: %v", err)
	}
}
