package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/authd/authd"
)

// problem is an RFC 9457 problem details body.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// writeProblem writes an RFC 9457 response. detail must be safe to show.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	writeProblemField(w, r, status, detail, "")
}

func writeProblemField(w http.ResponseWriter, r *http.Request, status int, detail, field string) {
	p := problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Field: field}
	if r != nil {
		p.RequestID = requestID(r.Context())
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// errorStatus is the one place where errors become HTTP statuses.
func errorStatus(err error) (int, string) {
	var inv *authd.InvalidError
	var thr *authd.ThrottledError
	switch {
	case errors.As(err, &inv):
		return http.StatusBadRequest, inv.Message
	case errors.As(err, &thr):
		return http.StatusTooManyRequests, "too many failed sign-in attempts; try again later"
	case errors.Is(err, authd.ErrInvalidLink):
		return http.StatusBadRequest, "this link is invalid, used or expired; ask for a new one"
	case errors.Is(err, authd.ErrEmailUnverified):
		return http.StatusForbidden, "verify your email address first: follow the link we mailed you (a new one is on its way)"
	case errors.Is(err, authd.ErrMailUnavailable):
		return http.StatusServiceUnavailable, "this server cannot send mail (its operator has not set --smtp), so this is not available"
	case errors.Is(err, authd.ErrInvalidCredentials):
		return http.StatusUnauthorized, "the email or password is wrong"
	case errors.Is(err, authd.ErrUnauthenticated):
		return http.StatusUnauthorized, "sign in first: no valid session or token came with the request"
	case errors.Is(err, authd.ErrForbidden):
		return http.StatusForbidden, "not allowed"
	case errors.Is(err, authd.ErrNotFound):
		return http.StatusNotFound, "not found"
	case errors.Is(err, authd.ErrConflict):
		return http.StatusConflict, "already exists"
	case errors.Is(err, authd.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "a store is unavailable; try again shortly"
	case errors.Is(err, context.Canceled):
		return 499, "request canceled"
	}
	return http.StatusInternalServerError, "internal error"
}

// fail answers err as a problem; unexpected errors are logged.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, detail := errorStatus(err)
	var thr *authd.ThrottledError
	if errors.As(err, &thr) {
		w.Header().Set("Retry-After", retryAfter(thr.RetryAfter))
	}
	field := ""
	var inv *authd.InvalidError
	if errors.As(err, &inv) {
		field = inv.Field
	}
	switch {
	case status == http.StatusServiceUnavailable:
		// An outage answers every request with 503; the stores log the
		// outage itself once, so each request is only a debug line.
		s.log.DebugContext(r.Context(), "request refused: store unavailable", "route", r.Pattern, "err", err)
	case status >= 500:
		s.log.ErrorContext(r.Context(), "request failed", "route", r.Pattern, "status", status, "err", err)
	case status == http.StatusForbidden:
		// The business rules wrap ErrForbidden with a reason meant for the user.
		if d, ok := strings.CutPrefix(err.Error(), authd.ErrForbidden.Error()+": "); ok {
			detail = d
		}
	}
	writeProblemField(w, r, status, detail, field)
}

func retryAfter(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(secs, 1), 10)
}
