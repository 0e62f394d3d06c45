package token_test

import (
	"crypto"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/authd/authd"
	"github.com/authd/authd/token"
)

// idTokenAlgs are the algorithms ID tokens can be signed with (never
// HS256: relying parties verify them through the JWKS).
var idTokenAlgs = []string{authd.AlgEdDSA, authd.AlgES256, authd.AlgRS256}

// idGrant is what an authorization code grant with scope "openid email"
// issues for e's user: no refresh family, so nothing is written.
func idGrant(e *env, openID bool) token.Grant {
	return token.Grant{User: e.user, ClientID: "app", Scopes: []string{"openid", "email"}, SessionID: "sess-bench",
		OpenID: openID, Nonce: "n-0123456789", AuthTime: e.clock.Now(), AMR: []string{"pwd"}, ACR: "aal1", Email: true}
}

// BenchmarkIDTokenSign is IssueGrant without and with the ID token: the
// difference is the ID token's signing (claims, at_hash, signature).
func BenchmarkIDTokenSign(b *testing.B) {
	for _, alg := range idTokenAlgs {
		for _, openID := range []bool{false, true} {
			name := alg + "/access_only"
			if openID {
				name = alg + "/access+id_token"
			}
			b.Run(name, func(b *testing.B) {
				e := benchEnv(b, alg, false)
				g := idGrant(e, openID)
				var size int
				b.ReportAllocs()
				for b.Loop() {
					p, err := e.svc.IssueGrant(e.ctx, g)
					if err != nil {
						b.Fatal(err)
					}
					size = len(p.IDToken)
				}
				if openID {
					b.ReportMetric(float64(size), "bytes/id_token")
				}
			})
		}
	}
}

// BenchmarkIDTokenVerify is the ID token checked as a relying party does
// with github.com/coreos/go-oidc (signature, iss, aud, exp; the key set
// static, as a remote one is once cached), and as authd checks an
// id_token_hint (VerifyIDTokenHint: signature and iss, any age).
func BenchmarkIDTokenVerify(b *testing.B) {
	for _, alg := range idTokenAlgs {
		e := benchEnv(b, alg, false)
		p, err := e.svc.IssueGrant(e.ctx, idGrant(e, true))
		if err != nil {
			b.Fatal(err)
		}
		raw := p.IDToken
		keys := &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{publicOf(b, e.key)}}
		v := oidc.NewVerifier(testIssuer, keys, &oidc.Config{ClientID: "app", SupportedSigningAlgs: []string{alg}, Now: e.clock.Now})
		b.Run(alg+"/go-oidc", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				t, err := v.Verify(e.ctx, raw)
				if err != nil || t.Nonce != "n-0123456789" {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/go-oidc-parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := v.Verify(e.ctx, raw); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		b.Run(alg+"/VerifyIDTokenHint", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.svc.VerifyIDTokenHint(e.ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
