package jws_test

import (
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/jws"
)

const (
	dpopJWK     = `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`
	dpopHeader  = `{"typ":"dpop+jwt","alg":"EdDSA","jwk":` + dpopJWK + `}`
	dpopPayload = `{"jti":"e1j3V_bKic8-LAEB","htm":"GET","htu":"https://api.example/orders","iat":1700000000,"ath":"fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"}`
)

// TestParseDPoPProof is the structural part of SECURITY K1: the DPoP
// profile of the one parser. want is "" for a proof that passes.
func TestParseDPoPProof(t *testing.T) {
	hdr := func(h string) string { return tok(h, dpopPayload) }
	pay := func(p string) string { return tok(dpopHeader, p) }
	tests := []struct{ name, token, want string }{
		{"a proof", tok(dpopHeader, dpopPayload), ""},
		{"with a nonce and other claims", pay(strings.TrimSuffix(dpopPayload, "}") + `,"nonce":"n","x":1}`), ""},
		{"no jwk", hdr(`{"typ":"dpop+jwt","alg":"EdDSA"}`), "no jwk"},
		{"jwk an array", hdr(`{"typ":"dpop+jwt","alg":"EdDSA","jwk":[]}`), "header jwk is not a JSON object"},
		{"kid", hdr(`{"typ":"dpop+jwt","alg":"EdDSA","jwk":` + dpopJWK + `,"kid":"k"}`), "header parameter other than alg, jwk and typ"},
		{"unknown member", hdr(`{"typ":"dpop+jwt","alg":"EdDSA","jwk":` + dpopJWK + `,"foo":1}`), "header parameter other than alg, jwk and typ"},
		{"x5c", hdr(`{"typ":"dpop+jwt","alg":"EdDSA","jwk":` + dpopJWK + `,"x5c":["MIIB"]}`), "embedded or remote key"},
		{"typ JWT", hdr(`{"typ":"JWT","alg":"EdDSA","jwk":` + dpopJWK + `}`), "typ is not dpop+jwt"},
		{"alg none", hdr(`{"typ":"dpop+jwt","alg":"none","jwk":` + dpopJWK + `}`), `alg "none"`},
		{"two jwk", hdr(`{"typ":"dpop+jwt","alg":"EdDSA","jwk":` + dpopJWK + `,"jwk":{"kty":"EC"}}`), "duplicate JSON member name"},
		{"duplicate in jwk", hdr(`{"typ":"dpop+jwt","alg":"EdDSA","jwk":{"kty":"OKP","x":"a","x":"b"}}`), "duplicate JSON member name"},
		{"iat a string", pay(strings.Replace(dpopPayload, `1700000000`, `"1700000000"`, 1)), "wrong JSON type"},
		{"ath a number", pay(strings.Replace(dpopPayload, `"fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"`, `1`, 1)), "wrong JSON type"},
		{"nonce an array", pay(strings.TrimSuffix(dpopPayload, "}") + `,"nonce":["n"]}`), "wrong JSON type"},
		{"Htu beside htu", pay(strings.TrimSuffix(dpopPayload, "}") + `,"Htu":"https://evil.example/"}`), "only by case"},
		{"duplicate htm", pay(strings.TrimSuffix(dpopPayload, "}") + `,"htm":"POST"}`), "duplicate JSON member name"},
		{"an access token", tok(goodHeader, goodPayload), "header parameter other than alg, jwk and typ"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := jws.ParseDPoPProof(tc.token)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("ParseDPoPProof: %v", err)
			case tc.want == "" && string(got.JWK) != dpopJWK:
				t.Fatalf("JWK = %s", got.JWK)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("ParseDPoPProof = %v; want %q", err, tc.want)
			}
		})
	}
}

func TestDecodeDPoPClaims(t *testing.T) {
	c, err := jws.DecodeDPoPClaims([]byte(dpopPayload))
	if err != nil {
		t.Fatal(err)
	}
	if c.JTI != "e1j3V_bKic8-LAEB" || c.HTM != "GET" || c.HTU != "https://api.example/orders" || !c.IssuedAt.Equal(time.Unix(1700000000, 0)) || c.ATH == nil || c.Nonce != nil {
		t.Fatalf("claims %+v", c)
	}
	c, err = jws.DecodeDPoPClaims([]byte(`{"jti":"j","htm":"GET","htu":"h","iat":1700000000.25,"ath":"","nonce":""}`))
	if err != nil || c.IssuedAt.UnixMilli() != 1700000000250 || c.ATH == nil || *c.ATH != "" || c.Nonce == nil {
		t.Fatalf("claims %+v, %v", c, err)
	}
	for _, tc := range []struct{ name, payload, want string }{
		{"no jti", `{"htm":"GET","htu":"h","iat":1}`, "no jti"},
		{"empty jti", `{"jti":"","htm":"GET","htu":"h","iat":1}`, "no jti"},
		{"jti of 257 bytes", `{"jti":"` + strings.Repeat("j", 257) + `","htm":"GET","htu":"h","iat":1}`, "jti too long"},
		{"no htm", `{"jti":"j","htu":"h","iat":1}`, "no htm"},
		{"no htu", `{"jti":"j","htm":"GET","iat":1}`, "no htu"},
		{"no iat", `{"jti":"j","htm":"GET","htu":"h"}`, "no iat"},
		{"iat negative", `{"jti":"j","htm":"GET","htu":"h","iat":-1}`, "iat out of range"},
		{"iat past 10^11", `{"jti":"j","htm":"GET","htu":"h","iat":100000000001}`, "iat out of range"},
		{"iat overflowing float64", `{"jti":"j","htm":"GET","htu":"h","iat":1e999}`, "claims do not decode"},
		{"jti a number", `{"jti":1,"htm":"GET","htu":"h","iat":1}`, "claims do not decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := jws.DecodeDPoPClaims([]byte(tc.payload)); c != nil || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeDPoPClaims = %+v, %v; want %q", c, err, tc.want)
			}
		})
	}
}
