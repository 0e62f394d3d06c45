package account

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/mail"
)

// Actor names who makes an administrative change, for the audit log:
// "user:ID" (an admin signed in), "client:ID" (a client with the admin
// scope) or "cli" (the command line on the server).
type Actor string

// ActorCLI is the command line.
const ActorCLI Actor = "cli"

// UserActor and ClientActor name an admin user and an admin client.
func UserActor(id string) Actor   { return Actor("user:" + id) }
func ClientActor(id string) Actor { return Actor("client:" + id) }

// RoleAdmin is the role that may use the administration API and page.
const RoleAdmin = "admin"

// roleRE is what a role may look like: it travels in tokens, headers
// (X-Auth-Roles, comma-separated) and the audit log.
var roleRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)

// maxRoles bounds the roles of a user.
const maxRoles = 32

// CheckRoles refuses roles that are malformed or too many
// (*authd.InvalidError); it returns them without duplicates, in order.
func CheckRoles(roles []string) ([]string, error) {
	out := make([]string, 0, len(roles))
	for _, r := range roles {
		if !roleRE.MatchString(r) {
			return nil, authd.Invalidf("roles", "role %q: want 1 to 64 letters, digits, '_', '.', ':' or '-', starting with a letter or digit", r)
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if len(out) > maxRoles {
		return nil, authd.Invalidf("roles", "at most %d roles", maxRoles)
	}
	return out, nil
}

// RecordAdmin records an administrative change (of the user userID, ""
// for none) by actor.
func (s *Service) RecordAdmin(ctx context.Context, actor Actor, userID, what string, meta Meta) {
	s.Record(ctx, authd.AuditEvent{Event: authd.EventAdminAction, UserID: userID, IP: meta.IP, UserAgent: meta.UserAgent,
		Detail: string(actor) + ": " + what})
}

// SetRoles replaces the user's roles and ends every session and token
// family of the user: they carry the roles they were signed in with.
func (s *Service) SetRoles(ctx context.Context, userID string, roles []string, actor Actor, meta Meta) (*authd.User, error) {
	if s.dir == nil {
		return nil, fmt.Errorf("account: %w: no user directory", authd.ErrUnavailable)
	}
	roles, err := CheckRoles(roles)
	if err != nil {
		return nil, err
	}
	if err := s.dir.SetRoles(ctx, userID, roles, s.cfg.Now()); err != nil {
		return nil, fmt.Errorf("account: set roles: %w", err)
	}
	if err := s.revokeAll(ctx, userID, ""); err != nil {
		return nil, err
	}
	s.RecordAdmin(ctx, actor, userID, "roles set to ["+strings.Join(roles, " ")+"]", meta)
	return s.users.UserByID(ctx, userID)
}

// SetLocked locks or unlocks the user by id; locking ends every session
// and token family of the user.
func (s *Service) SetLocked(ctx context.Context, userID string, locked bool, actor Actor, meta Meta) error {
	if err := s.users.SetLocked(ctx, userID, locked, s.cfg.Now()); err != nil {
		return fmt.Errorf("account: lock: %w", err)
	}
	ev, what := authd.EventUserUnlocked, "unlocked"
	if locked {
		ev, what = authd.EventUserLocked, "locked"
		if err := s.revokeAll(ctx, userID, ""); err != nil {
			return err
		}
	}
	s.Record(ctx, authd.AuditEvent{Event: ev, UserID: userID, IP: meta.IP, UserAgent: meta.UserAgent, Detail: "by " + string(actor)})
	s.RecordAdmin(ctx, actor, userID, what, meta)
	return nil
}

// SetEmailByAdmin moves the user to email, unverified, and ends every
// session and token family of the user (they carry the old address).
// authd.ErrConflict when another user has it.
func (s *Service) SetEmailByAdmin(ctx context.Context, userID, email string, actor Actor, meta Meta) error {
	if s.dir == nil {
		return fmt.Errorf("account: %w: no user directory", authd.ErrUnavailable)
	}
	email = NormalizeEmail(email)
	if err := ValidateEmail(email); err != nil {
		return err
	}
	u, err := s.users.UserByID(ctx, userID)
	if err != nil {
		return fmt.Errorf("account: find user: %w", err)
	}
	if u.Email == email {
		// NOTE: the address the user keeps keeps its verification: a
		// verified address never goes back to unverified (httpapi
		// remembers verified pairs on that rule).
		return nil
	}
	if err := s.dir.SetEmail(ctx, userID, email, false, s.cfg.Now()); err != nil {
		return fmt.Errorf("account: set email: %w", err)
	}
	if err := s.revokeAll(ctx, userID, ""); err != nil {
		return err
	}
	s.Record(ctx, authd.AuditEvent{Event: authd.EventEmailChanged, UserID: userID, IP: meta.IP, UserAgent: meta.UserAgent, Detail: "by " + string(actor)})
	s.RecordAdmin(ctx, actor, userID, "email changed", meta)
	return nil
}

// EndSessions ends every session and token family of the user.
func (s *Service) EndSessions(ctx context.Context, userID string, actor Actor, meta Meta) error {
	if err := s.revokeAll(ctx, userID, ""); err != nil {
		return err
	}
	s.RecordAdmin(ctx, actor, userID, "every session and token family ended", meta)
	return nil
}

// Delete deletes the user and everything of theirs (Erase), for an
// administrator.
func (s *Service) Delete(ctx context.Context, userID string, actor Actor, meta Meta) error {
	if err := s.Erase(ctx, userID, "by "+string(actor), meta); err != nil {
		return err
	}
	s.RecordAdmin(ctx, actor, userID, "deleted", meta)
	return nil
}

// inviteTTL is how long an invitation's link works: longer than a
// recovery link, since nobody asked for it and it may wait a weekend.
const inviteTTL = 7 * 24 * time.Hour

// CreateByAdmin creates a user with roles. With a password it is set (the
// policy applies); without one the account gets an unusable random
// password and a link to set one is mailed (an invitation:
// authd.ErrMailUnavailable when this server cannot send mail).
func (s *Service) CreateByAdmin(ctx context.Context, email, pw string, roles []string, actor Actor, meta Meta) (*authd.User, error) {
	roles, err := CheckRoles(roles)
	if err != nil {
		return nil, err
	}
	if pw != "" {
		u, err := s.Create(ctx, email, pw, roles)
		if err != nil {
			return nil, err
		}
		s.RecordAdmin(ctx, actor, u.ID, "created", meta)
		return u, nil
	}
	if !s.CanMail() {
		return nil, authd.ErrMailUnavailable
	}
	email = NormalizeEmail(email)
	if err := ValidateEmail(email); err != nil {
		return nil, err
	}
	// NOTE: the invited user's password is 256 random bits nobody knows,
	// hashed like any other, so the account exists and signs in with
	// nothing until the link is used.
	b := make([]byte, 32)
	rand.Read(b)
	hash, err := s.hasher.Hash(ctx, base64.RawURLEncoding.EncodeToString(b))
	if err != nil {
		return nil, fmt.Errorf("account: hash password: %w", err)
	}
	now := s.cfg.Now()
	u := &authd.User{ID: authd.NewID(), Email: email, PasswordHash: hash, Roles: roles, CreatedAt: now, UpdatedAt: now}
	l, mails, err := s.newLink(u, authd.LinkRecover, email, mail.KindInvite, inviteTTL)
	if err != nil {
		return nil, err
	}
	if err := s.mail.links.CreateUserWithLink(ctx, u, l, mails); err != nil {
		return nil, fmt.Errorf("account: create user: %w", err)
	}
	s.wake()
	s.RecordAdmin(ctx, actor, u.ID, "invited", meta)
	return u, nil
}

// UserByID returns the user, or authd.ErrNotFound.
func (s *Service) UserByID(ctx context.Context, id string) (*authd.User, error) {
	u, err := s.users.UserByID(ctx, id)
	if err != nil && !errors.Is(err, authd.ErrNotFound) {
		return nil, fmt.Errorf("account: find user: %w", err)
	}
	return u, err
}
