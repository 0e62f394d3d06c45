package token

import (
	"errors"

	"github.com/authd/authd"
)

// InvalidTokenError is the error of every refused token. It wraps
// authd.ErrUnauthenticated (and the cause, when there is one: golang-jwt's
// error, or the structural parser's refusal).
// Reason is for logs only: never show it to a client (RFC 6750 §3.1 lets
// a server say only error="invalid_token").
type InvalidTokenError struct {
	Reason string
	Err    error // the underlying cause, if any
}

func (e *InvalidTokenError) Error() string {
	if e.Err != nil {
		return "token: invalid: " + e.Reason + ": " + e.Err.Error()
	}
	return "token: invalid: " + e.Reason
}

// Unwrap returns authd.ErrUnauthenticated and the cause.
func (e *InvalidTokenError) Unwrap() []error {
	if e.Err != nil {
		return []error{authd.ErrUnauthenticated, e.Err}
	}
	return []error{authd.ErrUnauthenticated}
}

func invalid(reason string) error { return &InvalidTokenError{Reason: reason} }

// isInvalidToken reports whether err is a refusal of the token (as opposed
// to a store failure).
func isInvalidToken(err error) bool {
	var e *InvalidTokenError
	return errors.As(err, &e)
}
