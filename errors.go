package authd

import (
	"errors"
	"fmt"
	"time"
)

// Store-level sentinels. Every store maps its driver's errors onto these by
// error code (never by message text) and wraps everything else.
var (
	// ErrNotFound: the thing asked for does not exist (or, where a method
	// says so, is expired or revoked).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique value (email, id, hash) is already taken.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the store cannot be reached or did not answer in time.
	// Callers fail closed: nothing is accepted that could not be checked.
	ErrUnavailable = errors.New("store unavailable")
)

// Errors of the business rules, mapped to HTTP statuses in one place (httpapi).
var (
	// ErrInvalidCredentials: unknown email, wrong password or locked account.
	// NOTE: one error for all three, so that no response tells them apart.
	ErrInvalidCredentials = errors.New("invalid email or password")
	// ErrUnauthenticated: no credential, or one that is malformed, unknown,
	// expired or revoked.
	ErrUnauthenticated = errors.New("not authenticated")
	// ErrForbidden: authenticated, but not allowed (wrong current password, signup closed).
	ErrForbidden = errors.New("forbidden")
	// ErrInvalidGrant: a refresh token that is unknown, expired, spent or revoked.
	ErrInvalidGrant = errors.New("invalid grant")
	// ErrInvalidLink: a mailed link's token that is malformed, unknown,
	// spent, expired or of another purpose. NOTE: one error for all, so
	// that no answer tells them apart (SECURITY.md E1).
	ErrInvalidLink = errors.New("this link is invalid, used or expired")
	// ErrEmailUnverified: the right password, but the address must be
	// verified first (--email-verification required).
	ErrEmailUnverified = errors.New("email address not verified")
	// ErrMailUnavailable: the request exists to send mail, and this server
	// has no way to send it (no --smtp, not --dev).
	ErrMailUnavailable = errors.New("this server cannot send mail")
)

// ThrottledError is returned while login attempts for an account or a client
// IP are throttled.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins; retry after %s", e.RetryAfter.Round(time.Second))
}

// InvalidError is a request that breaks a rule the caller can fix: a weak
// password, a malformed email. Message is safe to show to the user; Field
// names the input at fault, when there is one.
type InvalidError struct {
	Field   string
	Message string
}

func (e *InvalidError) Error() string { return e.Message }

// Invalidf returns an *InvalidError for field.
func Invalidf(field, format string, args ...any) error {
	return &InvalidError{Field: field, Message: fmt.Sprintf(format, args...)}
}
