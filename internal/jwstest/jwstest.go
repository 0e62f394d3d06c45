// Package jwstest signs JWS compact serialisations for tests, with any
// header members and claims (DPoP proofs, hostile tokens), through go-jose.
// It is for tests only: nothing outside a _test.go file imports it.
package jwstest

import (
	"encoding/json"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// Sign returns the compact serialisation of claims signed by key with alg,
// with header's members added to the protected header.
func Sign(t testing.TB, key any, alg jose.SignatureAlgorithm, header, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	for k, v := range header {
		opts.WithHeader(jose.HeaderKey(k), v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}
