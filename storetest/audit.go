package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/authd/authd"
)

// AuditTable reads back every event an AuditLog recorded, oldest first,
// from where the store keeps them. RunAuditLog checks what was kept
// through it rather than through authd.AuditReader, so that a SQL store's
// test can read its audit_events table directly, by the column names
// API.md publishes, and a log without a reader can run the suite.
type AuditTable func(ctx context.Context) ([]authd.AuditEvent, error)

// RunAuditLog runs the AuditLog contract against logs made by newLog, which
// must return a fresh, empty log and a reader of it each time it is called.
func RunAuditLog(t *testing.T, newLog func(t *testing.T) (authd.AuditLog, AuditTable)) {
	t.Helper()
	as := auditSuite{newLog}
	t.Run("RecordEvent appends the event with every field", as.recordAppendsEveryField)
	t.Run("RecordEvent appends in order and never merges", as.recordAppendsInOrder)
	t.Run("RecordEvent never fails because of the event's content", as.recordAcceptsAnyContent)
	t.Run("honours ctx cancellation", as.honoursCancellation)
}

// auditSuite is what RunAuditLog's subtests share: the constructor of fresh
// logs, and the helpers over a log as methods.
type auditSuite struct {
	newLog func(t *testing.T) (authd.AuditLog, AuditTable)
}

// newEvent returns an event named name at at, every field set.
func newEvent(name string, at time.Time) authd.AuditEvent {
	return authd.AuditEvent{
		At:        at,
		Event:     name,
		UserID:    NewID("user"),
		SessionID: NewID("sess"),
		IP:        "198.51.100.23",
		UserAgent: "curl/8.5.0",
		Detail:    "storetest " + NewID("detail"),
	}
}

func (auditSuite) read(t *testing.T, r AuditTable) []authd.AuditEvent {
	t.Helper()
	es, err := r(t.Context())
	mustOK(t, err, "reading the audit log back")
	return es
}

func (as auditSuite) recordAppendsEveryField(t *testing.T) {
	l, r := as.newLog(t)
	e := newEvent(authd.EventLoginSucceeded, Now())
	mustOK(t, l.RecordEvent(t.Context(), e), "RecordEvent")
	got := as.read(t, r)
	if len(got) != 1 {
		t.Fatalf("%d events recorded, want 1", len(got))
	}
	checkEvent(t, "recorded event", e, got[0])
}

func (as auditSuite) recordAppendsInOrder(t *testing.T) {
	l, r := as.newLog(t)
	t0 := Now()
	names := []string{
		authd.EventLoginFailed, authd.EventLoginFailed, authd.EventLoginSucceeded,
		authd.EventRefreshRotated, authd.EventRefreshReuseDetected, authd.EventTokenRevoked,
		authd.EventSessionRevoked, authd.EventPasswordChanged, authd.EventUserLocked,
		authd.EventUserUnlocked, authd.EventLogout,
	}
	var want []authd.AuditEvent
	for i, n := range names {
		// The same time for all: order is the order of recording.
		e := newEvent(n, t0)
		if i == 1 {
			e = want[0] // an identical event is a second entry
		}
		want = append(want, e)
		mustOK(t, l.RecordEvent(t.Context(), e), "RecordEvent "+n)
	}
	got := as.read(t, r)
	if len(got) != len(want) {
		t.Fatalf("%d events recorded, want %d", len(got), len(want))
	}
	for i := range want {
		checkEvent(t, fmt.Sprintf("event %d", i), want[i], got[i])
	}
}

func (as auditSuite) recordAcceptsAnyContent(t *testing.T) {
	l, r := as.newLog(t)
	t0 := Now()
	long := strings.Repeat("x", 64<<10)
	cases := []authd.AuditEvent{
		{},                      // nothing at all
		{Event: "login_failed"}, // no user, session, IP
		{At: t0, Event: "unknown_event_name", Detail: long, UserAgent: long},
		{At: t0, Event: authd.EventLoginFailed, UserID: "'; DROP TABLE audit_events; --", Detail: `"quoted" \ back\slash`},
		{At: t0, Event: authd.EventLoginFailed, UserAgent: "Ünïcödé 🙂 ユーザー", Detail: "line\nbreak\ttab"},
		{At: t0, Event: authd.EventLoginFailed, UserAgent: "nul\x00byte", Detail: "bad utf-8 \xff\xfe"},
		{At: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), Event: authd.EventLogout},
	}
	for i, e := range cases {
		mustOK(t, l.RecordEvent(t.Context(), e), fmt.Sprintf("RecordEvent of case %d", i))
	}
	got := as.read(t, r)
	if len(got) != len(cases) {
		t.Fatalf("%d events recorded, want %d", len(got), len(cases))
	}
	for i, e := range cases {
		if e.At.IsZero() || !clean(e) {
			// A store may stamp a missing time and may have to replace
			// what its database cannot hold (NUL, invalid UTF-8).
			continue
		}
		checkEvent(t, fmt.Sprintf("case %d", i), e, got[i])
	}
}

func (as auditSuite) honoursCancellation(t *testing.T) {
	l, r := as.newLog(t)
	wantCanceled(t, l.RecordEvent(cancelled(t), newEvent(authd.EventLogout, Now())), "RecordEvent")
	if got := as.read(t, r); len(got) != 0 {
		t.Fatalf("%d events recorded with a cancelled context, want 0", len(got))
	}
}

// clean reports whether every string of e is valid UTF-8 without NUL, which
// every store keeps exactly.
func clean(e authd.AuditEvent) bool {
	for _, s := range []string{e.Event, e.UserID, e.SessionID, e.IP, e.UserAgent, e.Detail} {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return false
		}
	}
	return true
}
