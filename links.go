package authd

import (
	"context"
	"time"
)

// Link purposes: what a mailed link may do. A link does one thing only
// (SECURITY.md E1): a verification link never resets a password.
const (
	// LinkVerifyEmail confirms that the user owns their current address.
	LinkVerifyEmail = "verify_email"
	// LinkChangeEmail moves the user to the address the link was sent to.
	LinkChangeEmail = "change_email"
	// LinkRecover lets the user set a new password without the old one.
	LinkRecover = "recover"
)

// Link is a mailed single-use link as the store keeps it.
//
// NOTE: the token in the link is never stored; Hash is its SHA-256, so a
// leaked database opens no account (SECURITY.md E1).
type Link struct {
	Hash    []byte
	Purpose string // LinkVerifyEmail, LinkChangeEmail or LinkRecover
	UserID  string
	// Email is the address the link was sent to: for LinkChangeEmail the
	// new address, otherwise the user's address at the time.
	Email     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// OutboxMail is the OutboxMessage kind of a mail; Target is the address.
const OutboxMail = "mail"

// Audit events of mail links, account deletion and administration.
const (
	EventRecoveryRequested = "recovery_requested"
	EventPasswordReset     = "password_reset"
	EventEmailVerified     = "email_verified"
	EventEmailChanged      = "email_changed"
	EventAccountDeleted    = "account_deleted"
	EventAdminAction       = "admin_action"
)

// LinkStore keeps mailed links by the SHA-256 of their token, and writes
// them together with the mails that carry them, so that no link exists
// without its mail and no mail without its link.
type LinkStore interface {
	// IssueLink, in one transaction, deletes every link of l.UserID with
	// l.Purpose, inserts l, and enqueues each of mails as Outbox.Enqueue
	// would. Returns ErrConflict when l.Hash or a mail's ID exists; then
	// nothing is written.
	IssueLink(ctx context.Context, l *Link, mails []*OutboxMessage) error
	// CreateUserWithLink is UserStore.CreateUser(u) and IssueLink(l,
	// mails) in one transaction. Returns ErrConflict when u's id or email
	// is taken, or as IssueLink; then nothing is written.
	CreateUserWithLink(ctx context.Context, u *User, l *Link, mails []*OutboxMessage) error
	// TakeLink deletes and returns the link whose Hash is hash, when its
	// Purpose is one of purposes and its ExpiresAt is after now,
	// atomically: of n concurrent calls at most one gets it. Otherwise it
	// returns ErrNotFound and changes nothing (a link of another purpose
	// stays usable for its own).
	TakeLink(ctx context.Context, hash []byte, purposes []string, now time.Time) (*Link, error)
	// DeleteLinksBefore deletes the links whose ExpiresAt is before t and
	// returns how many it deleted.
	DeleteLinksBefore(ctx context.Context, t time.Time) (int, error)
}

// UserQuery selects a page of users, ordered by id.
type UserQuery struct {
	// Query, when not empty, keeps the users whose email contains it,
	// compared case-insensitively (emails are stored lower-cased).
	Query string
	// Limit is the most users returned, 1 to 1000.
	Limit int
	// Cursor is "" for the first page, else the next cursor of the page
	// before. Opaque; a malformed one is an *InvalidError.
	Cursor string
}

// AuditQuery selects a page of audit events, newest first.
type AuditQuery struct {
	UserID string    // "" for every user
	Event  string    // "" for every event
	Since  time.Time // zero for no bound; else events at or after it
	// Limit is the most events returned, 1 to 1000.
	Limit int
	// Cursor is "" for the first page, else the next cursor of the page
	// before. Opaque; a malformed one is an *InvalidError.
	Cursor string
}

// UserDirectory is what the account and administration rules need of the
// users' database beyond UserStore: listing, changing the address, and
// deleting everything of a user.
type UserDirectory interface {
	// SetEmail sets the user's Email, EmailVerified and UpdatedAt. Returns
	// ErrNotFound for an unknown id and ErrConflict when another user has
	// email. Idempotent.
	SetEmail(ctx context.Context, id, email string, verified bool, at time.Time) error
	// SetRoles replaces the user's Roles (in their order; nil and empty
	// are the same) and UpdatedAt. Returns ErrNotFound for an unknown id.
	// Idempotent.
	SetRoles(ctx context.Context, id string, roles []string, at time.Time) error
	// ListUsers returns the page of users q selects, ordered by id, and
	// the cursor of the next page ("" when this page is the last). Users
	// that exist for a whole paging, from the first page to the last, are
	// each returned exactly once, whatever is inserted or deleted
	// meanwhile. A non-nil empty slice when none.
	ListUsers(ctx context.Context, q UserQuery) ([]*User, string, error)
	// DeleteUser deletes the user and, in the same transaction, every
	// record of theirs this database keeps: sessions, refresh families and
	// their tokens, second factors, consents, authorization codes, session
	// client records, links, identities at upstream providers, and outbox
	// messages of kind OutboxMail for the user. Audit events stay (they name the user by id only).
	// Returns ErrNotFound for an unknown id.
	DeleteUser(ctx context.Context, id string) error
}

// AuditReader reads the audit log.
type AuditReader interface {
	// ListEvents returns the page of events q selects, newest first (in
	// the order they were recorded), and the cursor of the next page (""
	// when this page is the last). Events recorded during a paging never
	// appear in its later pages, and none recorded before it is skipped or
	// repeated. A non-nil empty slice when none.
	ListEvents(ctx context.Context, q AuditQuery) ([]AuditEvent, string, error)
}
