package token_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authd/authd"
	"github.com/authd/authd/token"
)

var allAlgs = []string{authd.AlgEdDSA, authd.AlgES256, authd.AlgRS256, authd.AlgHS256}

func TestVerifyHappyPath(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			e := newEnv(t, alg)
			raw, want := e.issue()
			parts := strings.Split(raw, ".")
			if len(parts) != 3 {
				t.Fatalf("token has %d segments", len(parts))
			}
			hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
			var h map[string]any
			if err := json.Unmarshal(hb, &h); err != nil {
				t.Fatal(err)
			}
			if h["alg"] != alg || h["typ"] != "at+jwt" || h["kid"] != e.key.ID || len(h) != 3 {
				t.Errorf("header = %v", h)
			}
			pb, _ := base64.RawURLEncoding.DecodeString(parts[1])
			var p map[string]any
			if err := json.Unmarshal(pb, &p); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sid", "roles", "email"} {
				if _, ok := p[k]; !ok {
					t.Errorf("claim %s missing from %s", k, pb)
				}
			}
			if _, ok := p["aud"].([]any); !ok {
				t.Errorf("aud is not an array: %s", pb)
			}
			if jti, _ := p["jti"].(string); len(jti) < 22 {
				t.Errorf("jti %q shorter than 128 bits", jti)
			}
			got, err := e.svc.Verify(e.ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			if got.Subject != e.user.ID || got.Email != e.user.Email || !slices.Equal(got.Roles, e.user.Roles) ||
				got.ID != want.ID || got.SessionID != want.SessionID || got.Issuer != testIssuer ||
				!slices.Equal(got.Audience, []string{"api", "other"}) || !got.ExpiresAt.Equal(e.clock.Now().Add(15*time.Minute)) ||
				!got.IssuedAt.Equal(e.clock.Now()) || !got.NotBefore.Equal(e.clock.Now()) {
				t.Errorf("claims = %+v, want %+v", got, want)
			}
			// Within the leeway after exp: still valid; beyond: refused.
			e.clock.Advance(15*time.Minute + 20*time.Second)
			if _, err := e.svc.Verify(e.ctx, raw); err != nil {
				t.Errorf("inside leeway: %v", err)
			}
			e.clock.Advance(11 * time.Second)
			if _, err := e.svc.Verify(e.ctx, raw); !errors.Is(err, authd.ErrUnauthenticated) {
				t.Errorf("after exp+leeway: err = %v", err)
			}
		})
	}
}

// publicEncodings returns the public key of k as PEM, DER and JWK JSON bytes:
// what an attacker would try as an HMAC secret.
func publicEncodings(t *testing.T, e *env) map[string][]byte {
	der := e.key.Public
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(e.svc.JWKS(), &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("jwks: %v %s", err, e.svc.JWKS())
	}
	return map[string][]byte{"PEM": pemBytes, "PEM-trimmed": []byte(strings.TrimSpace(string(pemBytes))), "DER": der, "JWK": set.Keys[0]}
}

func flipLastSigByte(raw string) string {
	i := strings.LastIndexByte(raw, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(raw[i+1:])
	sig[len(sig)/2] ^= 0x01
	return raw[:i+1] + b64(sig)
}

func TestVerifyRefusesForgedTokens(t *testing.T) {
	type forged struct {
		name string
		make func(t *testing.T, e *env) string
	}
	hdr := func(mod func(m map[string]any)) func(t *testing.T, e *env) string {
		return func(t *testing.T, e *env) string { return e.forge(e.header(mod), e.payload(nil)) }
	}
	pay := func(mod func(m map[string]any)) func(t *testing.T, e *env) string {
		return func(t *testing.T, e *env) string { return e.forge(e.header(nil), e.payload(mod)) }
	}
	raw := func(header, payload string) func(t *testing.T, e *env) string {
		return func(t *testing.T, e *env) string {
			h := strings.ReplaceAll(header, "KID", e.key.ID)
			h = strings.ReplaceAll(h, "ALG", e.key.Alg)
			p := strings.ReplaceAll(payload, "SUB", e.user.ID)
			p = strings.ReplaceAll(p, "NOW", jsonInt(e.clock.Now().Unix()))
			p = strings.ReplaceAll(p, "LATER", jsonInt(e.clock.Now().Unix()+600))
			return e.forge(h, p)
		}
	}
	validPayload := `{"iss":"` + testIssuer + `","sub":"SUB","aud":["api"],"exp":LATER,"iat":NOW,"jti":"j1","sid":"s1"}`
	validHeader := `{"alg":"ALG","kid":"KID","typ":"at+jwt"}`
	cases := []forged{
		{"valid control is accepted", nil},
	}
	for _, none := range []string{"none", "None", "NONE", "nOnE"} {
		cases = append(cases,
			forged{"alg " + none + " unsigned", func(t *testing.T, e *env) string {
				return b64([]byte(e.header(func(m map[string]any) { m["alg"] = none }))) + "." + b64([]byte(e.payload(nil))) + "."
			}},
			forged{"alg " + none + " with junk signature", func(t *testing.T, e *env) string {
				return b64([]byte(e.header(func(m map[string]any) { m["alg"] = none }))) + "." + b64([]byte(e.payload(nil))) + ".AAAA"
			}},
		)
	}
	for _, enc := range []string{"PEM", "PEM-trimmed", "DER", "JWK"} {
		cases = append(cases, forged{"HS256 keyed with the public key as " + enc, func(t *testing.T, e *env) string {
			if e.key.Alg == authd.AlgHS256 {
				t.Skip("no public key")
			}
			secret := publicEncodings(t, e)[enc]
			return signRaw(t, "HS256", secret, e.header(func(m map[string]any) { m["alg"] = "HS256" }), e.payload(nil))
		}})
	}
	cases = append(cases, []forged{
		{"unknown kid", hdr(func(m map[string]any) { m["kid"] = "no-such-kid" })},
		{"path-like kid", hdr(func(m map[string]any) { m["kid"] = "../../etc/passwd" })},
		{"kid not a string", hdr(func(m map[string]any) { m["kid"] = 7 })},
		{"no kid", hdr(func(m map[string]any) { delete(m, "kid") })},
		{"empty kid", hdr(func(m map[string]any) { m["kid"] = "" })},
		{"embedded jwk", hdr(func(m map[string]any) { m["jwk"] = map[string]any{"kty": "oct", "k": "c2VjcmV0"} })},
		{"jku", hdr(func(m map[string]any) { m["jku"] = "https://evil.example/jwks.json" })},
		{"x5u", hdr(func(m map[string]any) { m["x5u"] = "https://evil.example/cert.pem" })},
		{"x5c", hdr(func(m map[string]any) { m["x5c"] = []string{"MIIB"} })},
		{"unknown crit", hdr(func(m map[string]any) { m["crit"] = []string{"exp"}; m["exp"] = 1 })},
		{"crit b64", hdr(func(m map[string]any) { m["crit"] = []string{"b64"}; m["b64"] = false })},
		{"typ missing", hdr(func(m map[string]any) { delete(m, "typ") })},
		{"typ JWT", hdr(func(m map[string]any) { m["typ"] = "JWT" })},
		{"typ AT+JWT", hdr(func(m map[string]any) { m["typ"] = "AT+JWT" })},
		{"alg of another family, same kid", hdr(func(m map[string]any) {
			if m["alg"] == "ES256" {
				m["alg"] = "ES384"
			} else {
				m["alg"] = "ES256"
			}
		})},
		{"alg in other casing", hdr(func(m map[string]any) { m["alg"] = strings.ToLower(m["alg"].(string)) })},
		{"expired beyond leeway", func(t *testing.T, e *env) string {
			p := e.payload(func(m map[string]any) {
				m["exp"] = e.clock.Now().Unix() - 31
				m["iat"] = e.clock.Now().Unix() - 900
				m["nbf"] = e.clock.Now().Unix() - 900
			})
			return e.forge(e.header(nil), p)
		}},
		{"nbf in the future", pay(func(m map[string]any) { m["nbf"] = m["exp"] })},
		{"iat in the future", pay(func(m map[string]any) { m["iat"] = m["exp"] })},
		{"wrong iss", pay(func(m map[string]any) { m["iss"] = "https://evil.example" })},
		{"no iss", pay(func(m map[string]any) { delete(m, "iss") })},
		{"wrong aud", pay(func(m map[string]any) { m["aud"] = []string{"someone-else"} })},
		{"no aud", pay(func(m map[string]any) { delete(m, "aud") })},
		{"no exp", pay(func(m map[string]any) { delete(m, "exp") })},
		{"exp as string", pay(func(m map[string]any) { m["exp"] = "9999999999" })},
		{"iat as string", pay(func(m map[string]any) { m["iat"] = jsonInt(m["iat"].(int64)) })},
		{"exp null", pay(func(m map[string]any) { m["exp"] = nil })},
		{"sub as number", pay(func(m map[string]any) { m["sub"] = 1 })},
		{"aud as number", pay(func(m map[string]any) { m["aud"] = 1 })},
		{"roles as string", pay(func(m map[string]any) { m["roles"] = 1 })},
		{"no sub", pay(func(m map[string]any) { delete(m, "sub") })},
		{"no jti", pay(func(m map[string]any) { delete(m, "jti") })},
		{"no iat", pay(func(m map[string]any) { delete(m, "iat") })},
		{"signature stripped", func(t *testing.T, e *env) string {
			raw, _ := e.issue()
			return raw[:strings.LastIndexByte(raw, '.')+1]
		}},
		{"signature truncated", func(t *testing.T, e *env) string {
			raw, _ := e.issue()
			i := strings.LastIndexByte(raw, '.')
			sig, _ := base64.RawURLEncoding.DecodeString(raw[i+1:])
			return raw[:i+1] + b64(sig[:len(sig)-1])
		}},
		{"signature bit-flipped", func(t *testing.T, e *env) string {
			raw, _ := e.issue()
			return flipLastSigByte(raw)
		}},
		{"payload changed", func(t *testing.T, e *env) string {
			raw, _ := e.issue()
			parts := strings.Split(raw, ".")
			pb, _ := base64.RawURLEncoding.DecodeString(parts[1])
			var m map[string]any
			_ = json.Unmarshal(pb, &m)
			m["roles"] = []string{"superuser"}
			pb, _ = json.Marshal(m)
			return parts[0] + "." + b64(pb) + "." + parts[2]
		}},
		{"header changed", func(t *testing.T, e *env) string {
			raw, _ := e.issue()
			parts := strings.Split(raw, ".")
			return b64([]byte(`{"kid":"`+e.key.ID+`","alg":"`+e.key.Alg+`","typ":"at+jwt"}`)) + "." + parts[1] + "." + parts[2]
		}},
		{"ES256 with r = s = 0", func(t *testing.T, e *env) string {
			in := b64([]byte(e.header(func(m map[string]any) { m["alg"] = "ES256" }))) + "." + b64([]byte(e.payload(nil)))
			return in + "." + b64(make([]byte, 64))
		}},
		{"padding on the header", func(t *testing.T, e *env) string {
			h := e.header(func(m map[string]any) { m["x"] = "" })
			for len(b64([]byte(h)))%4 == 0 {
				h += " "
			}
			raw := e.forge(h, e.payload(nil))
			i := strings.IndexByte(raw, '.')
			return raw[:i] + "=" + raw[i:]
		}},
		{"padding on the signature", func(t *testing.T, e *env) string {
			raw, _ := e.issue()
			for len(raw[strings.LastIndexByte(raw, '.')+1:])%4 == 0 {
				raw, _ = e.issue()
			}
			return raw + "="
		}},
		{"non-zero trailing bits in the signature", func(t *testing.T, e *env) string {
			raw, _ := e.issue()
			sig := raw[strings.LastIndexByte(raw, '.')+1:]
			if len(sig)%4 == 0 {
				t.Skip("signature length has no trailing bits")
			}
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			last := strings.IndexByte(alphabet, raw[len(raw)-1])
			return raw[:len(raw)-1] + string(alphabet[last|1])
		}},
		{"non-zero trailing bits in the payload", func(t *testing.T, e *env) string {
			p := e.payload(nil)
			for len(b64([]byte(p)))%4 == 0 {
				p += " "
			}
			raw := e.forge(e.header(nil), p)
			parts := strings.Split(raw, ".")
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			last := strings.IndexByte(alphabet, parts[1][len(parts[1])-1])
			parts[1] = parts[1][:len(parts[1])-1] + string(alphabet[last|1])
			return strings.Join(parts, ".")
		}},
		{"standard alphabet + /", func(t *testing.T, e *env) string {
			for range 200 {
				raw, _ := e.issue()
				if strings.ContainsAny(raw, "-_") {
					return strings.NewReplacer("-", "+", "_", "/").Replace(raw)
				}
			}
			t.Fatal("no token with - or _")
			return ""
		}},
		{"line break inside a segment", func(t *testing.T, e *env) string {
			raw, _ := e.issue()
			return raw[:10] + "\n" + raw[10:]
		}},
		{"2 segments", func(t *testing.T, e *env) string {
			raw, _ := e.issue()
			return raw[:strings.LastIndexByte(raw, '.')]
		}},
		{"4 segments", func(t *testing.T, e *env) string {
			raw, _ := e.issue()
			return raw + ".AAAA"
		}},
		{"5 segments (JWE)", func(t *testing.T, e *env) string {
			return b64([]byte(`{"alg":"dir","enc":"A256GCM","kid":"`+e.key.ID+`","typ":"at+jwt"}`)) + "..AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA"
		}},
		{"JSON serialization", func(t *testing.T, e *env) string {
			raw, _ := e.issue()
			p := strings.Split(raw, ".")
			b, _ := json.Marshal(map[string]string{"protected": p[0], "payload": p[1], "signature": p[2]})
			return string(b)
		}},
		{"flattened JSON serialization in base64", func(t *testing.T, e *env) string {
			raw, _ := e.issue()
			p := strings.Split(raw, ".")
			b, _ := json.Marshal(map[string]string{"protected": p[0], "payload": p[1], "signature": p[2]})
			return b64(b)
		}},
		{"100 KB token", func(t *testing.T, e *env) string {
			return e.forge(e.header(nil), e.payload(func(m map[string]any) { m["pad"] = strings.Repeat("a", 100<<10) }))
		}},
		{"9 KB token (just over the bound)", func(t *testing.T, e *env) string {
			return e.forge(e.header(nil), e.payload(func(m map[string]any) { m["pad"] = strings.Repeat("a", 6<<10+500) }))
		}},
		{"duplicate sub", raw(validHeader, `{"iss":"`+testIssuer+`","sub":"SUB","sub":"someone-else","aud":["api"],"exp":LATER,"iat":NOW,"jti":"j1","sid":"s1"}`)},
		{"duplicate exp", raw(validHeader, `{"iss":"`+testIssuer+`","sub":"SUB","aud":["api"],"exp":NOW,"exp":99999999999,"iat":NOW,"jti":"j1","sid":"s1"}`)},
		{"duplicate exp via escape", raw(validHeader, `{"iss":"`+testIssuer+`","sub":"SUB","aud":["api"],"exp":LATER,"e\u0078p":99999999999,"iat":NOW,"jti":"j1","sid":"s1"}`)},
		{"duplicate in a nested object", raw(validHeader, `{"iss":"`+testIssuer+`","sub":"SUB","aud":["api"],"exp":LATER,"iat":NOW,"jti":"j1","sid":"s1","x":{"a":1,"a":2}}`)},
		{"duplicate alg in the header", raw(`{"alg":"ALG","alg":"none","kid":"KID","typ":"at+jwt"}`, validPayload)},
		{"duplicate kid in the header", raw(`{"alg":"ALG","kid":"other","kid":"KID","typ":"at+jwt"}`, validPayload)},
		{"EXP instead of exp", raw(validHeader, `{"iss":"`+testIssuer+`","sub":"SUB","aud":["api"],"EXP":LATER,"iat":NOW,"jti":"j1","sid":"s1"}`)},
		{"Sub beside sub", raw(validHeader, `{"iss":"`+testIssuer+`","sub":"SUB","Sub":"admin","aud":["api"],"exp":LATER,"iat":NOW,"jti":"j1","sid":"s1"}`)},
		{"Kelvin-sign case fold of a claim", raw(validHeader, `{"iss":"`+testIssuer+`","sub":"SUB","aud":["api"],"exp":LATER,"iat":NOW,"jti":"j1","sid":"s1","ſid":"other"}`)},
		{"payload not an object", raw(validHeader, `["SUB"]`)},
		{"trailing data after payload", raw(validHeader, validPayload+`{}`)},
		{"deeply nested payload", raw(validHeader, strings.TrimSuffix(validPayload, "}")+`,"x":`+strings.Repeat("[", 20)+strings.Repeat("]", 20)+`}`)},
		{"header not JSON", raw(`not json`, validPayload)},
		{"refresh token in place of an access token", func(t *testing.T, e *env) string {
			p, err := e.svc.IssuePair(e.ctx, e.user, nil)
			if err != nil {
				t.Fatal(err)
			}
			return p.RefreshToken
		}},
		{"empty string", func(t *testing.T, e *env) string { return "" }},
		{"dots only", func(t *testing.T, e *env) string { return ".." }},
	}...)

	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			e := newEnv(t, alg)
			other := newEnvKey(t, alg, 1) // another authd instance, another key ring
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					if c.make == nil {
						raw := e.forge(e.header(nil), e.payload(nil))
						if _, err := e.svc.Verify(e.ctx, raw); err != nil {
							t.Fatalf("control token refused: %v", err)
						}
						return
					}
					raw := c.make(t, e)
					claims, err := e.svc.Verify(e.ctx, raw)
					if claims != nil || !errors.Is(err, authd.ErrUnauthenticated) {
						t.Fatalf("Verify = %+v, %v; want ErrUnauthenticated", claims, err)
					}
				})
			}
			t.Run("token of another instance", func(t *testing.T) {
				raw, _ := other.issue()
				if _, err := e.svc.Verify(e.ctx, raw); !errors.Is(err, authd.ErrUnauthenticated) {
					t.Fatalf("err = %v", err)
				}
			})
			t.Run("another instance's key under our kid", func(t *testing.T) {
				k := testKey(t, alg, 1)
				raw := signRaw(t, alg, privateOf(t, k), e.header(nil), e.payload(nil))
				if _, err := e.svc.Verify(e.ctx, raw); !errors.Is(err, authd.ErrUnauthenticated) {
					t.Fatalf("err = %v", err)
				}
			})
		})
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestJWKS checks the published key set and verifies issued tokens with an
// independent JOSE library (go-jose) reading only the JWKS JSON.
func TestJWKS(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			e := newEnv(t, alg)
			jwks := e.svc.JWKS()
			if alg == authd.AlgHS256 {
				// Only the ID-token key (API.md): the HMAC secret is
				// shared out of band, never published.
				var set struct {
					Keys []map[string]any `json:"keys"`
				}
				if err := json.Unmarshal(jwks, &set); err != nil || len(set.Keys) != 1 || set.Keys[0]["alg"] != authd.AlgES256 || set.Keys[0]["d"] != nil {
					t.Fatalf("HS256 JWKS = %s", jwks)
				}
				return
			}
			var generic struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(jwks, &generic); err != nil || len(generic.Keys) != 1 {
				t.Fatalf("jwks %s: %v", jwks, err)
			}
			k := generic.Keys[0]
			if k["kid"] != e.key.ID || k["alg"] != alg || k["use"] != "sig" {
				t.Errorf("jwk = %v", k)
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
				if _, ok := k[private]; ok {
					t.Errorf("jwk has private member %q", private)
				}
			}
			var set jose.JSONWebKeySet
			if err := json.Unmarshal(jwks, &set); err != nil {
				t.Fatal(err)
			}
			keys := set.Key(e.key.ID)
			if len(keys) != 1 || !keys[0].IsPublic() || !keys[0].Valid() {
				t.Fatalf("go-jose keys = %+v", keys)
			}
			switch keys[0].Key.(type) {
			case ed25519.PublicKey, *ecdsa.PublicKey, *rsa.PublicKey:
			default:
				t.Fatalf("go-jose key type %T", keys[0].Key)
			}
			raw, claims := e.issue()
			sig, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			if sig.Signatures[0].Header.KeyID != e.key.ID || sig.Signatures[0].Header.ExtraHeaders["typ"] != "at+jwt" {
				t.Errorf("go-jose header = %+v", sig.Signatures[0].Header)
			}
			payload, err := sig.Verify(keys[0])
			if err != nil {
				t.Fatalf("go-jose refuses our token: %v", err)
			}
			var p map[string]any
			_ = json.Unmarshal(payload, &p)
			if p["jti"] != claims.ID || p["sub"] != e.user.ID {
				t.Errorf("payload = %s", payload)
			}
			// and it refuses a tampered one
			if _, err := sig.Verify(keys[0]); err != nil {
				t.Fatal(err)
			}
			bad, _ := jose.ParseSignedCompact(flipLastSigByte(raw), []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if _, err := bad.Verify(keys[0]); err == nil {
				t.Error("go-jose accepted a bit-flipped signature")
			}
		})
	}
}

func TestNewKey(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			k := testKey(t, alg, 0)
			k2 := testKey(t, alg, 1)
			if k.Alg != alg || k.ID == k2.ID {
				t.Fatalf("alg %s kids %s %s", k.Alg, k.ID, k2.ID)
			}
			kid, err := base64.RawURLEncoding.Strict().DecodeString(k.ID)
			if err != nil || len(kid)*8 < 96 {
				t.Errorf("kid %q: %d bits, %v", k.ID, len(kid)*8, err)
			}
			if alg == authd.AlgHS256 {
				if len(k.Private) != 32 || len(k.Public) != 0 {
					t.Errorf("HS256 secret %d bytes, public %d bytes", len(k.Private), len(k.Public))
				}
				return
			}
			priv, err := x509.ParsePKCS8PrivateKey(k.Private)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := x509.ParsePKIXPublicKey(k.Public)
			if err != nil {
				t.Fatal(err)
			}
			type publicKey interface{ Equal(x crypto.PublicKey) bool }
			if !pub.(publicKey).Equal(priv.(crypto.Signer).Public()) {
				t.Error("public key does not match the private key")
			}
		})
	}
	if _, err := token.NewKey("eddsa", time.Now()); !errors.Is(err, token.ErrUnknownAlg) {
		t.Errorf("NewKey(eddsa) err = %v", err)
	}
	if _, err := token.NewKey("none", time.Now()); !errors.Is(err, token.ErrUnknownAlg) {
		t.Errorf("NewKey(none) err = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	base := token.DefaultConfig(testIssuer, "api")
	cases := []struct {
		name string
		mod  func(c *token.Config)
		ok   bool
	}{
		{"defaults", func(c *token.Config) {}, true},
		{"zero leeway", func(c *token.Config) { c.Leeway = 0 }, true},
		{"leeway 31s", func(c *token.Config) { c.Leeway = 31 * time.Second }, false},
		{"negative leeway", func(c *token.Config) { c.Leeway = -time.Second }, false},
		{"no issuer", func(c *token.Config) { c.Issuer = "" }, false},
		{"no audience", func(c *token.Config) { c.Audiences = nil }, false},
		{"empty audience", func(c *token.Config) { c.Audiences = []string{""} }, false},
		{"bad alg", func(c *token.Config) { c.Alg = "none" }, false},
		{"lower-case alg", func(c *token.Config) { c.Alg = "hs256" }, false},
		{"grace too long", func(c *token.Config) { c.RefreshGrace = time.Hour }, false},
		{"staleness below poll", func(c *token.Config) { c.MaxStaleness = 50 * time.Millisecond }, false},
		{"refresh shorter than access", func(c *token.Config) { c.RefreshTTL = time.Minute }, false},
	}
	for _, c := range cases {
		cfg := base
		c.mod(&cfg)
		if err := cfg.Validate(); (err == nil) != c.ok {
			t.Errorf("%s: Validate() = %v", c.name, err)
		}
	}
}
