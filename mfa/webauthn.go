package mfa

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/authd/authd"
)

// Ceremony purposes, recorded with each challenge: a challenge begun for
// one is refused by the others.
const (
	purposeRegister     = "register"     // add a passkey to a signed-in user
	purposeLogin        = "login"        // second step of a known user's sign-in
	purposeDiscoverable = "discoverable" // sign-in with a passkey alone
)

// maxPasskeyName is the longest passkey name kept, in characters.
const maxPasskeyName = 64

// maxChallengeLen bounds the challenge read from clientDataJSON before it
// is used as a store key (ours are 43 characters).
const maxChallengeLen = 128

// ceremony is the server side of a WebAuthn ceremony, kept in the
// ChallengeStore under challengeKey(its challenge).
//
// NOTE: it is keyed by the challenge, which the credential's clientDataJSON
// carries back, so that no cookie is needed to find it; it records the
// user and the purpose it was begun for, and TakeChallenge deletes it, so a
// challenge serves one finish only, whatever its outcome.
type ceremony struct {
	Purpose string               `json:"purpose"`
	UserID  string               `json:"user_id,omitempty"`
	Session webauthn.SessionData `json:"session"`
}

func challengeKey(challenge string) string { return "webauthn:" + challenge }

// Assertion is the outcome of a passkey sign-in.
type Assertion struct {
	// UserID is the user who signed in.
	UserID string
	// PasskeyID is the public id of the passkey used.
	PasskeyID string
	// UserVerified is true when the authenticator verified the user (PIN,
	// biometrics): with it the passkey alone counts as two factors
	// (amr hwk + user, AAL2).
	UserVerified bool
}

// waUser is a user as go-webauthn sees it.
type waUser struct {
	id       string
	name     string
	passkeys []*authd.Passkey
	creds    []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return []byte(u.id) }
func (u *waUser) WebAuthnName() string                       { return u.name }
func (u *waUser) WebAuthnDisplayName() string                { return u.name }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// passkeyOf returns the passkey whose credential id is credentialID.
func (u *waUser) passkeyOf(credentialID []byte) *authd.Passkey {
	for _, p := range u.passkeys {
		if bytes.Equal(p.CredentialID, credentialID) {
			return p
		}
	}
	return nil
}

// loadUser returns the user userID with their passkeys decoded.
func (s *Service) loadUser(ctx context.Context, userID, name string) (*waUser, error) {
	pks, err := s.factors.Passkeys(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("mfa: passkeys: %w", err)
	}
	u := &waUser{id: userID, name: name, passkeys: pks, creds: make([]webauthn.Credential, 0, len(pks))}
	for _, p := range pks {
		var c webauthn.Credential
		if err := json.Unmarshal(p.Credential, &c); err != nil {
			return nil, fmt.Errorf("mfa: passkey %s of user %s does not decode: %w", p.ID, userID, err)
		}
		// NOTE: the store's SignCount is the counter of record (UsePasskey
		// moves it atomically); the copy inside Credential is the one at
		// registration.
		c.Authenticator.SignCount = p.SignCount
		u.creds = append(u.creds, c)
	}
	return u, nil
}

// putCeremony stores the server side of a ceremony until ChallengeTTL.
func (s *Service) putCeremony(ctx context.Context, purpose, userID string, session *webauthn.SessionData) error {
	data, err := json.Marshal(ceremony{Purpose: purpose, UserID: userID, Session: *session})
	if err != nil {
		return fmt.Errorf("mfa: encode WebAuthn session: %w", err)
	}
	if err := s.challenges.PutChallenge(ctx, challengeKey(session.Challenge), data, s.cfg.Now().Add(s.cfg.ChallengeTTL)); err != nil {
		return fmt.Errorf("mfa: store WebAuthn challenge: %w", err)
	}
	return nil
}

// takeCeremony takes (deletes and returns) the ceremony of challenge, which
// must have been begun for purpose and, when userID is not empty, for that
// user. Anything else is ErrInvalidCredential.
func (s *Service) takeCeremony(ctx context.Context, challenge, purpose, userID string) (*ceremony, error) {
	if challenge == "" || len(challenge) > maxChallengeLen {
		return nil, fmt.Errorf("%w: no challenge", ErrInvalidCredential)
	}
	data, err := s.challenges.TakeChallenge(ctx, challengeKey(challenge), s.cfg.Now())
	if errors.Is(err, authd.ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown, spent or expired challenge", ErrInvalidCredential)
	}
	if err != nil {
		return nil, fmt.Errorf("mfa: take WebAuthn challenge: %w", err)
	}
	var c ceremony
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("mfa: decode WebAuthn session: %w", err)
	}
	if c.Purpose != purpose || c.UserID != userID {
		return nil, fmt.Errorf("%w: challenge of another ceremony", ErrInvalidCredential)
	}
	return &c, nil
}

// invalid wraps a go-webauthn verification error as ErrInvalidCredential,
// keeping its reason (never a secret: origins, flags, ids).
func invalid(err error) error {
	if errors.Is(err, ErrInvalidCredential) {
		return err
	}
	var pe *protocol.Error
	if errors.As(err, &pe) {
		msg := pe.Details
		if pe.DevInfo != "" {
			msg += ": " + pe.DevInfo
		}
		return fmt.Errorf("%w: %s", ErrInvalidCredential, msg)
	}
	return fmt.Errorf("%w: %v", ErrInvalidCredential, err)
}

// BeginRegistration starts adding a passkey for user and returns the
// options for navigator.credentials.create as JSON, {"publicKey":{…}}
// (binary members base64url). A discoverable credential and user
// verification are preferred; the user's passkeys are excluded; the user
// handle is the user's id. ErrNoRPID when passkeys are off.
func (s *Service) BeginRegistration(ctx context.Context, user *authd.User) (options []byte, err error) {
	if s.wa == nil {
		return nil, ErrNoRPID
	}
	u, err := s.loadUser(ctx, user.ID, user.Email)
	if err != nil {
		return nil, err
	}
	exclude := make([]protocol.CredentialDescriptor, len(u.creds))
	for i, c := range u.creds {
		exclude[i] = c.Descriptor()
	}
	creation, session, err := s.wa.BeginRegistration(u,
		webauthn.WithExclusions(exclude),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementPreferred),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
	)
	if err != nil {
		return nil, fmt.Errorf("mfa: begin passkey registration: %w", err)
	}
	if err := s.putCeremony(ctx, purposeRegister, user.ID, session); err != nil {
		return nil, err
	}
	return json.Marshal(creation)
}

// FinishRegistration verifies the PublicKeyCredential JSON the browser
// returned for a BeginRegistration of user and stores the passkey under
// name (default "Passkey", at most 64 characters). When it is the user's
// first second factor it also returns 10 new recovery codes. A response
// that does not verify, or whose challenge is unknown, expired, spent or
// another's, is ErrInvalidCredential.
func (s *Service) FinishRegistration(ctx context.Context, user *authd.User, name string, credential []byte) (p *authd.Passkey, recoveryCodes []string, err error) {
	if s.wa == nil {
		return nil, nil, ErrNoRPID
	}
	parsed, err := protocol.ParseCredentialCreationResponseBody(bytes.NewReader(credential))
	if err != nil {
		return nil, nil, invalid(err)
	}
	c, err := s.takeCeremony(ctx, parsed.Response.CollectedClientData.Challenge, purposeRegister, user.ID)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.loadUser(ctx, user.ID, user.Email)
	if err != nil {
		return nil, nil, err
	}
	cred, err := s.wa.CreateCredential(u, c.Session, parsed)
	if err != nil {
		return nil, nil, invalid(err)
	}
	encoded, err := json.Marshal(cred)
	if err != nil {
		return nil, nil, fmt.Errorf("mfa: encode passkey: %w", err)
	}
	st, err := s.Status(ctx, user.ID)
	if err != nil {
		return nil, nil, err
	}
	now := s.cfg.Now()
	p = &authd.Passkey{
		ID:           authd.NewID(),
		UserID:       user.ID,
		Name:         passkeyName(name),
		CredentialID: cred.ID,
		Credential:   encoded,
		SignCount:    cred.Authenticator.SignCount,
		CreatedAt:    now,
	}
	if err := s.factors.AddPasskey(ctx, p); err != nil {
		if errors.Is(err, authd.ErrConflict) {
			return nil, nil, fmt.Errorf("%w: this passkey is already registered", ErrInvalidCredential)
		}
		return nil, nil, fmt.Errorf("mfa: add passkey: %w", err)
	}
	if !st.hasFactor() {
		if recoveryCodes, err = s.newRecoveryCodes(ctx, user.ID); err != nil {
			return nil, nil, err
		}
	}
	s.record(ctx, eventEnrolled, user.ID, "passkey "+p.ID)
	return p, recoveryCodes, nil
}

// passkeyName trims name, drops control characters, cuts it to 64
// characters and defaults it to "Passkey".
func passkeyName(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if r := []rune(name); len(r) > maxPasskeyName {
		name = strings.TrimSpace(string(r[:maxPasskeyName]))
	}
	if name == "" {
		return "Passkey"
	}
	return name
}

// BeginLogin returns the assertion options for navigator.credentials.get
// as JSON, {"publicKey":{…}}. With a user (the second step after a
// password) they allow the user's passkeys only (ErrNotEnrolled when there
// are none); with user nil they allow any discoverable credential ("Sign in
// with a passkey", autofill). ErrNoRPID when passkeys are off.
func (s *Service) BeginLogin(ctx context.Context, user *authd.User) ([]byte, error) {
	if s.wa == nil {
		return nil, ErrNoRPID
	}
	var (
		assertion *protocol.CredentialAssertion
		session   *webauthn.SessionData
		err       error
		purpose   = purposeDiscoverable
		userID    string
	)
	if user == nil {
		assertion, session, err = s.wa.BeginDiscoverableLogin()
	} else {
		purpose, userID = purposeLogin, user.ID
		var u *waUser
		if u, err = s.loadUser(ctx, user.ID, user.Email); err != nil {
			return nil, err
		}
		if len(u.creds) == 0 {
			return nil, ErrNotEnrolled
		}
		assertion, session, err = s.wa.BeginLogin(u)
	}
	if err != nil {
		return nil, fmt.Errorf("mfa: begin passkey login: %w", err)
	}
	if err := s.putCeremony(ctx, purpose, userID, session); err != nil {
		return nil, err
	}
	return json.Marshal(assertion)
}

// FinishLogin verifies the PublicKeyCredential JSON the browser returned
// for a BeginLogin with the same user (nil: a discoverable login, the user
// found from the credential and its user handle) and records the use of the
// passkey. A response that does not verify, or whose challenge is unknown,
// expired, spent or another's, is ErrInvalidCredential; a signature counter
// that did not go forward is ErrCounterRegressed (audited as
// passkey_counter_regressed). Failures are audited as mfa_failed.
func (s *Service) FinishLogin(ctx context.Context, user *authd.User, credential []byte) (Assertion, error) {
	if s.wa == nil {
		return Assertion{}, ErrNoRPID
	}
	userID := ""
	if user != nil {
		userID = user.ID
	}
	a, err := s.finishLogin(ctx, user, credential, &userID)
	switch {
	case err == nil:
		return a, nil
	case errors.Is(err, ErrCounterRegressed):
		s.record(ctx, eventCounterRegressed, userID, "passkey "+a.PasskeyID)
	case errors.Is(err, ErrInvalidCredential):
		s.record(ctx, eventFailed, userID, "passkey: "+strings.TrimPrefix(err.Error(), ErrInvalidCredential.Error()+": "))
	}
	return Assertion{}, err
}

// finishLogin is FinishLogin but for the audit; it sets *userID once the
// user is known. On ErrCounterRegressed the returned Assertion names the
// passkey.
func (s *Service) finishLogin(ctx context.Context, user *authd.User, credential []byte, userID *string) (Assertion, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBody(bytes.NewReader(credential))
	if err != nil {
		return Assertion{}, invalid(err)
	}
	var (
		u       *waUser
		purpose = purposeDiscoverable
	)
	if user != nil {
		purpose = purposeLogin
	}
	c, err := s.takeCeremony(ctx, parsed.Response.CollectedClientData.Challenge, purpose, *userID)
	if err != nil {
		return Assertion{}, err
	}
	if user != nil {
		if u, err = s.loadUser(ctx, user.ID, user.Email); err != nil {
			return Assertion{}, err
		}
		if _, err = s.wa.ValidateLogin(u, c.Session, parsed); err != nil {
			return Assertion{}, invalid(err)
		}
	} else {
		var loadErr error
		handler := func(rawID, userHandle []byte) (webauthn.User, error) {
			p, err := s.factors.PasskeyByCredentialID(ctx, rawID)
			if err != nil {
				if !errors.Is(err, authd.ErrNotFound) {
					loadErr = err
				}
				return nil, fmt.Errorf("unknown credential")
			}
			// NOTE: the user handle the authenticator returned must name
			// the passkey's owner (WebAuthn L3 §7.2 step 6).
			if string(userHandle) != p.UserID {
				return nil, fmt.Errorf("user handle does not match the credential's owner")
			}
			if u, err = s.loadUser(ctx, p.UserID, ""); err != nil {
				loadErr = err
				return nil, err
			}
			*userID = p.UserID
			return u, nil
		}
		_, err = s.wa.ValidateDiscoverableLogin(handler, c.Session, parsed)
		if loadErr != nil {
			return Assertion{}, fmt.Errorf("mfa: passkey login: %w", loadErr)
		}
		if err != nil {
			return Assertion{}, invalid(err)
		}
	}
	p := u.passkeyOf(parsed.RawID)
	if p == nil { // go-webauthn found it among u's credentials: cannot happen
		return Assertion{}, fmt.Errorf("%w: unknown credential", ErrInvalidCredential)
	}
	flags := parsed.Response.AuthenticatorData.Flags
	a := Assertion{UserID: u.id, PasskeyID: p.ID, UserVerified: flags.HasUserVerified()}
	// NOTE: the counter check is the store's compare-and-swap (above the
	// stored count, or both zero for authenticators without a counter):
	// a counter that did not go forward means two copies of the key may
	// exist, and the sign-in is refused (W3C WebAuthn L3 §7.2 step 22).
	ok, err := s.factors.UsePasskey(ctx, p.ID, parsed.Response.AuthenticatorData.Counter, s.cfg.Now())
	if errors.Is(err, authd.ErrNotFound) {
		return Assertion{}, fmt.Errorf("%w: the passkey was removed", ErrInvalidCredential)
	}
	if err != nil {
		return Assertion{}, fmt.Errorf("mfa: record passkey use: %w", err)
	}
	if !ok {
		return Assertion{PasskeyID: p.ID}, ErrCounterRegressed
	}
	return a, nil
}

// RenamePasskey sets the name of the user's passkey id (trimmed, at most
// 64 characters, default "Passkey"). authd.ErrNotFound when the user has no
// such passkey.
func (s *Service) RenamePasskey(ctx context.Context, userID, id, name string) error {
	if err := s.factors.RenamePasskey(ctx, userID, id, passkeyName(name)); err != nil {
		return fmt.Errorf("mfa: rename passkey: %w", err)
	}
	return nil
}

// RemovePasskey deletes the user's passkey id. authd.ErrNotFound when the
// user has no such passkey. Removing the last second factor also deletes
// the recovery codes.
func (s *Service) RemovePasskey(ctx context.Context, userID, id string) error {
	if err := s.factors.DeletePasskey(ctx, userID, id); err != nil {
		return fmt.Errorf("mfa: remove passkey: %w", err)
	}
	if err := s.dropOrphanRecoveryCodes(ctx, userID); err != nil {
		return err
	}
	s.record(ctx, eventRemoved, userID, "passkey "+id)
	return nil
}
