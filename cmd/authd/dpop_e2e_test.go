package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authd/authd/dpop"
	"github.com/authd/authd/internal/jwstest"
)

// signProof is a DPoP proof by key for method and u, with the access
// token tok ("" for none).
func signProof(t *testing.T, key *ecdsa.PrivateKey, method, u, tok string) string {
	t.Helper()
	jti := make([]byte, 12)
	rand.Read(jti)
	claims := map[string]any{"jti": base64.RawURLEncoding.EncodeToString(jti), "htm": method, "htu": u, "iat": time.Now().Unix()}
	if tok != "" {
		claims["ath"] = dpop.ATH(tok)
	}
	return jwstest.Sign(t, key, jose.ES256, map[string]any{"typ": "dpop+jwt", "jwk": jose.JSONWebKey{Key: &key.PublicKey}}, claims)
}

// TestDPoPAcrossNodes: two authd processes on one database. A token bound
// at one node works at the other with a fresh proof, and a proof used at
// one node is refused at the other: the replay set is shared.
func TestDPoPAcrossNodes(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "authd.db")
	const issuer = "https://auth.example.com"
	n1 := startNode(t, "--db", db, "--issuer", issuer)
	n2 := startNode(t, "--db", db, "--issuer", issuer)
	addUser(t, db, "ann@example.com", nodePassword)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t)
	form := url.Values{"grant_type": {"password"}, "username": {"ann@example.com"}, "password": {nodePassword}}.Encode()
	code, b := c.do("POST", n1.url+"/oauth2/token", "application/x-www-form-urlencoded", form, "DPoP", signProof(t, key, "POST", issuer+"/oauth2/token", ""))
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal(b, &tr); err != nil || code != http.StatusOK || tr.TokenType != "DPoP" {
		t.Fatalf("token: %d %s", code, b)
	}
	me := func(n *node, proof string) int {
		code, _ := c.do("GET", n.url+"/v1/me", "", "", "Authorization", "DPoP "+tr.AccessToken, "DPoP", proof)
		return code
	}
	if got := me(n2, signProof(t, key, "GET", issuer+"/v1/me", tr.AccessToken)); got != http.StatusOK {
		t.Fatalf("a fresh proof at the other node: %d", got)
	}
	p := signProof(t, key, "GET", issuer+"/v1/me", tr.AccessToken)
	if got := me(n1, p); got != http.StatusOK {
		t.Fatalf("first use: %d", got)
	}
	if got := me(n2, p); got != http.StatusUnauthorized {
		t.Fatalf("the same proof at the other node: %d, want 401", got)
	}
	if code, _ := c.do("GET", n1.url+"/v1/me", "", "", "Authorization", "Bearer "+tr.AccessToken); code != http.StatusUnauthorized {
		t.Fatalf("the bound token as a bearer token: %d", code)
	}
}
