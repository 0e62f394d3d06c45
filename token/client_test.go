package token_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/authd/authd/token"
)

// TestIssueForClient: a client_credentials token is an RFC 9068 token of
// the client (sub and client_id its id, scope space-separated, no sid, no
// email, empty roles), verified and introspected like any other, narrowed
// by resource, revoked by its jti; the tokens of users name no client.
func TestIssueForClient(t *testing.T) {
	e := newEnv(t, "EdDSA")
	tests := []struct {
		name     string
		scopes   []string
		resource []string
		wantAud  []string
		wantErr  error
	}{
		{"default audiences", []string{"orders.read", "orders.write"}, nil, []string{"api", "other"}, nil},
		{"no scope", nil, nil, []string{"api", "other"}, nil},
		{"narrowed", []string{"orders.read"}, []string{"other"}, []string{"other"}, nil},
		{"resource not an audience", nil, []string{"billing"}, nil, token.ErrInvalidTarget},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := e.svc.IssueForClient("svc", tc.scopes, tc.resource)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("IssueForClient: %v; want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || p.RefreshToken != "" {
				t.Fatalf("IssueForClient: %+v, %v", p, err)
			}
			pb, _ := base64.RawURLEncoding.DecodeString(strings.Split(p.AccessToken, ".")[1])
			var m map[string]any
			if err := json.Unmarshal(pb, &m); err != nil {
				t.Fatal(err)
			}
			if _, ok := m["sid"]; ok {
				t.Errorf("a client's token carries sid: %s", pb)
			}
			if _, ok := m["email"]; ok {
				t.Errorf("a client's token carries email: %s", pb)
			}
			c, err := e.svc.Verify(e.ctx, p.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject != "svc" || c.ClientID != "svc" || c.Scope != strings.Join(tc.scopes, " ") || !c.ForClient() ||
				len(c.Roles) != 0 || !slices.Equal(c.Audience, tc.wantAud) {
				t.Fatalf("claims %+v", c)
			}
			in, err := e.svc.Introspect(e.ctx, p.AccessToken)
			if err != nil || !in.Active || in.ClientID != "svc" || in.Scope != c.Scope || in.SessionID != "" {
				t.Fatalf("introspection %+v, %v", in, err)
			}
			if err := e.svc.Revoke(e.ctx, p.AccessToken); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Verify(e.ctx, p.AccessToken); err == nil {
				t.Fatal("a revoked client token verifies")
			}
		})
	}
	if _, err := e.svc.IssueForClient("", nil, nil); err == nil {
		t.Fatal("IssueForClient with no client id")
	}
	_, c := e.issue()
	if c.ClientID != "" || c.Scope != "" || c.ForClient() {
		t.Fatalf("a session's token names a client: %+v", c)
	}
}
