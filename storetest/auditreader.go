package storetest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
)

// AuditBackend is what RunAuditReader needs of a store: the log to record
// events in, and its reader.
type AuditBackend interface {
	authd.AuditLog
	authd.AuditReader
}

// RunAuditReader runs the AuditReader contract against stores made by
// newStore, which must return a fresh, empty store each time it is called.
func RunAuditReader(t *testing.T, newStore func(t *testing.T) AuditBackend) {
	t.Helper()
	ar := auditReaderSuite{newStore}
	t.Run("ListEvents returns the events newest first, in the order they were recorded, with every field", ar.newestFirst)
	t.Run("ListEvents keeps the events of UserID, of Event and at or after Since", ar.filters)
	t.Run("ListEvents pages by Limit and the next cursor, empty on the last page", ar.pages)
	t.Run("ListEvents paging skips and repeats no earlier event and shows none recorded during it", ar.pagingWhileRecording)
	t.Run("ListEvents returns an empty slice when none", ar.empty)
	t.Run("ListEvents refuses a malformed cursor with *authd.InvalidError", ar.malformedCursor)
	t.Run("ListEvents refuses a Limit outside 1 to 1000 with *authd.InvalidError", ar.badLimit)
	t.Run("honours ctx cancellation", ar.honoursCancellation)
}

// auditReaderSuite is what RunAuditReader's subtests share: the
// constructor of fresh stores, and the helpers over a store as methods.
type auditReaderSuite struct {
	newStore func(t *testing.T) AuditBackend
}

func (auditReaderSuite) record(t *testing.T, s authd.AuditLog, es ...authd.AuditEvent) {
	t.Helper()
	for _, e := range es {
		mustOK(t, s.RecordEvent(t.Context(), e), "RecordEvent "+e.Event)
	}
}

func (auditReaderSuite) list(t *testing.T, s authd.AuditReader, q authd.AuditQuery) ([]authd.AuditEvent, string) {
	t.Helper()
	es, next, err := s.ListEvents(t.Context(), q)
	mustOK(t, err, "ListEvents")
	if es == nil {
		t.Fatal("ListEvents returned a nil slice, want a non-nil one")
	}
	if len(es) > q.Limit {
		t.Fatalf("ListEvents returned %d events, over the limit %d", len(es), q.Limit)
	}
	return es, next
}

// all pages through q from its cursor to the last page.
func (ar auditReaderSuite) all(t *testing.T, s authd.AuditReader, q authd.AuditQuery) []authd.AuditEvent {
	t.Helper()
	var out []authd.AuditEvent
	for range 10000 {
		es, next := ar.list(t, s, q)
		out = append(out, es...)
		if next == "" {
			return out
		}
		q.Cursor = next
	}
	t.Fatal("ListEvents never returned an empty next cursor")
	return nil
}

// details names events by their Detail, which the suite makes unique.
func details(es []authd.AuditEvent) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Detail)
	}
	return out
}

// wantEvents fails t unless got is want, in order, every field equal.
func wantEvents(t *testing.T, what string, want, got []authd.AuditEvent) {
	t.Helper()
	if !slices.Equal(details(want), details(got)) {
		t.Fatalf("%s: got %q, want %q", what, details(got), details(want))
	}
	for i := range want {
		checkEvent(t, fmt.Sprintf("%s: event %d", what, i), want[i], got[i])
	}
}

// newestFirst returns es reversed: the order ListEvents returns them in
// when they were recorded in es's order.
func newestFirst(es []authd.AuditEvent) []authd.AuditEvent {
	out := slices.Clone(es)
	slices.Reverse(out)
	return out
}

func (ar auditReaderSuite) newestFirst(t *testing.T) {
	s := ar.newStore(t)
	t0 := Now()
	var es []authd.AuditEvent
	// The same time for some and earlier times recorded later: the order
	// is the order of recording, not of At.
	for _, at := range []time.Time{t0, t0, t0.Add(-time.Hour), t0.Add(time.Second), t0.Add(-24 * time.Hour), t0} {
		e := newEvent(authd.EventLoginSucceeded, at)
		es = append(es, e)
		ar.record(t, s, e)
	}
	plain := authd.AuditEvent{At: t0, Event: authd.EventLoginFailed, Detail: NewID("detail")} // empty fields read back empty
	es = append(es, plain)
	ar.record(t, s, plain)
	got, next := ar.list(t, s, authd.AuditQuery{Limit: 1000})
	if next != "" {
		t.Fatalf("ListEvents of every event returned the next cursor %q, want \"\"", next)
	}
	wantEvents(t, "ListEvents", newestFirst(es), got)
}

// matches reports whether q's filters keep e.
func matches(q authd.AuditQuery, e authd.AuditEvent) bool {
	return (q.UserID == "" || e.UserID == q.UserID) && (q.Event == "" || e.Event == q.Event) &&
		(q.Since.IsZero() || !e.At.Before(q.Since))
}

func (ar auditReaderSuite) filters(t *testing.T) {
	s := ar.newStore(t)
	t0 := Now()
	alice, bob := NewID("alice"), NewID("bob")
	ev := func(name, user string, at time.Time) authd.AuditEvent {
		e := newEvent(name, at)
		e.UserID = user
		return e
	}
	es := []authd.AuditEvent{
		ev(authd.EventLoginFailed, alice, t0.Add(-time.Hour)),
		ev(authd.EventLoginFailed, "", t0.Add(-2*time.Hour)),
		ev(authd.EventLoginSucceeded, alice, t0),
		ev(authd.EventLoginFailed, bob, t0),
		ev(authd.EventLogout, alice, t0.Add(time.Microsecond)),
		ev(authd.EventLoginFailed, alice, t0.Add(-time.Microsecond)),
		ev(authd.EventAccountDeleted, bob, t0.Add(time.Hour)),
	}
	ar.record(t, s, es...)
	for _, q := range []authd.AuditQuery{
		{UserID: alice},
		{UserID: bob},
		{UserID: NewID("nobody")},
		{Event: authd.EventLoginFailed},
		{Event: authd.EventLogout},
		{UserID: alice, Event: authd.EventLoginFailed},
		{Since: t0}, // at t0 is kept: at or after
		{Since: t0.Add(time.Microsecond)},
		{UserID: alice, Since: t0},
		{Event: authd.EventLoginFailed, Since: t0.Add(-time.Hour)},
		{UserID: alice, Event: authd.EventLoginFailed, Since: t0.Add(-time.Hour)},
	} {
		var want []authd.AuditEvent
		for _, e := range newestFirst(es) {
			if matches(q, e) {
				want = append(want, e)
			}
		}
		for _, limit := range []int{1000, 1} {
			q.Limit = limit
			got := ar.all(t, s, q)
			wantEvents(t, fmt.Sprintf("ListEvents(UserID %q, Event %q, Since %s, Limit %d)", q.UserID, q.Event, fmtTime(q.Since), q.Limit), want, got)
		}
	}
}

func (ar auditReaderSuite) pages(t *testing.T) {
	s := ar.newStore(t)
	t0 := Now()
	var es []authd.AuditEvent
	for i := range 7 {
		e := newEvent(authd.EventLoginFailed, t0.Add(time.Duration(i)*time.Second))
		es = append(es, e)
		ar.record(t, s, e)
	}
	want := newestFirst(es)
	q := authd.AuditQuery{Limit: 3}
	for i, size := range []int{3, 3, 1} {
		got, next := ar.list(t, s, q)
		wantEvents(t, fmt.Sprintf("page %d", i), want[:size], got)
		want = want[size:]
		if last := i == 2; last != (next == "") {
			t.Fatalf("page %d of 3: next cursor %q", i, next)
		}
		q.Cursor = next
	}
	// Reading: "" on the page that holds the last event, also when it is
	// full; a caller never asks for an empty page.
	got, next := ar.list(t, s, authd.AuditQuery{Limit: 7})
	if len(got) != 7 || next != "" {
		t.Fatalf("ListEvents with Limit 7 of 7 events: %d events, next cursor %q; want 7 and \"\"", len(got), next)
	}
	got, next = ar.list(t, s, authd.AuditQuery{Limit: 1})
	if len(got) != 1 || next == "" {
		t.Fatalf("ListEvents with Limit 1: %d events, next cursor %q; want 1 and a cursor", len(got), next)
	}
}

func (ar auditReaderSuite) pagingWhileRecording(t *testing.T) {
	s := ar.newStore(t)
	t0 := Now()
	user := NewID("user")
	var before []authd.AuditEvent
	for i := range 40 {
		e := newEvent(authd.EventLoginFailed, t0.Add(time.Duration(i%5)*time.Second))
		if i%2 == 0 {
			e.UserID = user
		}
		before = append(before, e)
		ar.record(t, s, e)
	}
	queries := []authd.AuditQuery{{Limit: 3}, {UserID: user, Limit: 2}}
	firsts := make([][]authd.AuditEvent, len(queries))
	for i, q := range queries {
		firsts[i], queries[i].Cursor = ar.list(t, s, q)
	}
	// From here on events are recorded while the pagings go on: none of
	// them may appear in the later pages.
	stop := make(chan struct{})
	var recorders sync.WaitGroup
	recErrs := make([]error, 4)
	for i := range recErrs {
		recorders.Go(func() {
			for range 200 {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Microsecond):
				}
				e := newEvent(authd.EventLoginSucceeded, t0.Add(time.Hour))
				e.UserID, e.Detail = user, "during "+e.Detail
				if err := s.RecordEvent(t.Context(), e); err != nil {
					recErrs[i] = err
					return
				}
			}
		})
	}
	rests := make([][]authd.AuditEvent, len(queries))
	errs := make([]error, len(queries))
	var pagers sync.WaitGroup
	for i, q := range queries {
		pagers.Go(func() {
			for q.Cursor != "" {
				es, next, err := s.ListEvents(t.Context(), q)
				if err != nil {
					errs[i] = err
					return
				}
				rests[i] = append(rests[i], es...)
				q.Cursor = next
				time.Sleep(time.Millisecond) // let the recorders in between pages
			}
		})
	}
	pagers.Wait()
	close(stop)
	recorders.Wait()
	for i, err := range recErrs {
		mustOK(t, err, fmt.Sprintf("recorder %d", i))
	}
	for i, q := range queries {
		mustOK(t, errs[i], "ListEvents while recording")
		var want []authd.AuditEvent
		for _, e := range newestFirst(before) {
			if matches(q, e) {
				want = append(want, e)
			}
		}
		for _, e := range rests[i] {
			if strings.HasPrefix(e.Detail, "during ") {
				t.Fatalf("paging %d: a later page holds %q, recorded after the first page was read", i, e.Detail)
			}
		}
		wantEvents(t, fmt.Sprintf("paging %d (UserID %q), every page", i, q.UserID), want, append(firsts[i], rests[i]...))
	}
}

func (ar auditReaderSuite) empty(t *testing.T) {
	s := ar.newStore(t)
	got, next := ar.list(t, s, authd.AuditQuery{Limit: 10})
	if len(got) != 0 || next != "" {
		t.Fatalf("ListEvents of an empty log: %d events, next cursor %q", len(got), next)
	}
	ar.record(t, s, newEvent(authd.EventLogout, Now()))
	got, next = ar.list(t, s, authd.AuditQuery{Event: authd.EventLoginFailed, Limit: 10})
	if len(got) != 0 || next != "" {
		t.Fatalf("ListEvents that keeps none: %d events, next cursor %q", len(got), next)
	}
}

// wantInvalid fails t unless err is an *authd.InvalidError.
func wantInvalid(t *testing.T, err error, what string) {
	t.Helper()
	var inv *authd.InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("%s: got error %v, want an *authd.InvalidError", what, err)
	}
}

// malformedCursors returns strings no store writes as a cursor, made
// around good, a cursor it wrote.
func malformedCursors(good string) []string {
	return []string{
		"not a cursor!",
		"\x00",
		"\xff\xfe",
		" " + good,
		good + " ",
		good + "\n",
		good + "!",
		"!" + good,
		strings.Repeat("9", 4096),
	}
}

func (ar auditReaderSuite) malformedCursor(t *testing.T) {
	s := ar.newStore(t)
	for range 3 {
		ar.record(t, s, newEvent(authd.EventLogout, Now()))
	}
	_, good := ar.list(t, s, authd.AuditQuery{Limit: 1})
	if good == "" {
		t.Fatal("ListEvents with Limit 1 of 3 events returned no next cursor")
	}
	for _, c := range malformedCursors(good) {
		_, _, err := s.ListEvents(t.Context(), authd.AuditQuery{Limit: 10, Cursor: c})
		wantInvalid(t, err, fmt.Sprintf("ListEvents(Cursor %q)", c))
	}
}

func (ar auditReaderSuite) badLimit(t *testing.T) {
	s := ar.newStore(t)
	ar.record(t, s, newEvent(authd.EventLogout, Now()))
	for _, n := range []int{0, -1, 1001, math.MinInt, math.MaxInt} {
		_, _, err := s.ListEvents(t.Context(), authd.AuditQuery{Limit: n})
		wantInvalid(t, err, fmt.Sprintf("ListEvents(Limit %d)", n))
	}
	for _, n := range []int{1, 1000} {
		ar.list(t, s, authd.AuditQuery{Limit: n})
	}
}

func (ar auditReaderSuite) honoursCancellation(t *testing.T) {
	s := ar.newStore(t)
	ar.record(t, s, newEvent(authd.EventLogout, Now()))
	_, _, err := s.ListEvents(cancelled(t), authd.AuditQuery{Limit: 10})
	wantCanceled(t, err, "ListEvents")
}
