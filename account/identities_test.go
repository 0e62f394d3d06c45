package account_test

import (
	"context"
	"errors"
	"testing"

	"github.com/authd/authd"
	"github.com/authd/authd/account"
)

// TestSignInUpstream is the linking table of SECURITY.md F2: who an
// identity at an upstream provider signs in as.
func TestSignInUpstream(t *testing.T) {
	ctx := context.Background()
	trusted := &authd.Upstream{ID: "corp", TrustEmail: true}
	untrusted := &authd.Upstream{ID: "social"}
	type step struct {
		up       *authd.Upstream
		claims   account.UpstreamClaims
		link     string // "ann": linked by ann, signed in
		wantUser string // "ann", "new" (a new account), "" (refused)
		wantErr  error
	}
	ann := "ann@example.com"
	tests := []struct {
		name  string
		steps []step
	}{
		{"unverified address of an existing account does not sign in as it", []step{
			{up: trusted, claims: account.UpstreamClaims{Subject: "s1", Email: ann}, wantErr: account.ErrLinkFirst},
		}},
		{"verified address at an untrusted provider does not either", []step{
			{up: untrusted, claims: account.UpstreamClaims{Subject: "s1", Email: ann, EmailVerified: true}, wantErr: account.ErrLinkFirst},
		}},
		{"verified address at a trusted provider links", []step{
			{up: trusted, claims: account.UpstreamClaims{Subject: "s1", Email: "ANN@example.com", EmailVerified: true}, wantUser: "ann"},
			// From now on the subject signs in, whatever address it says.
			{up: trusted, claims: account.UpstreamClaims{Subject: "s1", Email: "changed@example.com"}, wantUser: "ann"},
		}},
		{"a new address makes a new account", []step{
			{up: untrusted, claims: account.UpstreamClaims{Subject: "s2", Email: "new@example.com", EmailVerified: true}, wantUser: "new"},
			{up: untrusted, claims: account.UpstreamClaims{Subject: "s2", Email: "new@example.com"}, wantUser: "new"},
		}},
		{"no address, no account", []step{
			{up: untrusted, claims: account.UpstreamClaims{Subject: "s3"}, wantErr: account.ErrNoEmail},
		}},
		{"a signed-in user links their own", []step{
			{up: untrusted, claims: account.UpstreamClaims{Subject: "s4", Email: "whatever@example.com"}, link: "ann", wantUser: "ann"},
			{up: untrusted, claims: account.UpstreamClaims{Subject: "s4", Email: "whatever@example.com"}, wantUser: "ann"},
		}},
		{"an identity linked elsewhere is refused", []step{
			{up: untrusted, claims: account.UpstreamClaims{Subject: "s5", Email: "other@example.com"}, wantUser: "new"},
			{up: untrusted, claims: account.UpstreamClaims{Subject: "s5", Email: "other@example.com"}, link: "ann", wantErr: account.ErrIdentityTaken},
		}},
		{"one identity per provider and user", []step{
			{up: untrusted, claims: account.UpstreamClaims{Subject: "s6", Email: "x@example.com"}, link: "ann", wantUser: "ann"},
			{up: untrusted, claims: account.UpstreamClaims{Subject: "s7", Email: "y@example.com"}, link: "ann", wantErr: account.ErrIdentityTaken},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, db, _ := newService(t)
			svc.UseDirectory(db)
			svc.UseIdentities(db, true)
			a, err := svc.Create(ctx, ann, pw, nil)
			if err != nil {
				t.Fatal(err)
			}
			newID := ""
			for i, st := range tt.steps {
				link := ""
				if st.link == "ann" {
					link = a.ID
				}
				u, err := svc.SignInUpstream(ctx, st.up, st.claims, link, account.Meta{})
				if st.wantErr != nil {
					if !errors.Is(err, st.wantErr) {
						t.Fatalf("step %d: %v, want %v", i, err, st.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				switch st.wantUser {
				case "ann":
					if u.ID != a.ID {
						t.Fatalf("step %d: signed in as %s, want ann", i, u.Email)
					}
				case "new":
					if u.ID == a.ID || (newID != "" && u.ID != newID) {
						t.Fatalf("step %d: signed in as %s (%s), want the new account", i, u.Email, u.ID)
					}
					newID = u.ID
					if u.PasswordHash != "" || u.EmailVerified {
						t.Fatalf("step %d: a new account from an untrusted provider: %+v", i, u)
					}
				}
			}
		})
	}
}

// TestUpstreamAccountHasNoPassword: an account made through a provider
// refuses every password, and its only identity cannot be unlinked.
func TestUpstreamAccountHasNoPassword(t *testing.T) {
	ctx := context.Background()
	svc, db, _ := newService(t)
	svc.UseDirectory(db)
	svc.UseIdentities(db, true)
	up := &authd.Upstream{ID: "corp", TrustEmail: true}
	u, err := svc.SignInUpstream(ctx, up, account.UpstreamClaims{Subject: "s", Email: "zed@example.com", EmailVerified: true}, "", account.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if !u.EmailVerified {
		t.Fatal("a trusted provider's verified address is not verified")
	}
	for _, guess := range []string{"", pw} {
		if _, err := svc.Authenticate(ctx, "zed@example.com", guess, account.Meta{}); !errors.Is(err, authd.ErrInvalidCredentials) {
			t.Fatalf("password %q: %v", guess, err)
		}
	}
	if err := svc.Unlink(ctx, u.ID, "corp", false, account.Meta{}); !errors.Is(err, account.ErrLastSignIn) {
		t.Fatalf("unlink the only way in: %v", err)
	}
	if err := svc.Unlink(ctx, u.ID, "corp", true, account.Meta{}); err != nil {
		t.Fatalf("unlink with a passkey left: %v", err)
	}
	if err := svc.Unlink(ctx, u.ID, "corp", true, account.Meta{}); !errors.Is(err, authd.ErrNotFound) {
		t.Fatalf("unlink again: %v", err)
	}
	// Sign-up closed: a new identity makes no account.
	svc.UseIdentities(db, false)
	if _, err := svc.SignInUpstream(ctx, up, account.UpstreamClaims{Subject: "t", Email: "yan@example.com"}, "", account.Meta{}); !errors.Is(err, authd.ErrForbidden) {
		t.Fatalf("sign-up closed: %v", err)
	}
}
