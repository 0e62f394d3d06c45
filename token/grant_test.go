package token_test

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authd/authd"
	"github.com/authd/authd/token"
)

// grantFor is an authorization-code grant of e.user to client "web".
func grantFor(e *env) token.Grant {
	return token.Grant{User: e.user, ClientID: "web", Scopes: []string{"openid", "email"}, SessionID: "sess-1",
		OpenID: true, Nonce: "n-1", AuthTime: e.clock.Now().Add(-time.Minute), AMR: []string{"pwd"}, ACR: "aal1", Email: true}
}

// verifyWithJWKS checks raw against the service's published JWKS with
// go-jose, as a relying party would, and returns its header and claims.
func verifyWithJWKS(t *testing.T, svc *token.Service, raw string) (jose.Header, map[string]any) {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(svc.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	sig, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256, jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	hdr := sig.Signatures[0].Header
	keys := set.Key(hdr.KeyID)
	if len(keys) != 1 {
		t.Fatalf("the JWKS has %d keys of kid %s", len(keys), hdr.KeyID)
	}
	payload, err := sig.Verify(keys[0])
	if err != nil {
		t.Fatalf("the signature does not verify with the published key: %v", err)
	}
	var claims map[string]any
	json.Unmarshal(payload, &claims)
	return hdr, claims
}

// TestIDToken: ID tokens carry what OpenID Connect Core §2 and API.md
// say, signed with a key of the JWKS; at_hash uses the algorithm's hash
// (SHA-512 for EdDSA).
func TestIDToken(t *testing.T) {
	for _, alg := range []string{authd.AlgEdDSA, authd.AlgES256, authd.AlgRS256, authd.AlgHS256} {
		t.Run(alg, func(t *testing.T) {
			e := newEnv(t, alg)
			p, err := e.svc.IssueGrant(e.ctx, grantFor(e))
			if err != nil {
				t.Fatal(err)
			}
			hdr, c := verifyWithJWKS(t, e.svc, p.IDToken)
			wantAlg := alg
			if alg == authd.AlgHS256 {
				wantAlg = authd.AlgES256 // the ID-token key of an HS256 ring
			}
			if hdr.Algorithm != wantAlg || hdr.ExtraHeaders["typ"] != "JWT" {
				t.Errorf("header alg %s typ %v", hdr.Algorithm, hdr.ExtraHeaders["typ"])
			}
			if got := e.svc.IDTokenAlgs(); len(got) != 1 || got[0] != wantAlg {
				t.Errorf("IDTokenAlgs %v", got)
			}
			sum := sha256.Sum256([]byte(p.AccessToken))
			half := sum[:16]
			if wantAlg == authd.AlgEdDSA {
				s := sha512.Sum512([]byte(p.AccessToken))
				half = s[:32]
			}
			want := map[string]any{"iss": testIssuer, "sub": e.user.ID, "aud": "web", "nonce": "n-1", "sid": "sess-1",
				"acr": "aal1", "email": e.user.Email, "email_verified": false, "at_hash": b64(half)}
			for k, v := range want {
				got := c[k]
				if arr, ok := got.([]any); ok && len(arr) == 1 {
					got = arr[0]
				}
				if got != v {
					t.Errorf("%s = %v, want %v", k, c[k], v)
				}
			}
			for _, k := range []string{"exp", "iat", "auth_time", "amr"} {
				if c[k] == nil {
					t.Errorf("no %s", k)
				}
			}
			// The access token: client_id and scope, sid the session.
			ac, err := e.svc.Verify(e.ctx, p.AccessToken)
			if err != nil || ac.ClientID != "web" || ac.Scope != "openid email" || ac.SessionID != "sess-1" {
				t.Errorf("access token %+v, %v", ac, err)
			}
			if alg == authd.AlgHS256 && strings.Contains(string(e.svc.JWKS()), `"HS256"`) {
				t.Error("the JWKS publishes the HMAC key")
			}
		})
	}
}

// TestIDTokenKeyNeverVerifiesAccessTokens: the ID-token key of an HS256
// ring signs ID tokens only; an access token signed with it is refused.
func TestIDTokenKeyNeverVerifiesAccessTokens(t *testing.T) {
	e := newEnv(t, authd.AlgHS256)
	p, err := e.svc.IssueGrant(e.ctx, grantFor(e))
	if err != nil {
		t.Fatal(err)
	}
	hdr, _ := verifyWithJWKS(t, e.svc, p.IDToken)
	// Another node loads the same ID-token key.
	if other := e.newService(); other.IDTokenAlgs()[0] != authd.AlgES256 || !strings.Contains(string(other.JWKS()), hdr.KeyID) {
		t.Fatal("another node has another ID-token key")
	}
	// A well-formed access token signed by the ID-token key: only authd
	// holds that key, but it must still never pass as an access token.
	idKey, err := e.db.EnsureIDKey(e.ctx, testKey(t, authd.AlgES256, 0))
	if err != nil || idKey.ID != hdr.KeyID {
		t.Fatalf("ID-token key %v, %v", idKey, err)
	}
	forged := signRaw(t, authd.AlgES256, privateOf(t, idKey),
		e.header(func(m map[string]any) { m["alg"], m["kid"] = authd.AlgES256, idKey.ID }), e.payload(nil))
	if _, err := e.svc.Verify(e.ctx, forged); err == nil {
		t.Fatal("an access token signed with the ID-token key verified")
	}
	if _, err := e.svc.Verify(e.ctx, p.IDToken); err == nil {
		t.Fatal("an ID token verified as an access token")
	}
}

// TestOfflineGrant: offline_access starts a family bound to the client;
// the refresh needs that client and keeps client_id and scope.
func TestOfflineGrant(t *testing.T) {
	e := newEnv(t, authd.AlgEdDSA)
	g := grantFor(e)
	g.Offline, g.Scopes = true, []string{"openid", "offline_access"}
	p, err := e.svc.IssueGrant(e.ctx, g)
	if err != nil || p.RefreshToken == "" {
		t.Fatalf("no refresh token: %v", err)
	}
	if c, _ := e.svc.Verify(e.ctx, p.AccessToken); c.SessionID == "sess-1" {
		t.Error("an offline family's access token carries the session id: it would die with the session")
	}
	for _, other := range []string{"", "other"} {
		if _, err := e.svc.Refresh(e.ctx, p.RefreshToken, other); err == nil {
			t.Fatalf("refreshed by client %q", other)
		}
	}
	next, err := e.svc.Refresh(e.ctx, p.RefreshToken, "web")
	if err != nil {
		t.Fatalf("refresh by its own client (the refused tries must not have spent it): %v", err)
	}
	c, err := e.svc.Verify(e.ctx, next.AccessToken)
	if err != nil || c.ClientID != "web" || c.Scope != "openid offline_access" {
		t.Fatalf("refreshed access token %+v, %v", c, err)
	}
}
