package jws_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/authd/authd/internal/jws"
)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// An access token as authd writes it, but for the signature, which Parse
// does not check.
const (
	goodHeader  = `{"alg":"EdDSA","kid":"k1","typ":"at+jwt"}`
	goodPayload = `{"iss":"https://auth.example","sub":"u1","aud":["api"],"exp":1700000900,"nbf":1700000000,"iat":1700000000,"jti":"j1","sid":"s1","email":"ann@example.com","roles":["staff"]}`
)

var goodSig = b64(strings.Repeat("s", 64)) // an Ed25519 signature's length

func tok(header, payload string) string { return b64(header) + "." + b64(payload) + "." + goodSig }

// claims returns goodPayload with its closing brace replaced by extra.
func claims(extra string) string { return strings.TrimSuffix(goodPayload, "}") + extra + "}" }

// TestParseAccessToken is the structural part of SECURITY J1–J3, J5–J8 and
// J13, one named row per rule, against the one parser token/ and verify/
// share. want is "" for a token that passes, else a piece of the reason.
func TestParseAccessToken(t *testing.T) {
	good := tok(goodHeader, goodPayload)
	parts := strings.Split(good, ".")
	hdr := func(h string) string { return tok(h, goodPayload) }
	pay := func(p string) string { return tok(goodHeader, p) }
	// trailingBits changes the last character of seg so that its unused
	// low bits are not zero.
	trailingBits := func(seg string) string {
		if len(seg)%4 == 0 {
			t.Fatalf("%s has no unused bits", seg)
		}
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		return seg[:len(seg)-1] + string(alphabet[strings.IndexByte(alphabet, seg[len(seg)-1])|1])
	}
	tests := []struct {
		name, token, want string
	}{
		{"authd's access token", good, ""},
		{"whitespace and escapes in the JSON", tok(" {\"alg\" : \"EdDSA\",\n\"kid\":\"k\\u0031\", \"typ\":\"at+jwt\"} ", claims(`,"x":[1.5e3,-0,true,false,null,{"y":"\"\\\/\b\f\n\r\t"}]`)), ""},
		{"unknown claims", pay(claims(`,"scope":"a b","cnf":{"jkt":"x"}`)), ""},
		{"nested 8 deep", pay(claims(`,"x":[[[[[[[1]]]]]]]`)), ""},
		{"17 members", pay(claims(`,"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7`)), ""},
		{"RSA-4096 signature", b64(goodHeader) + "." + b64(goodPayload) + "." + b64(strings.Repeat("s", 512)), ""},

		{"J1 alg none", hdr(`{"alg":"none","kid":"k1","typ":"at+jwt"}`), `alg "none"`},
		{"J1 alg None", hdr(`{"alg":"None","kid":"k1","typ":"at+jwt"}`), `alg "none"`},
		{"J1 alg NONE", hdr(`{"alg":"NONE","kid":"k1","typ":"at+jwt"}`), `alg "none"`},
		{"J1 alg nOnE", hdr(`{"alg":"nOnE","kid":"k1","typ":"at+jwt"}`), `alg "none"`},
		{"J1 alg none escaped", hdr(`{"alg":"n\u006fne","kid":"k1","typ":"at+jwt"}`), `alg "none"`},
		{"J1 no alg", hdr(`{"kid":"k1","typ":"at+jwt"}`), "no alg"},
		{"J1 empty alg", hdr(`{"alg":"","kid":"k1","typ":"at+jwt"}`), "no alg"},
		{"J1 alg not a string", hdr(`{"alg":["EdDSA"],"kid":"k1","typ":"at+jwt"}`), "header alg, kid or typ is not a string"},

		{"J2 jwk header", hdr(`{"alg":"EdDSA","kid":"k1","typ":"at+jwt","jwk":{"kty":"oct","k":"c2VjcmV0"}}`), "embedded or remote key"},
		{"J2 jku header", hdr(`{"alg":"EdDSA","kid":"k1","typ":"at+jwt","jku":"https://evil.example/jwks"}`), "embedded or remote key"},
		{"J2 x5u header", hdr(`{"alg":"EdDSA","kid":"k1","typ":"at+jwt","x5u":"https://evil.example/cert"}`), "embedded or remote key"},
		{"J2 x5c header", hdr(`{"alg":"EdDSA","kid":"k1","typ":"at+jwt","x5c":["MIIB"]}`), "embedded or remote key"},
		{"J2 no kid", hdr(`{"alg":"EdDSA","typ":"at+jwt"}`), "no kid"},
		{"J2 empty kid", hdr(`{"alg":"EdDSA","kid":"","typ":"at+jwt"}`), "no kid"},
		{"J2 kid of 129 bytes", hdr(`{"alg":"EdDSA","kid":"` + strings.Repeat("k", 129) + `","typ":"at+jwt"}`), "kid too long"},
		{"J2 kid of 128 bytes", hdr(`{"alg":"EdDSA","kid":"` + strings.Repeat("k", 128) + `","typ":"at+jwt"}`), ""},
		{"J2 kid not a string", hdr(`{"alg":"EdDSA","kid":7,"typ":"at+jwt"}`), "header alg, kid or typ is not a string"},
		{"J2 cty header", hdr(`{"alg":"EdDSA","kid":"k1","typ":"at+jwt","cty":"JWT"}`), "header parameter other than alg, kid and typ"},

		{"J3 crit header", hdr(`{"alg":"EdDSA","kid":"k1","typ":"at+jwt","crit":["exp"],"exp":1}`), "crit header"},
		{"J3 crit b64", hdr(`{"alg":"EdDSA","kid":"k1","typ":"at+jwt","crit":["b64"],"b64":false}`), "crit header"},

		{"J5 no typ", hdr(`{"alg":"EdDSA","kid":"k1"}`), "typ is not at+jwt"},
		{"J5 typ JWT", hdr(`{"alg":"EdDSA","kid":"k1","typ":"JWT"}`), "typ is not at+jwt"},
		{"J5 typ AT+JWT", hdr(`{"alg":"EdDSA","kid":"k1","typ":"AT+JWT"}`), "typ is not at+jwt"},
		{"J5 typ application/at+jwt", hdr(`{"alg":"EdDSA","kid":"k1","typ":"application/at+jwt"}`), "typ is not at+jwt"},
		{"J5 typ logout+jwt", hdr(`{"alg":"EdDSA","kid":"k1","typ":"logout+jwt"}`), "typ is not at+jwt"},
		{"J5 typ not a string", hdr(`{"alg":"EdDSA","kid":"k1","typ":null}`), "header alg, kid or typ is not a string"},
		{"J5 refresh token", b64(strings.Repeat("r", 32)), "not the compact serialization"},
		{"J5 session ID", "s_" + b64(strings.Repeat("s", 32)), "not the compact serialization"},

		{"J6 two segments", parts[0] + "." + parts[1], "not the compact serialization"},
		{"J6 four segments", good + ".AAAA", "not the compact serialization"},
		{"J6 JWE five segments", b64(`{"alg":"dir","enc":"A256GCM","kid":"k1","typ":"at+jwt"}`) + "..AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA", "not the compact serialization"},
		{"J6 JSON serialization", `{"protected":"` + parts[0] + `","payload":"` + parts[1] + `","signature":"` + parts[2] + `"}`, "not the compact serialization"},
		{"J6 JSON serialization in base64", b64(`{"protected":"` + parts[0] + `","payload":"` + parts[1] + `","signature":"` + parts[2] + `"}`), "not the compact serialization"},
		{"J6 dots only", "..", "empty segment"},
		{"J6 empty header", "." + parts[1] + "." + parts[2], "empty segment"},
		{"J6 empty payload", parts[0] + ".." + parts[2], "empty segment"},
		{"J6 empty signature", parts[0] + "." + parts[1] + ".", "empty segment"},
		{"J6 padding", good + "==", "not the compact serialization"},
		{"J6 padding inside", parts[0] + "=." + parts[1] + "." + parts[2], "not the compact serialization"},
		{"J6 standard alphabet +", parts[0] + "." + parts[1] + "." + "+" + parts[2][1:], "not the compact serialization"},
		{"J6 standard alphabet /", parts[0] + "." + parts[1] + "." + "/" + parts[2][1:], "not the compact serialization"},
		{"J6 line break", parts[0] + ".\n" + parts[1] + "." + parts[2], "not the compact serialization"},
		{"J6 non-zero trailing bits in the signature", parts[0] + "." + parts[1] + "." + trailingBits(parts[2]), "not strict base64url"},
		{"J6 non-zero trailing bits in the header", trailingBits(parts[0]) + "." + parts[1] + "." + parts[2], "not strict base64url"},
		{"J6 segment of impossible length", parts[0] + "." + parts[1] + "." + parts[2] + "AAA", "not strict base64url"},

		{"J7 duplicate sub", pay(strings.Replace(goodPayload, `"sub":"u1"`, `"sub":"u1","sub":"admin"`, 1)), "duplicate JSON member name"},
		{"J7 duplicate exp", pay(claims(`,"exp":99999999999`)), "duplicate JSON member name"},
		{"J7 escaped duplicate e\\u0078p", pay(claims(`,"e\u0078p":99999999999`)), "duplicate JSON member name"},
		{"J7 escaped duplicate s\\u0075b", pay(claims(`,"s\u0075b":"admin"`)), "duplicate JSON member name"},
		{"J7 duplicate in a nested object", pay(claims(`,"x":{"a":1,"a":2}`)), "duplicate JSON member name"},
		{"J7 duplicate in an object in an array", pay(claims(`,"x":[{"a":1},{"a":1,"a":2}]`)), "duplicate JSON member name"},
		{"J7 duplicate after 16 members", pay(claims(`,"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"a":8`)), "duplicate JSON member name"},
		{"J7 duplicate invalid UTF-8 names", pay(claims(",\"\xff\":1,\"\xfe\":2")), "duplicate JSON member name"},
		{"J7 duplicate alg", hdr(`{"alg":"none","alg":"EdDSA","kid":"k1","typ":"at+jwt"}`), "duplicate JSON member name"},
		{"J7 escaped duplicate kid", hdr(`{"alg":"EdDSA","kid":"x","k\u0069d":"k1","typ":"at+jwt"}`), "duplicate JSON member name"},
		{"J7 EXP beside exp", pay(claims(`,"EXP":99999999999`)), "only by case"},
		{"J7 Sub instead of sub", pay(strings.Replace(goodPayload, `"sub"`, `"Sub"`, 1)), "only by case"},
		{"J7 escaped case variant Ex\\u0050", pay(claims(`,"Ex\u0050":1`)), "only by case"},
		{"J7 Client_ID beside client_id", pay(claims(`,"client_id":"svc","Client_ID":"admin"`)), "only by case"},
		{"J7 SCOPE beside scope", pay(claims(`,"scope":"orders.read","SCOPE":"admin"`)), "only by case"},
		{"J7 client_id a number", pay(claims(`,"client_id":1`)), "wrong JSON type"},
		{"J7 scope an array", pay(claims(`,"scope":["admin"]`)), "wrong JSON type"},
		{"J7 Kelvin-sign case fold of a claim", pay(claims(`,"ſid":"other"`)), "only by case"},
		{"J7 exp a string", pay(strings.Replace(goodPayload, `"exp":1700000900`, `"exp":"1700000900"`, 1)), "wrong JSON type"},
		{"J7 exp null", pay(strings.Replace(goodPayload, `"exp":1700000900`, `"exp":null`, 1)), "wrong JSON type"},
		{"J7 nbf an array", pay(strings.Replace(goodPayload, `"nbf":1700000000`, `"nbf":[1]`, 1)), "wrong JSON type"},
		{"J7 iat a string", pay(strings.Replace(goodPayload, `"iat":1700000000`, `"iat":"1700000000"`, 1)), "wrong JSON type"},
		{"J7 sub a number", pay(strings.Replace(goodPayload, `"sub":"u1"`, `"sub":1`, 1)), "wrong JSON type"},
		{"J7 iss an object", pay(strings.Replace(goodPayload, `"iss":"https://auth.example"`, `"iss":{}`, 1)), "wrong JSON type"},
		{"J7 sid, jti, email numbers", pay(strings.Replace(goodPayload, `"email":"ann@example.com"`, `"email":1`, 1)), "wrong JSON type"},
		{"J7 escaped exp a string", pay(strings.Replace(goodPayload, `"exp":1700000900`, `"e\u0078p":"1"`, 1)), "wrong JSON type"},
		{"J7 nested 9 deep", pay(claims(`,"x":[[[[[[[[1]]]]]]]]`)), "JSON nested too deep"},
		{"J7 nested 20 deep", pay(claims(`,"x":` + strings.Repeat("[", 20) + strings.Repeat("]", 20))), "JSON nested too deep"},
		{"J7 payload an array", pay(`[` + goodPayload + `]`), "payload is not a JSON object"},
		{"J7 payload a string", pay(`"sub"`), "payload is not a JSON object"},
		{"J7 payload trailing data", pay(goodPayload + `{}`), "payload is not a JSON object"},
		{"J7 payload trailing comma", pay(claims(`,`)), "payload is not a JSON object"},
		{"J7 payload bad number", pay(claims(`,"x":01`)), "payload is not a JSON object"},
		{"J7 payload bad escape", pay(claims(`,"x":"\x"`)), "payload is not a JSON object"},
		{"J7 payload control character", pay(claims(",\"x\":\"a\tb\"")), "payload is not a JSON object"},
		{"J7 payload unterminated", pay(strings.TrimSuffix(goodPayload, "}")), "payload is not a JSON object"},
		{"J7 header an array", hdr(`["EdDSA"]`), "header is not a JSON object"},
		{"J7 header not JSON", hdr(`not json`), "header is not a JSON object"},
		{"J7 header trailing comma", hdr(`{"alg":"EdDSA","kid":"k1","typ":"at+jwt",}`), "header is not a JSON object"},

		{"J8 empty", "", "empty token"},
		{"J8 oversized", tok(goodHeader, claims(`,"pad":"`+strings.Repeat("a", 6<<10)+`"`)), "token larger than 8 KiB"},
		{"J8 100 KB", strings.Repeat("A", 100<<10), "token larger than 8 KiB"},
		{"J8 signature longer than RSA-4096", b64(goodHeader) + "." + b64(goodPayload) + "." + b64(strings.Repeat("s", 513)), "signature too long"},

		{"J13 Bearer prefix left on", "Bearer " + good, "not the compact serialization"},
		{"J13 surrounding space", " " + good, "not the compact serialization"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := jws.ParseAccessToken(tc.token)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("ParseAccessToken: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseAccessToken = %v; want %q", err, tc.want)
			}
			if got.Alg != nil || got.KID != nil || got.Payload != nil || got.Signature != nil || got.SigningInput != "" {
				t.Fatalf("a refused token came with its parts: %+v", got)
			}
		})
	}
}

// TestParseResult: what Parse returns is the token's own.
func TestParseResult(t *testing.T) {
	raw := tok(`{"typ":"at+jwt","k\u0069d":"k\u00e9","alg":"ES256"}`, goodPayload)
	got, err := jws.ParseAccessToken(raw)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Alg) != "ES256" || string(got.KID) != "ké" || got.JWK != nil {
		t.Errorf("alg %q kid %q jwk %q", got.Alg, got.KID, got.JWK)
	}
	if got.SigningInput != raw[:strings.LastIndexByte(raw, '.')] {
		t.Errorf("signing input %q", got.SigningInput)
	}
	if string(got.Payload) != goodPayload || string(got.Signature) != strings.Repeat("s", 64) {
		t.Errorf("payload %q signature %q", got.Payload, got.Signature)
	}
	// The parts are the caller's: appending to one never changes another.
	_ = append(got.Alg, 'x')
	_ = append(got.Payload, 'x')
	if string(got.KID) != "ké" || string(got.Signature) != strings.Repeat("s", 64) {
		t.Errorf("parts overlap: kid %q signature %q", got.KID, got.Signature)
	}
}

// TestProfiles: the parser serves other kinds of token through their
// Profile. The profiles here are shaped like a DPoP proof (RFC 9449: its
// own public key in jwk, no kid) and a logout token (OpenID Connect
// Back-Channel Logout: typ logout+jwt, an events object).
func TestProfiles(t *testing.T) {
	dpop := &jws.Profile{
		Typ:      "dpop+jwt",
		Required: jws.HeaderJWK,
		Claims:   []jws.Claim{{Name: "jti", Type: jws.String}, {Name: "htm", Type: jws.String}, {Name: "htu", Type: jws.String}, {Name: "iat", Type: jws.Number}},
	}
	logout := &jws.Profile{
		Typ:      "logout+jwt",
		Required: jws.HeaderKID,
		Claims:   []jws.Claim{{Name: "iss", Type: jws.String}, {Name: "events", Type: jws.AnyType}, {Name: "iat", Type: jws.Number}},
	}
	optionalKID := &jws.Profile{Typ: "JWT", Allowed: jws.HeaderKID}
	const jwk = `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`
	const proof = `{"jti":"j","htm":"POST","htu":"https://api.example/orders","iat":1700000000}`
	tests := []struct {
		name    string
		profile *jws.Profile
		token   string
		want    string
	}{
		{"dpop proof", dpop, tok(`{"typ":"dpop+jwt","alg":"ES256","jwk":`+jwk+`}`, proof), ""},
		{"dpop without jwk", dpop, tok(`{"typ":"dpop+jwt","alg":"ES256"}`, proof), "no jwk"},
		{"dpop jwk a string", dpop, tok(`{"typ":"dpop+jwt","alg":"ES256","jwk":"x"}`, proof), "header jwk is not a JSON object"},
		{"dpop with kid", dpop, tok(`{"typ":"dpop+jwt","alg":"ES256","jwk":`+jwk+`,"kid":"k1"}`, proof), "header parameter other than alg, jwk and typ"},
		{"dpop alg not a string", dpop, tok(`{"typ":"dpop+jwt","alg":1,"jwk":`+jwk+`}`, proof), "header alg or typ is not a string"},
		{"dpop jku", dpop, tok(`{"typ":"dpop+jwt","alg":"ES256","jwk":`+jwk+`,"jku":"https://x"}`, proof), "embedded or remote key"},
		{"dpop duplicate in jwk", dpop, tok(`{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"OKP","kty":"EC"}}`, proof), "duplicate JSON member name"},
		{"dpop htm a number", dpop, tok(`{"typ":"dpop+jwt","alg":"ES256","jwk":`+jwk+`}`, strings.Replace(proof, `"POST"`, `1`, 1)), "wrong JSON type"},
		{"dpop HTM", dpop, tok(`{"typ":"dpop+jwt","alg":"ES256","jwk":`+jwk+`}`, strings.Replace(proof, `"htm"`, `"HTM"`, 1)), "only by case"},
		{"access token as dpop proof", dpop, tok(goodHeader, proof), "header parameter other than alg, jwk and typ"},
		{"logout token", logout, tok(`{"alg":"EdDSA","kid":"k1","typ":"logout+jwt"}`, `{"iss":"x","events":{"http://schemas.openid.net/event/backchannel-logout":{}},"iat":1}`), ""},
		{"access token as logout token", logout, tok(goodHeader, goodPayload), "typ is not logout+jwt"},
		{"logout token as access token", nil, tok(`{"alg":"EdDSA","kid":"k1","typ":"logout+jwt"}`, `{"iss":"x","events":{},"iat":1}`), "typ is not at+jwt"},
		{"optional kid absent", optionalKID, tok(`{"alg":"EdDSA","typ":"JWT"}`, `{}`), ""},
		{"optional kid present", optionalKID, tok(`{"alg":"EdDSA","typ":"JWT","kid":"k"}`, `{}`), ""},
		{"optional kid empty", optionalKID, tok(`{"alg":"EdDSA","typ":"JWT","kid":""}`, `{}`), "no kid"},
		{"jwk not allowed", optionalKID, tok(`{"alg":"EdDSA","typ":"JWT","jwk":`+jwk+`}`, `{}`), "embedded or remote key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got jws.Token
			var err error
			if tc.profile == nil {
				got, err = jws.ParseAccessToken(tc.token)
			} else {
				got, err = jws.Parse(tc.token, tc.profile)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Parse = %v; want %q", err, tc.want)
			case tc.want == "" && tc.profile == dpop && string(got.JWK) != jwk:
				t.Fatalf("JWK = %s", got.JWK)
			}
		})
	}
}

// TestAlgorithms: the list is fresh on every call, EdDSA first, and every
// name has its method under exactly that spelling.
func TestAlgorithms(t *testing.T) {
	algs := jws.Algorithms()
	if len(algs) != 4 || algs[0] != "EdDSA" {
		t.Fatalf("Algorithms() = %v", algs)
	}
	algs[0] = "none"
	if jws.Algorithms()[0] != "EdDSA" {
		t.Fatal("Algorithms returns a shared slice")
	}
	for _, alg := range jws.Algorithms() {
		if m := jws.Method(alg); m == nil || m.Alg() != alg {
			t.Errorf("Method(%s) = %v", alg, m)
		}
		for _, other := range []string{strings.ToLower(alg), strings.ToUpper(alg)} {
			if other != alg && jws.Method(other) != nil {
				t.Errorf("Method(%q) is not nil", other)
			}
		}
	}
	for _, alg := range []string{"", "none", "None", "ES384", "PS256", "HS512"} {
		if jws.Method(alg) != nil {
			t.Errorf("Method(%q) is not nil", alg)
		}
	}
}

func TestMaxSignatureLen(t *testing.T) {
	if n := len(b64(strings.Repeat("s", jws.MaxRSABits/8))); n != jws.MaxSignatureLen || jws.MaxSignatureLen != 683 {
		t.Fatalf("an RSA-%d signature is %d characters; MaxSignatureLen is %d", jws.MaxRSABits, n, jws.MaxSignatureLen)
	}
}

// BenchmarkParseAccessToken is the parser alone on authd's access token.
func BenchmarkParseAccessToken(b *testing.B) {
	raw := tok(goodHeader, goodPayload)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := jws.ParseAccessToken(raw); err != nil {
			b.Fatal(err)
		}
	}
}
