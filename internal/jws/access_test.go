package jws_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authd/authd/internal/jws"
)

// TestDecodeAccessClaims is the claims part of SECURITY J4 and the claims
// authd's access tokens always carry, on goodPayload's clock.
func TestDecodeAccessClaims(t *testing.T) {
	now := time.Unix(1700000100, 0)
	v := jws.NewAccessValidator("https://auth.example", []string{"api"}, 30*time.Second, func() time.Time { return now })
	tests := []struct {
		name, payload string
		want          error  // wrapped by the error, if not nil
		reason        string // a piece of the error's text, if not ""
	}{
		{"authd's claims", goodPayload, nil, ""},
		{"J4 no exp", strings.Replace(goodPayload, `"exp":1700000900,`, ``, 1), jwt.ErrTokenRequiredClaimMissing, ""},
		{"J4 expired past the leeway", strings.Replace(goodPayload, `"exp":1700000900`, `"exp":1700000069`, 1), jwt.ErrTokenExpired, ""},
		{"J4 expired within the leeway", strings.Replace(goodPayload, `"exp":1700000900`, `"exp":1700000071`, 1), nil, ""},
		{"J4 nbf in the future", strings.Replace(goodPayload, `"nbf":1700000000`, `"nbf":1700000200`, 1), jwt.ErrTokenNotValidYet, ""},
		{"J4 iat in the future", strings.Replace(goodPayload, `"iat":1700000000`, `"iat":1700000200`, 1), jwt.ErrTokenUsedBeforeIssued, ""},
		{"J4 other issuer", strings.Replace(goodPayload, `"https://auth.example"`, `"https://evil.example"`, 1), jwt.ErrTokenInvalidIssuer, ""},
		{"J4 other audience", strings.Replace(goodPayload, `["api"]`, `["billing"]`, 1), jwt.ErrTokenInvalidAudience, ""},
		{"J4 audience a string", strings.Replace(goodPayload, `["api"]`, `"api"`, 1), nil, ""},
		{"aud a number", strings.Replace(goodPayload, `["api"]`, `1`, 1), jwt.ErrTokenMalformed, "claims do not decode"},
		{"roles not strings", strings.Replace(goodPayload, `["staff"]`, `[1]`, 1), jwt.ErrTokenMalformed, "claims do not decode"},
		{"no sub", strings.Replace(goodPayload, `"sub":"u1",`, ``, 1), nil, "no sub"},
		{"no jti", strings.Replace(goodPayload, `"jti":"j1",`, ``, 1), nil, "no jti"},
		{"no iat", strings.Replace(goodPayload, `"iat":1700000000,`, ``, 1), nil, "no iat"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := jws.DecodeAccessClaims([]byte(tc.payload), v)
			switch {
			case tc.want == nil && tc.reason == "":
				if err != nil || c == nil {
					t.Fatalf("DecodeAccessClaims = %v, %v", c, err)
				}
			case err == nil || c != nil:
				t.Fatalf("DecodeAccessClaims = %+v, %v; want an error", c, err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("DecodeAccessClaims: %v; want it to wrap %v", err, tc.want)
			case !strings.Contains(err.Error(), tc.reason):
				t.Fatalf("DecodeAccessClaims: %v; want %q", err, tc.reason)
			}
		})
	}
	c, err := jws.DecodeAccessClaims([]byte(goodPayload), v)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "u1" || c.ID != "j1" || c.SessionID != "s1" || c.Email != "ann@example.com" || len(c.Roles) != 1 || c.ExpiresAt.Unix() != 1700000900 {
		t.Fatalf("claims %+v", c)
	}
	// A client's own token (client_credentials): client_id and scope, no
	// sid, no email, no roles.
	client := `{"iss":"https://auth.example","sub":"svc","aud":["api"],"exp":1700000900,"nbf":1700000000,"iat":1700000000,"jti":"j2","roles":[],"client_id":"svc","scope":"orders.read orders.write"}`
	c, err = jws.DecodeAccessClaims([]byte(client), v)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "svc" || c.ClientID != "svc" || c.Scope != "orders.read orders.write" || c.SessionID != "" || len(c.Roles) != 0 {
		t.Fatalf("client claims %+v", c)
	}
}
