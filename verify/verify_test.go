package verify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/verify"
	"github.com/golang-jwt/jwt/v5"
)

var ctx = context.Background()

func TestVerifyAcceptsEveryAlgorithm(t *testing.T) {
	ed, es, rs, hs := newKey(t, "EdDSA"), newKey(t, "ES256"), newKey(t, "RS256"), newKey(t, "HS256")
	is := newIssuer(t, ed, es, rs)
	for _, cache := range []int{verify.DefaultCacheSize, 0} {
		v := newVerifier(t, is, verify.WithHMACSecret(hs.kid, hs.priv.([]byte)), verify.WithCacheSize(cache))
		for _, k := range []*testKey{ed, es, rs, hs} {
			t.Run(fmt.Sprintf("%s/cache=%d", k.alg, cache), func(t *testing.T) {
				now := time.Now()
				cl := is.claims(now, "billing", "orders")
				tok := k.token(t, cl)
				for range 2 { // the second call is a cache hit when the cache is on
					c, err := v.Verify(ctx, tok)
					if err != nil {
						t.Fatalf("Verify: %v", err)
					}
					want := verify.Claims{
						Issuer: is.URL, Subject: "user-1", Audience: []string{"billing", "orders"},
						ExpiresAt: time.Unix(now.Add(15*time.Minute).Unix(), 0), IssuedAt: time.Unix(now.Unix(), 0),
						NotBefore: time.Unix(now.Unix(), 0), ID: cl["jti"].(string), SessionID: cl["sid"].(string),
						Email: "ann@example.com", Roles: []string{"staff"},
					}
					if !equalClaims(c, want) {
						t.Fatalf("claims\n got %+v\nwant %+v", c, want)
					}
					// The caller's copy: changing it changes nothing held.
					c.Roles[0], c.Audience[0] = "admin", "x"
				}
			})
		}
	}
}

func equalClaims(a, b verify.Claims) bool {
	return a.Issuer == b.Issuer && a.Subject == b.Subject && slices.Equal(a.Audience, b.Audience) &&
		a.ExpiresAt.Equal(b.ExpiresAt) && a.IssuedAt.Equal(b.IssuedAt) && a.NotBefore.Equal(b.NotBefore) &&
		a.ID == b.ID && a.SessionID == b.SessionID && a.Email == b.Email && slices.Equal(a.Roles, b.Roles)
}

// TestVerifyRefuses is SECURITY J1–J8 as the verifier sees them: every
// token here is refused with ErrInvalidToken, with and without the cache.
func TestVerifyRefuses(t *testing.T) {
	ed, es, hs := newKey(t, "EdDSA"), newKey(t, "ES256"), newKey(t, "HS256")
	other := newKey(t, "EdDSA") // not published
	is := newIssuer(t, ed, es)
	clk := newClock()
	now := clk.Now()

	std := func(mod func(map[string]any)) string {
		c := is.claims(now)
		if mod != nil {
			mod(c)
		}
		return ed.token(t, c)
	}
	payload := func(mod func(map[string]any)) string {
		c := is.claims(now)
		if mod != nil {
			mod(c)
		}
		b, _ := json.Marshal(c)
		return string(b)
	}
	hdr := func(h string) string { return ed.signRaw(t, h, payload(nil)) }
	good := std(nil)
	parts := strings.Split(good, ".")
	edPub := ed.jwk["x"].(string)

	cases := []struct {
		name, reason, token string
	}{
		// J8, J6: size and shape, before anything else.
		{"empty", "empty token", ""},
		{"over 8 KiB", "token larger than 8 KiB", std(func(c map[string]any) { c["pad"] = strings.Repeat("a", 8<<10) })},
		{"two segments", "not the compact serialization of three base64url segments", parts[0] + "." + parts[1]},
		{"four segments", "not the compact serialization of three base64url segments", good + ".x"},
		{"JWE (five segments)", "not the compact serialization of three base64url segments", parts[0] + ".a.b." + parts[1] + "." + parts[2]},
		{"JSON serialization", "not the compact serialization of three base64url segments", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`},
		{"empty signature", "empty segment", parts[0] + "." + parts[1] + "."},
		{"empty header", "empty segment", "." + parts[1] + "." + parts[2]},
		{"padding", "not the compact serialization of three base64url segments", parts[0] + "." + parts[1] + "." + parts[2] + "=="},
		{"standard base64 alphabet", "not the compact serialization of three base64url segments", parts[0] + "." + parts[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[2]) + "+"},
		{"line break", "not the compact serialization of three base64url segments", parts[0] + ".\n" + parts[1] + "." + parts[2]},
		{"non-zero trailing bits", "segment is not strict base64url", parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-1] + "B"},
		{"space", "not the compact serialization of three base64url segments", "Bearer " + good},

		// J1: alg none in any casing; alg must be the key's.
		{"alg none", "alg \"none\"", ed.signRaw(t, `{"alg":"none","kid":"`+ed.kid+`","typ":"at+jwt"}`, payload(nil))},
		{"alg None unsigned", "alg \"none\"", b64([]byte(`{"alg":"None","kid":"`+ed.kid+`","typ":"at+jwt"}`)) + "." + b64([]byte(payload(nil))) + ".AA"},
		{"alg nOnE", "alg \"none\"", b64([]byte(`{"alg":"nOnE","kid":"`+ed.kid+`","typ":"at+jwt"}`)) + "." + b64([]byte(payload(nil))) + ".AA"},
		{"alg of another key", "alg is not the key's algorithm", es.signRaw(t, `{"alg":"ES256","kid":"`+ed.kid+`","typ":"at+jwt"}`, payload(nil))},
		{"alg lower case", "alg is not the key's algorithm", hdr(`{"alg":"eddsa","kid":"` + ed.kid + `","typ":"at+jwt"}`)},
		{"HS256 with the EdDSA public key as secret", "alg is not the key's algorithm", hsWithSecret(t, ed.kid, []byte(edPub), payload(nil))},
		{"HS256 with a secret not configured", "unknown kid", hs.token(t, is.claims(now))},
		{"bad signature", "bad signature", parts[0] + "." + parts[1] + "." + flip(parts[2])},
		{"signature of another key under our kid", "bad signature", other.signRaw(t, ed.header(), payload(nil))},
		{"payload changed", "bad signature", parts[0] + "." + b64([]byte(payload(func(c map[string]any) { c["sub"] = "admin" }))) + "." + parts[2]},

		// J2, J3, J5: header.
		{"unknown kid", "unknown kid", other.token(t, is.claims(now))},
		{"no kid", "no kid, or kid too long", hdr(`{"alg":"EdDSA","typ":"at+jwt"}`)},
		{"empty kid", "no kid, or kid too long", hdr(`{"alg":"EdDSA","kid":"","typ":"at+jwt"}`)},
		{"kid not a string", "header alg, kid or typ is not a string", hdr(`{"alg":"EdDSA","kid":1,"typ":"at+jwt"}`)},
		{"kid too long", "no kid, or kid too long", hdr(`{"alg":"EdDSA","kid":"` + strings.Repeat("k", 129) + `","typ":"at+jwt"}`)},
		{"no typ", "typ is not at+jwt", hdr(`{"alg":"EdDSA","kid":"` + ed.kid + `"}`)},
		{"typ JWT", "typ is not at+jwt", hdr(`{"alg":"EdDSA","kid":"` + ed.kid + `","typ":"JWT"}`)},
		{"typ AT+JWT", "typ is not at+jwt", hdr(`{"alg":"EdDSA","kid":"` + ed.kid + `","typ":"AT+JWT"}`)},
		{"typ application/at+jwt", "typ is not at+jwt", hdr(`{"alg":"EdDSA","kid":"` + ed.kid + `","typ":"application/at+jwt"}`)},
		{"jwk header", "embedded or remote key header (jwk, jku, x5u, x5c)", hdr(`{"alg":"EdDSA","kid":"` + ed.kid + `","typ":"at+jwt","jwk":{"kty":"OKP","crv":"Ed25519","x":"` + edPub + `"}}`)},
		{"jku header", "embedded or remote key header (jwk, jku, x5u, x5c)", hdr(`{"alg":"EdDSA","kid":"` + ed.kid + `","typ":"at+jwt","jku":"https://evil.example/jwks"}`)},
		{"x5u header", "embedded or remote key header (jwk, jku, x5u, x5c)", hdr(`{"alg":"EdDSA","kid":"` + ed.kid + `","typ":"at+jwt","x5u":"https://evil.example/cert"}`)},
		{"x5c header", "embedded or remote key header (jwk, jku, x5u, x5c)", hdr(`{"alg":"EdDSA","kid":"` + ed.kid + `","typ":"at+jwt","x5c":["MII"]}`)},
		{"crit header", "crit header (no extension is understood)", hdr(`{"alg":"EdDSA","kid":"` + ed.kid + `","typ":"at+jwt","crit":["exp"]}`)},
		{"cty header", "header parameter other than alg, kid and typ", hdr(`{"alg":"EdDSA","kid":"` + ed.kid + `","typ":"at+jwt","cty":"JWT"}`)},
		{"duplicate alg", "duplicate JSON member name", hdr(`{"alg":"none","alg":"EdDSA","kid":"` + ed.kid + `","typ":"at+jwt"}`)},
		{"duplicate kid, escaped", "duplicate JSON member name", hdr(`{"alg":"EdDSA","kid":"x","k\u0069d":"` + ed.kid + `","typ":"at+jwt"}`)},
		{"header not an object", "header is not a JSON object", hdr(`["EdDSA"]`)},
		{"header not JSON", "header is not a JSON object", hdr(`{"alg":"EdDSA",}`)},

		// J7: payload shape.
		{"duplicate sub", "duplicate JSON member name", ed.signRaw(t, ed.header(), strings.Replace(payload(nil), `"sub":"user-1"`, `"sub":"user-1","sub":"admin"`, 1))},
		{"duplicate nested", "duplicate JSON member name", ed.signRaw(t, ed.header(), strings.Replace(payload(nil), `"sub":"user-1"`, `"sub":"user-1","x":{"a":1,"a":2}`, 1))},
		{"duplicate sub, escaped", "duplicate JSON member name", ed.signRaw(t, ed.header(), strings.Replace(payload(nil), `"sub":"user-1"`, `"sub":"user-1","s\u0075b":"admin"`, 1))},
		{"EXP beside exp", "claim name differs from a known claim only by case", std(func(c map[string]any) { c["EXP"] = now.Add(time.Hour).Unix() })},
		{"Sub instead of sub", "claim name differs from a known claim only by case", std(func(c map[string]any) { c["Sub"] = c["sub"]; delete(c, "sub") })},
		{"exp a string", "claim of the wrong JSON type", std(func(c map[string]any) { c["exp"] = fmt.Sprint(now.Add(time.Hour).Unix()) })},
		{"iat a string", "claim of the wrong JSON type", std(func(c map[string]any) { c["iat"] = fmt.Sprint(now.Unix()) })},
		{"sub a number", "claim of the wrong JSON type", std(func(c map[string]any) { c["sub"] = 1 })},
		{"roles not strings", "claims do not decode", std(func(c map[string]any) { c["roles"] = []int{1} })},
		{"aud a number", "claims do not decode", std(func(c map[string]any) { c["aud"] = 1 })},
		{"nested too deep", "JSON nested too deep", std(func(c map[string]any) { c["x"] = [][][][][][][][]int{{{{{{{{1}}}}}}}} })},
		{"payload an array", "payload is not a JSON object", ed.signRaw(t, ed.header(), `[`+payload(nil)+`]`)},
		{"payload trailing data", "payload is not a JSON object", ed.signRaw(t, ed.header(), payload(nil)+`{}`)},

		// J4: claims.
		{"no exp", "claims: token is missing required claim: exp claim is required", std(func(c map[string]any) { delete(c, "exp") })},
		{"expired past the leeway", "claims: token is expired", std(func(c map[string]any) { c["exp"] = now.Add(-31 * time.Second).Unix() })},
		{"nbf in the future", "claims: token is not valid yet", std(func(c map[string]any) { c["nbf"] = now.Add(time.Minute).Unix() })},
		{"iat in the future", "claims: token used before issued", std(func(c map[string]any) { c["iat"] = now.Add(time.Minute).Unix() })},
		{"no iat", "no iat", std(func(c map[string]any) { delete(c, "iat") })},
		{"other issuer", "claims: token has invalid issuer", std(func(c map[string]any) { c["iss"] = "https://evil.example" })},
		{"issuer with a slash", "claims: token has invalid issuer", std(func(c map[string]any) { c["iss"] = is.URL + "/" })},
		{"no issuer", "claims: token is missing required claim: iss claim is required", std(func(c map[string]any) { delete(c, "iss") })},
		{"other audience", "claims: token has invalid audience", std(func(c map[string]any) { c["aud"] = []string{"billing"} })},
		{"audience case", "claims: token has invalid audience", std(func(c map[string]any) { c["aud"] = "Orders" })},
		{"no audience", "claims: token is missing required claim: aud claim is required", std(func(c map[string]any) { delete(c, "aud") })},
		{"no sub", "no sub", std(func(c map[string]any) { delete(c, "sub") })},
		{"no jti", "no jti", std(func(c map[string]any) { delete(c, "jti") })},
	}
	for _, cache := range []int{verify.DefaultCacheSize, 0} {
		v := newVerifier(t, is, verify.WithClock(clk.Now), verify.WithCacheSize(cache))
		if _, err := v.Verify(ctx, good); err != nil {
			t.Fatalf("the good token is refused: %v", err)
		}
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/cache=%d", tc.name, cache), func(t *testing.T) {
				for range 2 { // a refused token is not cached
					c, err := v.Verify(ctx, tc.token)
					if !errors.Is(err, verify.ErrInvalidToken) || errors.Is(err, verify.ErrUnavailable) {
						t.Fatalf("Verify = %+v, %v; want ErrInvalidToken", c, err)
					}
					if !strings.Contains(err.Error(), tc.reason) {
						t.Fatalf("Verify: %v; want the reason %q", err, tc.reason)
					}
					if c.Subject != "" {
						t.Fatalf("claims returned with an error: %+v", c)
					}
				}
			})
		}
	}
}

// hsWithSecret signs payload with HS256 under kid, using secret: the
// algorithm-confusion attack (a public key used as an HMAC secret).
func hsWithSecret(t *testing.T, kid string, secret []byte, payload string) string {
	in := b64([]byte(`{"alg":"HS256","kid":"`+kid+`","typ":"at+jwt"}`)) + "." + b64([]byte(payload))
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + b64(m.Sum(nil))
}

// flip changes one character of a base64url segment (not the last, whose
// trailing bits must stay zero).
func flip(s string) string {
	b := []byte(s)
	if b[5] == 'A' {
		b[5] = 'B'
	} else {
		b[5] = 'A'
	}
	return string(b)
}

func TestLeeway(t *testing.T) {
	ed := newKey(t, "EdDSA")
	is := newIssuer(t, ed)
	clk := newClock()
	now := clk.Now()
	tests := []struct {
		name   string
		leeway time.Duration
		mod    func(map[string]any)
		ok     bool
	}{
		{"expired 10 s ago, 30 s leeway", 30 * time.Second, func(c map[string]any) { c["exp"] = now.Add(-10 * time.Second).Unix() }, true},
		{"expired 10 s ago, no leeway", 0, func(c map[string]any) { c["exp"] = now.Add(-10 * time.Second).Unix() }, false},
		{"nbf 10 s ahead, 30 s leeway", 30 * time.Second, func(c map[string]any) { c["nbf"] = now.Add(10 * time.Second).Unix() }, true},
		{"nbf 10 s ahead, 5 s leeway", 5 * time.Second, func(c map[string]any) { c["nbf"] = now.Add(10 * time.Second).Unix() }, false},
		{"iat 10 s ahead, 30 s leeway", 30 * time.Second, func(c map[string]any) { c["iat"] = now.Add(10 * time.Second).Unix() }, true},
		{"iat 10 s ahead, no leeway", 0, func(c map[string]any) { c["iat"] = now.Add(10 * time.Second).Unix() }, false},
		{"no nbf", 0, func(c map[string]any) { delete(c, "nbf") }, true},
		{"aud a single string", 0, func(c map[string]any) { c["aud"] = "orders" }, true},
		{"no sid, no email, no roles", 0, func(c map[string]any) { delete(c, "sid"); delete(c, "email"); delete(c, "roles") }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier(t, is, verify.WithClock(clk.Now), verify.WithLeeway(tc.leeway))
			c := is.claims(now)
			tc.mod(c)
			_, err := v.Verify(ctx, ed.token(t, c))
			if (err == nil) != tc.ok {
				t.Fatalf("Verify: %v; want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, verify.ErrInvalidToken) {
				t.Fatalf("Verify: %v; want ErrInvalidToken", err)
			}
		})
	}
}

// TestCachedTokenDiesAtExp: the cache never outlives the token.
func TestCachedTokenDiesAtExp(t *testing.T) {
	ed := newKey(t, "EdDSA")
	is := newIssuer(t, ed)
	clk := newClock()
	v := newVerifier(t, is, verify.WithClock(clk.Now), verify.WithLeeway(0), verify.WithMaxStaleness(time.Hour))
	c := is.claims(clk.Now())
	c["exp"] = clk.Now().Add(time.Minute).Unix()
	tok := ed.token(t, c)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if v.CacheLen() != 1 {
		t.Fatalf("cache holds %d tokens, want 1", v.CacheLen())
	}
	clk.Advance(61 * time.Second)
	if _, err := v.Verify(ctx, tok); !errors.Is(err, jwt.ErrTokenExpired) || !errors.Is(err, verify.ErrInvalidToken) {
		t.Fatalf("Verify after exp: %v; want ErrInvalidToken wrapping jwt.ErrTokenExpired", err)
	}
}

func TestCacheIsBounded(t *testing.T) {
	ed := newKey(t, "EdDSA")
	is := newIssuer(t, ed)
	v := newVerifier(t, is, verify.WithCacheSize(8))
	var toks []string
	for range 20 {
		tok := ed.token(t, is.claims(time.Now()))
		toks = append(toks, tok)
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.CacheLen(); n != 8 {
		t.Fatalf("cache holds %d tokens, want 8", n)
	}
	for _, tok := range toks { // evicted tokens are verified again, not refused
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHMACSecret(t *testing.T) {
	hs, ed := newKey(t, "HS256"), newKey(t, "EdDSA")
	is := newIssuer(t) // under HS256 authd's JWKS is empty
	v := newVerifier(t, is, verify.WithHMACSecret(hs.kid, hs.priv.([]byte)))
	if _, err := v.Verify(ctx, hs.token(t, is.claims(time.Now()))); err != nil {
		t.Fatalf("HS256 token: %v", err)
	}
	// An EdDSA token under the HMAC key's kid: the alg is not the key's.
	if _, err := v.Verify(ctx, ed.signRaw(t, `{"alg":"EdDSA","kid":"`+hs.kid+`","typ":"at+jwt"}`, `{}`)); !errors.Is(err, verify.ErrInvalidToken) {
		t.Fatalf("EdDSA token under an HS256 kid: %v", err)
	}
	wrong := &testKey{kid: hs.kid, alg: "HS256", priv: randBytes(32)}
	if _, err := v.Verify(ctx, wrong.token(t, is.claims(time.Now()))); !errors.Is(err, verify.ErrInvalidToken) {
		t.Fatalf("HS256 token with another secret: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	ed := newKey(t, "EdDSA")
	is := newIssuer(t, ed)
	tests := []struct {
		name   string
		issuer string
		opts   []verify.Option
	}{
		{"no audience", is.URL, nil},
		{"empty audience", is.URL, []verify.Option{verify.WithAudience("")}},
		{"leeway over 30 s", is.URL, []verify.Option{verify.WithAudience("orders"), verify.WithLeeway(31 * time.Second)}},
		{"negative leeway", is.URL, []verify.Option{verify.WithAudience("orders"), verify.WithLeeway(-time.Second)}},
		{"staleness under 1 s", is.URL, []verify.Option{verify.WithAudience("orders"), verify.WithMaxStaleness(time.Millisecond)}},
		{"negative fail-open", is.URL, []verify.Option{verify.WithAudience("orders"), verify.WithFailOpen(-time.Second)}},
		{"short HMAC secret", is.URL, []verify.Option{verify.WithAudience("orders"), verify.WithHMACSecret("k", make([]byte, 31))}},
		{"HMAC without kid", is.URL, []verify.Option{verify.WithAudience("orders"), verify.WithHMACSecret("", make([]byte, 32))}},
		{"nil client", is.URL, []verify.Option{verify.WithAudience("orders"), verify.WithHTTPClient(nil)}},
		{"relative issuer", "/auth", []verify.Option{verify.WithAudience("orders")}},
		{"issuer with query", is.URL + "?x=1", []verify.Option{verify.WithAudience("orders")}},
		{"ftp issuer", "ftp://127.0.0.1/", []verify.Option{verify.WithAudience("orders")}},
		{"another issuer's discovery", strings.Replace(is.URL, "127.0.0.1", "localhost", 1), []verify.Option{verify.WithAudience("orders")}},
		{"nobody there", "http://127.0.0.1:1", []verify.Option{verify.WithAudience("orders")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			v, err := verify.New(ctx, tc.issuer, append(tc.opts, verify.WithLogger(quietLogger))...)
			if err == nil {
				v.Close()
				t.Fatal("New succeeded")
			}
			t.Log(err)
		})
	}
	t.Run("feed down", func(t *testing.T) {
		is.setFeedDown(true)
		defer is.setFeedDown(false)
		if v, err := verify.New(ctx, is.URL, verify.WithAudience("orders"), verify.WithLogger(quietLogger)); err == nil {
			v.Close()
			t.Fatal("New succeeded without the revocation list")
		}
	})
}

func TestMaxAge(t *testing.T) {
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 5 * time.Minute},
		{"public, max-age=300", 300 * time.Second},
		{"max-age=60", time.Minute},
		{"Max-Age=120, public", 2 * time.Minute},
		{`max-age="90"`, 90 * time.Second},
		{"max-age=0", 10 * time.Second},
		{"max-age=1", 10 * time.Second},
		{"no-store", 10 * time.Second},
		{"public, no-cache", 10 * time.Second},
		{"max-age=99999999", 24 * time.Hour},
		{"max-age=-5", 5 * time.Minute},
		{"max-age=abc", 5 * time.Minute},
	}
	for _, tc := range tests {
		if got := verify.MaxAge(tc.header); got != tc.want {
			t.Errorf("MaxAge(%q) = %s, want %s", tc.header, got, tc.want)
		}
	}
}
