package main

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TestClientCredentialsEndToEnd: a client registered with `client add
// --grant client_credentials` gets a token from the running server through
// golang.org/x/oauth2/clientcredentials (serve wires the client registry
// into /oauth2/token); the issuance is in the structured log without the
// token; the token is no user at /v1/me; a resource server is
// unauthorized_client; a deleted client is invalid_client at once.
func TestClientCredentialsEndToEnd(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "authd.db")
	base, _, logs := startServer(t, env(nil), "--db", db, "--dev")
	secretOf := func(args ...string) string {
		code, out, errOut := runCmd(t, "", env(nil), append([]string{"client", "add", "--db", db}, args...)...)
		_, secret, ok := strings.Cut(strings.TrimSpace(out), "client_secret=")
		if code != 0 || !ok {
			t.Fatalf("client add %v: %d %q %q", args, code, out, errOut)
		}
		return secret
	}
	batch := secretOf("--id", "batch", "--grant", "client_credentials", "--scope", "jobs.run", "--scope", "openid")
	rs := secretOf("--id", "rs")
	cfg := clientcredentials.Config{ClientID: "batch", ClientSecret: batch, TokenURL: base + "/oauth2/token"}
	tok, err := cfg.Token(context.Background())
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if tok.RefreshToken != "" || tok.Extra("scope") != "jobs.run" {
		t.Fatalf("token %+v scope %v", tok, tok.Extra("scope"))
	}
	if l := logs.String(); !strings.Contains(l, "token issued") || !strings.Contains(l, `"client_id":"batch"`) || strings.Contains(l, tok.AccessToken) || strings.Contains(l, batch) {
		t.Fatalf("the issuance is not logged, or the log holds a secret: %s", l)
	}
	req, _ := http.NewRequest("GET", base+"/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("/v1/me with a client token: %d", res.StatusCode)
	}
	refused := func(id, secret, want string) {
		t.Helper()
		c := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: base + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}
		_, err := c.Token(context.Background())
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != want {
			t.Fatalf("client %s: %v; want %s", id, err, want)
		}
	}
	refused("rs", rs, "unauthorized_client")
	if code, _, errOut := runCmd(t, "", env(nil), "client", "delete", "--id", "batch", "--db", db); code != 0 {
		t.Fatalf("client delete: %s", errOut)
	}
	refused("batch", batch, "invalid_client")
}
