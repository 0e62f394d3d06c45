package upstream

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authd/authd"
)

// discovered is a provider's discovery document, as go-oidc read it, with
// its key set (go-oidc's, which refetches the JWKS on an unknown key id).
type discovered struct {
	provider *oidc.Provider
	// issParam: authorization_response_iss_parameter_supported (RFC
	// 9207): the iss parameter must then be in every response.
	issParam bool
	at       time.Time
}

// discover returns the provider's discovery document, reused for
// discoveryTTL. Failures are not kept: the next sign-in tries again.
func (s *Service) discover(ctx context.Context, u *authd.Upstream) (*discovered, error) {
	now := s.cfg.Now()
	s.discMu.Lock()
	d, ok := s.disc[u.Issuer]
	s.discMu.Unlock()
	if ok && now.Sub(d.at) < discoveryTTL && !now.Before(d.at) {
		return d, nil
	}
	// NOTE: go-oidc checks that the document names exactly u.Issuer, and
	// keeps s.client (not ctx) for the JWKS fetches it makes later.
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, s.client), u.Issuer)
	if err != nil {
		if _, ok := errors.AsType[*oidc.IssuerMismatchError](err); ok {
			return nil, fmt.Errorf("%w: provider %q: its discovery document names another issuer: %s", ErrProvider, u.ID, short(err))
		}
		return nil, fmt.Errorf("%w: provider %q: discovery: %s", ErrProviderDown, u.ID, short(err))
	}
	var meta struct {
		IssParam bool `json:"authorization_response_iss_parameter_supported"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, fmt.Errorf("%w: provider %q: discovery: %s", ErrProvider, u.ID, short(err))
	}
	if p.Endpoint().AuthURL == "" || p.Endpoint().TokenURL == "" {
		return nil, fmt.Errorf("%w: provider %q: its discovery document has no authorization or token endpoint", ErrProvider, u.ID)
	}
	d = &discovered{provider: p, issParam: meta.IssParam, at: now}
	s.discMu.Lock()
	s.disc[u.Issuer] = d
	s.discMu.Unlock()
	return d, nil
}

// upstream returns the provider id from the store (not from the reloaded
// list: a deleted provider stops at once on this node), or ErrUnknown.
func (s *Service) upstream(ctx context.Context, id string) (*authd.Upstream, error) {
	if !idRE.MatchString(id) {
		return nil, fmt.Errorf("%w: %q", ErrUnknown, id)
	}
	u, err := s.store.UpstreamByID(ctx, id)
	if errors.Is(err, authd.ErrNotFound) {
		return nil, fmt.Errorf("%w: %q", ErrUnknown, id)
	}
	if err != nil {
		return nil, fmt.Errorf("upstream: provider %q: %w", id, err)
	}
	return u, nil
}

// oauthConfig is the oauth2 client of u at d; secret is the opened client
// secret ("" for a public client).
func (s *Service) oauthConfig(u *authd.Upstream, d *discovered, secret string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     u.ClientID,
		ClientSecret: secret,
		Endpoint:     d.provider.Endpoint(),
		RedirectURL:  s.RedirectURI(u.ID),
		Scopes:       u.Scopes,
	}
}

// flowState is what the server keeps of a started sign-in, under
// stateKey(state), until the callback takes it.
type flowState struct {
	Upstream string `json:"upstream"`
	// Issuer and ClientID are the provider's at Start: a provider changed
	// (deleted and registered again) meanwhile fails the flow.
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
	Return   string `json:"return"`
	LinkUser string `json:"link_user,omitempty"`
	// Binding is the SHA-256 of the browser-binding value.
	Binding []byte `json:"binding"`
}

// stateKey is the ChallengeStore key of a state: a hash, so that a copy of
// the store does not give states to present.
func stateKey(state string) string {
	h := sha256.Sum256([]byte(state))
	return "upstream:" + hex.EncodeToString(h[:])
}

func hashBinding(b string) []byte {
	h := sha256.Sum256([]byte("authd upstream binding\x00" + b))
	return h[:]
}

// Start begins a sign-in at the provider id. It returns the provider's
// authorization URL (code flow with PKCE S256, state, nonce and the
// provider's scopes) and a fresh browser-binding value, which the caller
// puts in a short-lived cookie and gives back to Finish. ret is the
// already-validated path to return to; linkUserID is the signed-in user
// linking the identity to their account ("" for a sign-in).
//
// The state, nonce, PKCE verifier, ret, linkUserID and a hash of the
// binding are kept in the ChallengeStore for FlowTTL under a hash of the
// state. Errors: ErrUnknown, ErrProviderDown (discovery failed; never a
// hang), ErrProvider (the discovery document names another issuer).
func (s *Service) Start(ctx context.Context, id, ret, linkUserID string) (authURL, binding string, err error) {
	u, err := s.upstream(ctx, id)
	if err != nil {
		return "", "", err
	}
	d, err := s.discover(ctx, u)
	if err != nil {
		return "", "", err
	}
	// NOTE: rand.Text is 26 base32 characters: 130 bits each.
	state, nonce, binding := rand.Text(), rand.Text(), rand.Text()
	verifier := oauth2.GenerateVerifier()
	data, err := json.Marshal(flowState{
		Upstream: u.ID,
		Issuer:   u.Issuer,
		ClientID: u.ClientID,
		Nonce:    nonce,
		Verifier: verifier,
		Return:   ret,
		LinkUser: linkUserID,
		Binding:  hashBinding(binding),
	})
	if err != nil {
		return "", "", fmt.Errorf("upstream: %w", err)
	}
	if err := s.challenges.PutChallenge(ctx, stateKey(state), data, s.cfg.Now().Add(FlowTTL)); err != nil {
		return "", "", fmt.Errorf("upstream: keep the sign-in state: %w", err)
	}
	authURL = s.oauthConfig(u, d, "").AuthCodeURL(state,
		oauth2.S256ChallengeOption(verifier),
		oidc.Nonce(nonce))
	return authURL, binding, nil
}

// Result is a verified sign-in at a provider.
type Result struct {
	Upstream *authd.Upstream
	// Subject is the ID token's sub: with Upstream.ID, the identity.
	Subject string
	// Email and EmailVerified are what the provider said (ID token, or
	// the UserInfo endpoint when the ID token has no email), before
	// Upstream.TrustEmail is applied: package account decides what they
	// prove.
	Email         string
	EmailVerified bool
	// Return and LinkUserID are Start's ret and linkUserID.
	Return, LinkUserID string
}

// Finish completes the callback of a sign-in at the provider id: query is
// the callback's query, binding the value of the browser's binding cookie
// ("" when it has none). In order, it:
//
//   - takes the state (single use, even when what follows fails): a
//     missing, unknown, spent or expired state, one started at another
//     provider or in another browser (binding) is ErrState;
//   - checks the RFC 9207 iss parameter: when present it must be the
//     provider's issuer, and it must be present when the provider's
//     discovery says it sends it: else ErrToken (a mix-up);
//   - maps error responses: access_denied is ErrDenied, any other
//     ErrProvider;
//   - exchanges the code with the PKCE verifier (and the client secret):
//     unreachable is ErrProviderDown, a refusal ErrProvider;
//   - verifies the ID token (OpenID Connect Core §3.1.3.7): signature by
//     the provider's JWKS, iss exactly the registered issuer, aud (and azp),
//     exp against Config.Now, nonce (constant time), at_hash when present,
//     a sub: any failure is ErrToken.
func (s *Service) Finish(ctx context.Context, id string, query url.Values, binding string) (*Result, error) {
	if !idRE.MatchString(id) {
		return nil, fmt.Errorf("%w: %q", ErrUnknown, id)
	}
	if len(query["state"]) != 1 || query.Get("state") == "" {
		return nil, fmt.Errorf("%w: the response has no state", ErrState)
	}
	data, err := s.challenges.TakeChallenge(ctx, stateKey(query.Get("state")), s.cfg.Now())
	if errors.Is(err, authd.ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown, used or expired state", ErrState)
	}
	if err != nil {
		return nil, fmt.Errorf("upstream: take the sign-in state: %w", err)
	}
	var fs flowState
	if err := json.Unmarshal(data, &fs); err != nil {
		return nil, fmt.Errorf("%w: unreadable state", ErrState)
	}
	if fs.Upstream != id {
		return nil, fmt.Errorf("%w: the state was issued for another provider", ErrState)
	}
	if binding == "" || subtle.ConstantTimeCompare(hashBinding(binding), fs.Binding) != 1 {
		return nil, fmt.Errorf("%w: the sign-in was started in another browser", ErrState)
	}
	u, err := s.upstream(ctx, id)
	if err != nil {
		return nil, err
	}
	if u.Issuer != fs.Issuer || u.ClientID != fs.ClientID {
		return nil, fmt.Errorf("%w: the provider was changed since the sign-in started", ErrState)
	}
	d, err := s.discover(ctx, u)
	if err != nil {
		return nil, err
	}

	// RFC 9207 §2.4: checked before anything else of the response, error
	// responses included.
	if iss, ok := query["iss"]; ok {
		if len(iss) != 1 || iss[0] != u.Issuer {
			return nil, fmt.Errorf("%w: the response names another issuer (RFC 9207): %s", ErrToken, short(errors.New(strings.Join(iss, ","))))
		}
	} else if d.issParam {
		return nil, fmt.Errorf("%w: the response has no iss though the provider says it sends one (RFC 9207)", ErrToken)
	}
	if e := query.Get("error"); e != "" {
		if e == "access_denied" {
			return nil, fmt.Errorf("%w: provider %q: access_denied", ErrDenied, u.ID)
		}
		return nil, fmt.Errorf("%w: provider %q: error %s", ErrProvider, u.ID, short(errors.New(e)))
	}
	code := query.Get("code")
	if code == "" || len(query["code"]) != 1 {
		return nil, fmt.Errorf("%w: provider %q: the response has no code", ErrProvider, u.ID)
	}

	secret := ""
	if len(u.SecretSealed) > 0 {
		if s.sealer == nil {
			return nil, fmt.Errorf("upstream: provider %q: no encryption key to open its client secret", u.ID)
		}
		b, err := s.sealer.OpenUpstreamSecret(u.ID, u.SecretSealed)
		if err != nil {
			return nil, fmt.Errorf("upstream: provider %q: open its client secret: %w", u.ID, err)
		}
		secret = string(b)
	}
	hctx := oidc.ClientContext(ctx, s.client)
	tok, err := s.oauthConfig(u, d, secret).Exchange(hctx, code, oauth2.VerifierOption(fs.Verifier))
	if err != nil {
		if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
			if re.Response != nil && re.Response.StatusCode >= 500 {
				return nil, fmt.Errorf("%w: provider %q: token endpoint: %s", ErrProviderDown, u.ID, re.Response.Status)
			}
			ec := re.ErrorCode
			if ec == "" && re.Response != nil {
				ec = re.Response.Status
			}
			return nil, fmt.Errorf("%w: provider %q: the code exchange was refused: %s", ErrProvider, u.ID, short(errors.New(ec)))
		}
		return nil, fmt.Errorf("%w: provider %q: token endpoint: %s", ErrProviderDown, u.ID, short(redact(err, code, secret)))
	}

	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fmt.Errorf("%w: provider %q: no ID token in the token response", ErrToken, u.ID)
	}
	v := d.provider.Verifier(&oidc.Config{ClientID: u.ClientID, Now: s.cfg.Now})
	idt, err := v.Verify(hctx, raw)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || isNetErr(err) {
			return nil, fmt.Errorf("%w: provider %q: key set: %s", ErrProviderDown, u.ID, short(err))
		}
		return nil, fmt.Errorf("%w: provider %q: ID token: %s", ErrToken, u.ID, short(err))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(fs.Nonce)) != 1 {
		return nil, fmt.Errorf("%w: provider %q: ID token: the nonce is not this sign-in's", ErrToken, u.ID)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, fmt.Errorf("%w: provider %q: ID token: at_hash does not match the access token", ErrToken, u.ID)
		}
	}
	var c struct {
		AZP           string    `json:"azp"`
		Email         string    `json:"email"`
		EmailVerified *flexBool `json:"email_verified"`
	}
	if err := idt.Claims(&c); err != nil {
		return nil, fmt.Errorf("%w: provider %q: ID token: %s", ErrToken, u.ID, short(err))
	}
	// OpenID Connect Core §3.1.3.7 steps 4 and 5: a token for several
	// audiences names the party it was issued to, which must be authd.
	if (c.AZP != "" || len(idt.Audience) > 1) && c.AZP != u.ClientID {
		return nil, fmt.Errorf("%w: provider %q: ID token: issued to another party (azp)", ErrToken, u.ID)
	}
	if idt.Subject == "" || len(idt.Subject) > maxSubject || !printable(idt.Subject) {
		return nil, fmt.Errorf("%w: provider %q: ID token: no valid sub", ErrToken, u.ID)
	}
	r := &Result{
		Upstream:   u,
		Subject:    idt.Subject,
		Email:      c.Email,
		Return:     fs.Return,
		LinkUserID: fs.LinkUser,
	}
	if c.EmailVerified != nil {
		r.EmailVerified = bool(*c.EmailVerified)
	}
	// Many providers put the address in the UserInfo answer only (OpenID
	// Connect Core §5.4 for the email scope with a code flow).
	if r.Email == "" && d.provider.UserInfoEndpoint() != "" && slices.Contains(u.Scopes, "email") {
		ui, err := d.provider.UserInfo(hctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			if isNetErr(err) || errors.Is(err, context.DeadlineExceeded) {
				return nil, fmt.Errorf("%w: provider %q: userinfo: %s", ErrProviderDown, u.ID, short(err))
			}
			return nil, fmt.Errorf("%w: provider %q: userinfo: %s", ErrProvider, u.ID, short(err))
		}
		// §5.3.4: the sub must be the ID token's, else the answer is
		// someone else's and must not be used.
		if ui.Subject != idt.Subject {
			return nil, fmt.Errorf("%w: provider %q: userinfo: another sub than the ID token's", ErrToken, u.ID)
		}
		r.Email, r.EmailVerified = ui.Email, ui.EmailVerified
	}
	if r.Email == "" {
		r.EmailVerified = false
	}
	return r, nil
}

// flexBool is a JSON boolean that some providers send as a string.
type flexBool bool

func (b *flexBool) UnmarshalJSON(p []byte) error {
	switch string(p) {
	case "true", `"true"`:
		*b = true
	case "false", `"false"`, "null":
		*b = false
	default:
		return fmt.Errorf("email_verified is %.20s, not a boolean", p)
	}
	return nil
}

func isNetErr(err error) bool {
	_, ok := errors.AsType[*url.Error](err)
	return ok
}

// redact removes the code and the secret from an error's text (oauth2's
// transport errors name the token URL only, but be sure).
func redact(err error, secrets ...string) error {
	msg := err.Error()
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
			msg = strings.ReplaceAll(msg, url.QueryEscape(s), "[redacted]")
		}
	}
	return errors.New(msg)
}

// short is err's text, on one line and at most 200 bytes: a provider's
// answer can be anything.
func short(err error) string {
	msg := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, err.Error())
	if len(msg) > 200 {
		msg = strings.ToValidUTF8(msg[:200], "") + "…"
	}
	return fmt.Sprintf("%q", msg)
}
