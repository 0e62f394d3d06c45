package verify_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/authd/authd/examples/authdtest"
	"github.com/authd/authd/verify"
)

func TestMain(m *testing.M) { authdtest.Main(m) }

const (
	testEmail    = "ann@example.com"
	testPassword = "correct horse battery staple 42"
)

// TestAgainstAuthd runs the verifier against the real authd, one process
// per signing algorithm authd publishes (HS256 secrets are not published,
// so HS256 is covered by the test issuer only).
func TestAgainstAuthd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts authd")
	}
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			srv := authdtest.Start(t, authdtest.Options{Audiences: []string{"orders", "billing"}, Alg: alg})
			uid := srv.AddUser(t, testEmail, testPassword, "staff")
			orders := newAuthdVerifier(t, srv.URL, "orders")
			billing := newAuthdVerifier(t, srv.URL, "billing")

			tr := srv.PasswordGrant(t, testEmail, testPassword, "orders")
			c, err := orders.Verify(ctx, tr.AccessToken)
			if err != nil {
				t.Fatalf("orders refuses a token for orders: %v", err)
			}
			if c.Subject != uid || c.Email != testEmail || !slices.Equal(c.Audience, []string{"orders"}) ||
				!slices.Equal(c.Roles, []string{"staff"}) || c.Issuer != srv.URL || c.ID == "" || c.SessionID == "" {
				t.Fatalf("claims %+v", c)
			}
			if _, err := billing.Verify(ctx, tr.AccessToken); !errors.Is(err, verify.ErrInvalidToken) {
				t.Fatalf("billing accepts a token for orders: %v", err)
			}

			// Revocation through /oauth2/revoke reaches the verifier at once.
			srv.Revoke(t, tr.AccessToken)
			d := eventually(t, time.Second, "revoked token refused", func() bool {
				_, err := orders.Verify(ctx, tr.AccessToken)
				return errors.Is(err, verify.ErrInvalidToken)
			})
			t.Logf("revoked access token refused after %s", d)

			// A session's token (aud: every --audience) dies with the session.
			cookie := srv.Login(t, testEmail, testPassword)
			st := srv.SessionToken(t, cookie)
			for _, v := range []*verify.Verifier{orders, billing} {
				if _, err := v.Verify(ctx, st); err != nil {
					t.Fatalf("session token refused: %v", err)
				}
			}
			srv.Logout(t, cookie)
			d = eventually(t, time.Second, "token of a logged-out session refused", func() bool {
				_, err1 := orders.Verify(ctx, st)
				_, err2 := billing.Verify(ctx, st)
				return errors.Is(err1, verify.ErrInvalidToken) && errors.Is(err2, verify.ErrInvalidToken)
			})
			t.Logf("token of a logged-out session refused after %s", d)
		})
	}
}

// TestAgainstAuthdOutage: when authd goes away the verifier fails closed
// within the staleness bound; when it comes back the verifier resumes from
// its cursor by itself and sees revocations made after.
func TestAgainstAuthdOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts authd")
	}
	srv := authdtest.Start(t, authdtest.Options{Audiences: []string{"orders"}})
	srv.AddUser(t, testEmail, testPassword)
	v := newAuthdVerifier(t, srv.URL, "orders", verify.WithMaxStaleness(time.Second))
	a := srv.PasswordGrant(t, testEmail, testPassword)
	b := srv.PasswordGrant(t, testEmail, testPassword)
	if _, err := v.Verify(ctx, a.AccessToken); err != nil {
		t.Fatal(err)
	}

	srv.Stop(t)
	d := eventually(t, 5*time.Second, "fail closed", func() bool {
		_, err := v.Verify(ctx, a.AccessToken)
		return errors.Is(err, verify.ErrUnavailable)
	})
	t.Logf("failing closed %s after authd stopped (max staleness 1 s)", d)

	srv.Restart(t)
	d = eventually(t, 5*time.Second, "recovery", func() bool {
		_, err := v.Verify(ctx, a.AccessToken)
		return err == nil
	})
	t.Logf("accepting again %s after authd restarted", d)
	srv.Revoke(t, b.AccessToken)
	eventually(t, time.Second, "revocation after the restart", func() bool {
		_, err := v.Verify(ctx, b.AccessToken)
		return errors.Is(err, verify.ErrInvalidToken)
	})
}

func newAuthdVerifier(t *testing.T, issuer, aud string, opts ...verify.Option) *verify.Verifier {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := verify.New(ctx, issuer, append([]verify.Option{verify.WithAudience(aud), verify.WithLogger(quietLogger)}, opts...)...)
	if err != nil {
		t.Fatalf("verify.New: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// TestClientCredentialsAgainstAuthd: golang.org/x/oauth2/clientcredentials,
// used unchanged with either client authentication method, gets a token
// from the real authd that the verifier accepts with ClientID and Scope
// set; revoked by its jti through /oauth2/revoke, the verifier refuses it
// through the revocation feed.
func TestClientCredentialsAgainstAuthd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts authd")
	}
	srv := authdtest.Start(t, authdtest.Options{Audiences: []string{"orders"}})
	const secret = "a client secret of 32 bytes + more/%"
	srv.AddClient(t, "svc", secret, []string{"client_credentials"}, []string{"orders.read", "orders.write", "openid"})
	v := newAuthdVerifier(t, srv.URL, "orders")
	for _, tc := range []struct {
		name  string
		style oauth2.AuthStyle
	}{{"client_secret_basic", oauth2.AuthStyleInHeader}, {"client_secret_post", oauth2.AuthStyleInParams}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := clientcredentials.Config{ClientID: "svc", ClientSecret: secret, TokenURL: srv.URL + "/oauth2/token",
				Scopes: []string{"orders.read"}, AuthStyle: tc.style}
			tok, err := cfg.Token(ctx)
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			c, err := v.Verify(ctx, tok.AccessToken)
			if err != nil {
				t.Fatalf("the verifier refuses a client token: %v", err)
			}
			if c.Subject != "svc" || c.ClientID != "svc" || c.Scope != "orders.read" || !slices.Equal(c.Scopes(), []string{"orders.read"}) ||
				!c.HasScope("orders.read") || c.HasScope("orders.write") || c.SessionID != "" || len(c.Roles) != 0 {
				t.Fatalf("claims %+v", c)
			}
			srv.RevokeAs(t, tok.AccessToken, "svc", secret)
			eventually(t, time.Second, "revoked client token refused", func() bool {
				_, err := v.Verify(ctx, tok.AccessToken)
				return errors.Is(err, verify.ErrInvalidToken)
			})
		})
	}
}
