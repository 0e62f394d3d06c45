package oidc_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/authd/authd/oidc"
)

// FuzzParseAuthorize: any query gives an accepted request, a page error
// or a redirect error — never a panic — and a redirect only ever goes to
// a registered redirect URI (A1), carrying iss (A3).
func FuzzParseAuthorize(f *testing.F) {
	p := newProvider(f)
	for _, seed := range []string{
		"response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&code_challenge=" + challenge + "&code_challenge_method=S256",
		"client_id=web&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&response_type=token&state=%00",
		"client_id=web&client_id=svc", "%zz", "redirect_uri=&client_id=", strings.Repeat("a=b&", 500),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := p.ParseAuthorize(t.Context(), raw)
		var pe *oidc.PageError
		var re *oidc.RedirectError
		switch {
		case err == nil, errors.As(err, &re):
			if r == nil || (r.RedirectURI != "https://app.example.com/cb" && r.RedirectURI != "https://app.example.com/cb?x=1") {
				t.Fatalf("a redirectable request to %v", r)
			}
			if re != nil {
				loc, perr := url.Parse(p.ErrorRedirect(r, re))
				if perr != nil || loc.Query().Get("iss") != "https://id.example.com" {
					t.Fatalf("error redirect %v", loc)
				}
			}
		case errors.As(err, &pe):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzParseLogout: any logout query is a request or a page error, and a
// redirect only ever goes to a registered post-logout URI.
func FuzzParseLogout(f *testing.F) {
	p := newProvider(f)
	for _, seed := range []string{"client_id=web&post_logout_redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb",
		"id_token_hint=a.b.c", "id_token_hint=eyJhbGciOiJub25lIn0.e30.", "state=%ff"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		lr, err := p.ParseLogout(t.Context(), q)
		var pe *oidc.PageError
		switch {
		case err == nil:
			if lr.Redirect != "" && !strings.HasPrefix(lr.Redirect, "https://app.example.com/cb") {
				t.Fatalf("logout redirects to %q", lr.Redirect)
			}
		case errors.As(err, &pe):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}
