package jws_test

import (
	"fmt"

	"github.com/authd/authd/internal/jws"
)

// A kind of token other than access tokens gets its own Profile: here one
// shaped like a DPoP proof (RFC 9449), which carries its signer's public
// key in jwk and no kid.
func ExampleParse() {
	proof := &jws.Profile{
		Typ:      "dpop+jwt",
		Required: jws.HeaderJWK,
		Claims:   []jws.Claim{{Name: "jti", Type: jws.String}, {Name: "htm", Type: jws.String}, {Name: "htu", Type: jws.String}, {Name: "iat", Type: jws.Number}},
	}
	header := `{"typ":"dpop+jwt","alg":"EdDSA","jwk":{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}}`
	payload := `{"jti":"e1j3V_bKic8-LAEB","htm":"GET","htu":"https://api.example/orders","iat":1700000000}`
	t, err := jws.Parse(b64(header)+"."+b64(payload)+"."+goodSig, proof)
	fmt.Println(string(t.Alg), string(t.JWK), err)

	// An access token is not a DPoP proof, nor the other way round.
	_, err = jws.Parse(tok(goodHeader, goodPayload), proof)
	fmt.Println(err)
	_, err = jws.ParseAccessToken(b64(header) + "." + b64(payload) + "." + goodSig)
	fmt.Println(err)
	// Output:
	// EdDSA {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"} <nil>
	// jws: header parameter other than alg, jwk and typ
	// jws: embedded or remote key header (jwk, jku, x5u, x5c)
}
