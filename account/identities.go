package account

import (
	"context"
	"errors"
	"fmt"

	"github.com/authd/authd"
)

// Refusals of a sign-in through an upstream provider.
var (
	// ErrLinkFirst: the provider's address belongs to an account, and the
	// provider is not trusted to have verified it: the user must sign in
	// to that account another way, then link.
	ErrLinkFirst = errors.New("an account with this email address exists: sign in to it first, then link this provider from your account page")
	// ErrIdentityTaken: the identity is linked to another account.
	ErrIdentityTaken = errors.New("this account at the provider is linked to another authd account")
	// ErrNoEmail: the provider said no address, and there is no account to
	// sign in to without one.
	ErrNoEmail = errors.New("the provider did not tell your email address, which a new account needs")
	// ErrLastSignIn: unlinking would leave the user no way to sign in.
	ErrLastSignIn = errors.New("this is your only way to sign in: set a password (Forgot password?) or add a passkey first")
)

// UpstreamClaims is what an upstream provider's verified ID token said of
// the user.
type UpstreamClaims struct {
	Subject       string
	Email         string
	EmailVerified bool
}

// UseIdentities turns on sign-in through upstream providers. signup says
// whether a new identity may create an account (--signup).
func (s *Service) UseIdentities(st authd.IdentityStore, signup bool) {
	s.identities, s.upstreamSignup = st, signup
}

// SignInUpstream finds or makes the user of an identity at up, or links it
// to linkUserID (a signed-in user linking it to their own account), and
// returns the user to sign in. The rules (SECURITY.md F2):
//
//   - an identity is (upstream, subject), never the email: a linked
//     identity signs its user in;
//   - linking: a signed-in user links an identity that is no other
//     user's (ErrIdentityTaken otherwise);
//   - a new identity whose address belongs to no user creates one (with
//     --signup), without a password, its address verified only when up
//     is trusted (TrustEmail) and said so;
//   - a new identity whose address belongs to a user is linked to them
//     only when up is trusted and said the address is verified;
//     otherwise ErrLinkFirst.
//
// NOTE: linking by an address the provider did not vouch for is how
// accounts are taken over (Kratos #3439): anyone can open an account at
// some provider with someone else's address.
func (s *Service) SignInUpstream(ctx context.Context, up *authd.Upstream, c UpstreamClaims, linkUserID string, meta Meta) (*authd.User, error) {
	if s.identities == nil {
		return nil, fmt.Errorf("account: %w: upstream sign-in is not configured", authd.ErrUnavailable)
	}
	id, err := s.identities.IdentityBySubject(ctx, up.ID, c.Subject)
	switch {
	case err == nil && linkUserID != "" && id.UserID != linkUserID:
		return nil, ErrIdentityTaken
	case err == nil:
		return s.signInUser(ctx, id.UserID)
	case !errors.Is(err, authd.ErrNotFound):
		return nil, fmt.Errorf("account: find identity: %w", err)
	}
	email := NormalizeEmail(c.Email)
	trusted := up.TrustEmail && c.EmailVerified && ValidateEmail(email) == nil
	now := s.cfg.Now()
	ident := &authd.Identity{UpstreamID: up.ID, Subject: c.Subject, Email: email, LinkedAt: now}
	if linkUserID != "" {
		return s.link(ctx, ident, linkUserID, "linked by the signed-in user", meta)
	}
	if ValidateEmail(email) != nil {
		return nil, ErrNoEmail
	}
	u, err := s.users.UserByEmail(ctx, email)
	switch {
	case err == nil && trusted:
		return s.link(ctx, ident, u.ID, "linked by a verified address the provider is trusted with", meta)
	case err == nil:
		return nil, ErrLinkFirst
	case !errors.Is(err, authd.ErrNotFound):
		return nil, fmt.Errorf("account: find user: %w", err)
	}
	if !s.upstreamSignup {
		return nil, fmt.Errorf("%w: sign-up is closed on this server; ask an administrator for an account", authd.ErrForbidden)
	}
	// NOTE: no password: the account signs in through the provider (or a
	// passkey, or a password set later through recovery) until the user
	// sets one; Authenticate refuses an empty hash like a wrong password.
	u = &authd.User{ID: authd.NewID(), Email: email, Roles: []string{}, EmailVerified: trusted, CreatedAt: now, UpdatedAt: now}
	ident.UserID = u.ID
	if err := s.identities.CreateUserWithIdentity(ctx, u, ident); err != nil {
		if errors.Is(err, authd.ErrConflict) {
			// The address or the identity was taken meanwhile: try again
			// from the start, which now finds it.
			return nil, fmt.Errorf("account: %w: the account was created meanwhile; try again", authd.ErrConflict)
		}
		return nil, fmt.Errorf("account: create user: %w", err)
	}
	s.Record(ctx, authd.AuditEvent{Event: authd.EventIdentityLinked, UserID: u.ID, IP: meta.IP, UserAgent: meta.UserAgent,
		Detail: "upstream " + up.ID + "; new account"})
	return u, s.CheckVerified(ctx, u)
}

// link links ident to the user userID and returns them for sign-in.
func (s *Service) link(ctx context.Context, ident *authd.Identity, userID, why string, meta Meta) (*authd.User, error) {
	ident.UserID = userID
	if err := s.identities.LinkIdentity(ctx, ident); err != nil {
		if errors.Is(err, authd.ErrConflict) {
			return nil, fmt.Errorf("%w: the account already has another identity at this provider, or this one is linked elsewhere", ErrIdentityTaken)
		}
		return nil, fmt.Errorf("account: link identity: %w", err)
	}
	s.Record(ctx, authd.AuditEvent{Event: authd.EventIdentityLinked, UserID: userID, IP: meta.IP, UserAgent: meta.UserAgent,
		Detail: "upstream " + ident.UpstreamID + "; " + why})
	return s.signInUser(ctx, userID)
}

// signInUser returns the user of an upstream sign-in, unless locked (then
// authd.ErrInvalidCredentials) or unverified under --email-verification
// required.
func (s *Service) signInUser(ctx context.Context, userID string) (*authd.User, error) {
	u, err := s.users.UserByID(ctx, userID)
	if errors.Is(err, authd.ErrNotFound) {
		return nil, authd.ErrInvalidCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("account: find user: %w", err)
	}
	if u.Locked {
		return nil, authd.ErrInvalidCredentials
	}
	return u, s.CheckVerified(ctx, u)
}

// Identities lists the user's linked identities.
func (s *Service) Identities(ctx context.Context, userID string) ([]*authd.Identity, error) {
	if s.identities == nil {
		return []*authd.Identity{}, nil
	}
	l, err := s.identities.ListIdentities(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("account: list identities: %w", err)
	}
	return l, nil
}

// Unlink removes the user's identity at upstreamID, unless it is their
// only way to sign in (ErrLastSignIn): they have no password, no other
// identity and no passkey (hasPasskey). authd.ErrNotFound when there is no
// such identity.
func (s *Service) Unlink(ctx context.Context, userID, upstreamID string, hasPasskey bool, meta Meta) error {
	u, err := s.userByID(ctx, userID)
	if err != nil {
		return err
	}
	ids, err := s.Identities(ctx, userID)
	if err != nil {
		return err
	}
	found := false
	for _, i := range ids {
		found = found || i.UpstreamID == upstreamID
	}
	if !found {
		return authd.ErrNotFound
	}
	if u.PasswordHash == "" && len(ids) < 2 && !hasPasskey {
		return ErrLastSignIn
	}
	if err := s.identities.UnlinkIdentity(ctx, userID, upstreamID); err != nil {
		return fmt.Errorf("account: unlink identity: %w", err)
	}
	s.Record(ctx, authd.AuditEvent{Event: authd.EventIdentityUnlinked, UserID: userID, IP: meta.IP, UserAgent: meta.UserAgent,
		Detail: "upstream " + upstreamID})
	return nil
}
