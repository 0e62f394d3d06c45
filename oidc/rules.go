package oidc

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/authd/authd"
	"github.com/authd/authd/password"
)

// DefaultScopes returns the scopes a client that has a grant may ask for
// when it is registered without any: openid email offline_access. A
// function, not a variable, so that nothing can change them for the whole
// process.
func DefaultScopes() []string { return []string{"openid", "email", "offline_access"} }

// Grants returns the grant types a client may be registered for.
func Grants() []string {
	return []string{authd.GrantAuthorizationCode, authd.GrantRefreshToken, authd.GrantClientCredentials}
}

// Limits of the other fields.
const (
	maxNameLen = 200  // bytes
	maxURILen  = 2000 // bytes, of each URI
)

// client checks s against every rule of API.md "Clients" and returns the
// client it describes, defaults filled in, without a secret hash or a
// creation time. The first rule broken is the error.
func (s ClientSpec) client() (*authd.Client, error) {
	c := &authd.Client{
		ID:                     s.ID,
		Name:                   s.Name,
		RedirectURIs:           slices.Clone(s.RedirectURIs),
		PostLogoutRedirectURIs: slices.Clone(s.PostLogoutRedirectURIs),
		BackchannelLogoutURI:   s.BackchannelLogoutURI,
		Scopes:                 slices.Clone(s.Scopes),
		Grants:                 slices.Clone(s.Grants),
		FirstParty:             s.FirstParty,
	}
	if len(c.Grants) == 0 && len(c.RedirectURIs) > 0 {
		c.Grants = []string{authd.GrantAuthorizationCode, authd.GrantRefreshToken}
	}
	signsIn := slices.Contains(c.Grants, authd.GrantAuthorizationCode)
	// A client with no grant asks for no token: the rules below leave it
	// only to resource servers.
	if len(c.Scopes) == 0 && len(c.Grants) > 0 {
		c.Scopes = DefaultScopes()
	}
	// The fields one by one, then how they go together.
	checks := []func() error{
		func() error { return checkID(s.ID) },
		func() error { return checkName(s.Name) },
		func() error { return checkSecret(s.Public, s.Secret) },
		func() error { return checkList("redirect_uri", s.RedirectURIs, checkRedirectURI) },
		func() error { return checkList("post_logout_redirect_uri", s.PostLogoutRedirectURIs, checkRedirectURI) },
		func() error { return checkOptional("backchannel_logout_uri", s.BackchannelLogoutURI, checkWebURI) },
		func() error { return checkList("scope", s.Scopes, checkScope) },
		func() error { return checkList("grant", s.Grants, checkGrant) },
		rule(!s.Public || len(c.RedirectURIs) > 0, "redirect_uri",
			"a public client needs a redirect URI: without a secret, signing users in is all it can do"),
		rule(!signsIn || len(c.RedirectURIs) > 0, "grant",
			"the authorization_code grant needs at least one redirect URI"),
		rule(signsIn || len(c.RedirectURIs) == 0, "redirect_uri",
			"redirect URIs are for the authorization_code grant, which the client does not have"),
		rule(signsIn || !slices.Contains(c.Grants, authd.GrantRefreshToken), "grant",
			"the refresh_token grant needs the authorization_code grant: refresh tokens come from sign-ins"),
		rule(!s.Public || !slices.Contains(c.Grants, authd.GrantClientCredentials), "grant",
			"the client_credentials grant is for confidential clients only: a public client has no secret to prove itself"),
		rule(signsIn || len(c.PostLogoutRedirectURIs) == 0, "post_logout_redirect_uri",
			"post-logout redirect URIs are for clients that sign users in (the authorization_code grant)"),
		rule(signsIn || c.BackchannelLogoutURI == "", "backchannel_logout_uri",
			"a back-channel logout URI is for clients that sign users in (the authorization_code grant)"),
		rule(signsIn || !c.FirstParty, "first_party",
			"first party skips the consent page of sign-ins: it is for clients with the authorization_code grant"),
		rule(len(c.Grants) > 0 || len(c.Scopes) == 0, "scope",
			"a client with no grant (a resource server) asks for no scope"),
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// rule is a check of how fields go together: ok, or field's message.
func rule(ok bool, field, msg string) func() error {
	return func() error {
		if ok {
			return nil
		}
		return authd.Invalidf(field, "%s", msg)
	}
}

// checkID: 1 to MaxIDLen of [A-Za-z0-9._-], so that an id is safe in a
// URL, a log line and a form without escaping.
func checkID(id string) error {
	if id == "" || len(id) > MaxIDLen || strings.IndexFunc(id, func(r rune) bool { return !idChar(r) }) >= 0 {
		return authd.Invalidf("id", "a client id is 1 to %d of the characters A-Z a-z 0-9 . _ -, got %q", MaxIDLen, id)
	}
	return nil
}

func idChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}

// checkName: the consent page shows it, so it is text: UTF-8 without
// control characters, at most maxNameLen bytes.
func checkName(name string) error {
	if len(name) > maxNameLen || !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return authd.Invalidf("name", "a client name is at most %d bytes of text without control characters", maxNameLen)
	}
	return nil
}

// checkSecret: a public client has none; a confidential client's given
// secret is MinSecretLen to password.MaxBytes bytes ("" is generated).
func checkSecret(public bool, secret string) error {
	switch {
	case public && secret != "":
		return authd.Invalidf("secret", "a public client has no secret")
	case !public && secret != "" && (len(secret) < MinSecretLen || len(secret) > password.MaxBytes):
		return authd.Invalidf("secret", "a client secret is %d to %d characters", MinSecretLen, password.MaxBytes)
	}
	return nil
}

// checkList checks each value of a list with check, and that none is
// given twice; errors name field.
func checkList(field string, values []string, check func(string) string) error {
	for i, v := range values {
		if msg := check(v); msg != "" {
			return authd.Invalidf(field, "%q: %s", v, msg)
		}
		if slices.Contains(values[:i], v) {
			return authd.Invalidf(field, "%q is given twice", v)
		}
	}
	return nil
}

// checkOptional checks v with check unless it is empty.
func checkOptional(field, v string, check func(string) string) error {
	if v == "" {
		return nil
	}
	return checkList(field, []string{v}, check)
}

// checkScope: a scope token of RFC 6749 §3.3, 1*( %x21 / %x23-5B / %x5D-7E ).
func checkScope(s string) string {
	if s == "" {
		return "a scope is not empty"
	}
	for i := range len(s) {
		if b := s[i]; b < 0x21 || b > 0x7e || b == '"' || b == '\\' {
			return `a scope is printable ASCII without spaces, " or \ (RFC 6749 §3.3)`
		}
	}
	return ""
}

// checkGrant: one of Grants.
func checkGrant(g string) string {
	if !slices.Contains(Grants(), g) {
		return "want one of " + strings.Join(Grants(), ", ")
	}
	return ""
}

// checkRedirectURI: the rules of redirect and post-logout redirect URIs.
// A URI is stored exactly as given and later compared as an exact string
// (SECURITY.md A1): these rules only keep out what must never be a target.
//
// NOTE: https; http only to a loopback host (127.0.0.1, [::1], localhost:
// the user's own machine, RFC 8252 §7.3, §8.3); and, for native apps,
// private-use schemes, which RFC 8252 §7.1 says are reverse domain names
// (com.example.app:/callback): a scheme with a dot. Every other scheme
// (javascript:, data:, file:, a custom scheme without a dot) is refused.
// No fragment (RFC 6749 §3.1.2), no user:password@ (it can disguise the
// host a user reads).
func checkRedirectURI(raw string) string {
	return checkURI(raw, true)
}

// checkWebURI: the rules of the back-channel logout URI, which authd
// itself calls: https, or http to a loopback host; no fragment (OpenID
// Connect Back-Channel Logout 1.0 §2.2).
func checkWebURI(raw string) string {
	return checkURI(raw, false)
}

// checkURI returns why raw is not an acceptable absolute URI, or "".
// privateUse allows the private-use schemes of native apps.
//
// NOTE: only printable ASCII without spaces: anything else must be
// percent-encoded, so a URI has one spelling and the exact comparison of
// SECURITY.md A1 cannot be fooled by look-alike Unicode or by whitespace.
func checkURI(raw string, privateUse bool) string {
	if len(raw) > maxURILen {
		return fmt.Sprintf("a URI is at most %d bytes", maxURILen)
	}
	for i := range len(raw) {
		if raw[i] <= ' ' || raw[i] > '~' {
			return "a URI is printable ASCII without spaces: percent-encode the rest"
		}
	}
	if strings.Contains(raw, "#") {
		return "a URI here has no fragment (#…)"
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return "want an absolute URI, like https://app.example.com/callback"
	}
	if u.User != nil {
		return "a URI here has no user information (user@…)"
	}
	switch {
	case u.Scheme == "https":
		if u.Hostname() == "" {
			return "an https URI needs a host"
		}
	case u.Scheme == "http":
		if !loopback(u.Hostname()) {
			return "http only for a loopback host (127.0.0.1, [::1], localhost); use https"
		}
	case privateUse && strings.Contains(u.Scheme, "."):
		if u.Opaque == "" && u.Path == "" && u.Host == "" {
			return "a private-use URI needs a path, like com.example.app:/callback"
		}
	case privateUse:
		return "want https, http on a loopback host, or a private-use scheme with a dot, like com.example.app:/callback"
	default:
		return "want https, or http on a loopback host"
	}
	return ""
}

// loopback reports whether host names the local machine: 127.0.0.1, ::1 or
// localhost.
func loopback(host string) bool {
	return host == "127.0.0.1" || host == "::1" || strings.EqualFold(host, "localhost")
}
