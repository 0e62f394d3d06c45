package oidc_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/oidc"
)

type factors bool

func (f factors) HasSecondFactor(context.Context, string) (bool, error) { return bool(f), nil }

// TestAuthorizeSecondFactor: acr_values=aal2 is met by a two-factor
// session, sends a one-factor session to sign in again when the user has a
// second factor, and is refused when the user has none (never a weaker
// sign-in); the code carries the session's amr and acr.
func TestAuthorizeSecondFactor(t *testing.T) {
	p := newProvider(t)
	q := url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {"https://app.example.com/cb"},
		"scope": {"openid"}, "acr_values": {"aal2"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	r, err := p.ParseAuthorize(t.Context(), q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	r.Client.FirstParty = true // no consent step in this test
	now := time.Now()
	sess := func(amr ...string) *authd.Session {
		return &authd.Session{ID: authd.NewID(), Hash: make([]byte, 32), UserID: "u1", CreatedAt: now, AMR: amr}
	}
	tests := []struct {
		name    string
		has     bool
		amr     []string
		step    oidc.Step
		errCode string
	}{
		{"two factors: a code", true, []string{"pwd", "otp", "mfa"}, oidc.StepRedirect, ""},
		{"a passkey with user verification: a code", false, []string{"hwk", "user"}, oidc.StepRedirect, ""},
		{"password only, the user has a second factor: sign in again", true, []string{"pwd"}, oidc.StepSignIn, ""},
		{"password only, no second factor: unmet", false, []string{"pwd"}, oidc.StepRedirect, "unmet_authentication_requirements"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p.SetFactors(factors(tc.has))
			out, err := p.Authorize(t.Context(), r, sess(tc.amr...))
			if err != nil {
				t.Fatal(err)
			}
			if out.Step != tc.step {
				t.Fatalf("step %d, want %d (%+v)", out.Step, tc.step, out)
			}
			if out.Step == oidc.StepSignIn && !out.Reauth {
				t.Error("a step-up that does not ask to sign in again")
			}
			if out.Step == oidc.StepRedirect {
				loc, _ := url.Parse(out.Redirect)
				if got := loc.Query().Get("error"); got != tc.errCode {
					t.Fatalf("error %q, want %q (%s)", got, tc.errCode, out.Redirect)
				}
			}
		})
	}
}
