package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
)

// RunSessionStore runs the SessionStore contract against stores made by
// newStore, which must return a fresh, empty store each time it is called.
func RunSessionStore(t *testing.T, newStore func(t *testing.T) authd.SessionStore) {
	t.Helper()
	ss := sessionSuite{newStore}
	t.Run("CreateSession then SessionByHash returns every field", ss.createThenSessionByHash)
	t.Run("a session without roles, IP or user agent reads back without them", ss.withoutOptionalFields)
	t.Run("AMR and Pending read back exactly from SessionByHash and ListSessions, nil AMR as empty", ss.amrAndPending)
	t.Run("sessions are kept apart", ss.keptApart)
	t.Run("CreateSession ErrConflict when the id exists", ss.createConflictOnID)
	t.Run("CreateSession ErrConflict when the hash exists", ss.createConflictOnHash)
	t.Run("SessionByHash ErrNotFound when there is none", ss.byHashNotFound)
	t.Run("SessionByHash may return a session whose ExpiresAt has passed", ss.byHashMayReturnExpired)
	t.Run("TouchSession sets LastSeenAt and ExpiresAt only", ss.touchSetsOnlyTimes)
	t.Run("TouchSession ErrNotFound when the session does not exist", ss.touchNotFound)
	t.Run("TouchSession is idempotent", ss.touchIdempotent)
	t.Run("ListSessions returns the user's sessions whose ExpiresAt is after now, newest first", ss.listLiveNewestFirst)
	t.Run("ListSessions leaves out a session whose ExpiresAt is exactly now", ss.listLeavesOutExpiringNow)
	t.Run("ListSessions follows ExpiresAt set by TouchSession", ss.listFollowsTouch)
	t.Run("ListSessions returns an empty slice when there are none", ss.listEmpty)
	t.Run("DeleteSession deletes the session everywhere", ss.deleteEverywhere)
	t.Run("DeleteSession ErrNotFound when the session does not exist", ss.deleteNotFound)
	t.Run("DeleteSession of another user's session is ErrNotFound and deletes nothing", ss.deleteOtherUsersNotFound)
	t.Run("DeleteUserSessions deletes every session of the user but except and returns the deleted ids", ss.deleteUserAllButExcept)
	t.Run("DeleteUserSessions with except empty deletes every session of the user", ss.deleteUserExceptEmpty)
	t.Run("DeleteUserSessions with except naming another user's session deletes all of the user's", ss.deleteUserExceptOtherUsers)
	t.Run("DeleteUserSessions is idempotent: a second call returns none", ss.deleteUserIdempotent)
	t.Run("DeleteUserSessions is atomic under concurrent deletes and creates", ss.deleteUserAtomic)
	t.Run("honours ctx cancellation", ss.honoursCancellation)
}

// sessionSuite is what RunSessionStore's subtests share: the constructor of
// fresh stores, and the helpers over a store as methods.
type sessionSuite struct {
	newStore func(t *testing.T) authd.SessionStore
}

// newSession returns a live session of userID created at created; every time
// lies in the real future so that TTL-based stores keep it.
func newSession(userID string, created time.Time) *authd.Session {
	return &authd.Session{
		ID:                NewID("sess"),
		Hash:              NewHash(),
		UserID:            userID,
		Email:             userID + "@example.com",
		Roles:             []string{"admin"},
		CreatedAt:         created,
		LastSeenAt:        created.Add(time.Minute),
		ExpiresAt:         created.Add(24 * time.Hour),
		AbsoluteExpiresAt: created.Add(720 * time.Hour),
		IP:                "203.0.113.7",
		UserAgent:         "Mozilla/5.0 (X11; Linux x86_64) storetest",
		AMR:               []string{authd.AMRPassword, authd.AMROTP, authd.AMRMFA},
	}
}

func (sessionSuite) create(t *testing.T, s authd.SessionStore, xs ...*authd.Session) {
	t.Helper()
	for _, x := range xs {
		mustOK(t, s.CreateSession(t.Context(), x), "CreateSession "+x.ID)
	}
}

func (sessionSuite) find(t *testing.T, s authd.SessionStore, x *authd.Session) *authd.Session {
	t.Helper()
	got, err := s.SessionByHash(t.Context(), x.Hash)
	mustOK(t, err, "SessionByHash "+x.ID)
	return got
}

// gone fails t unless SessionByHash of x is ErrNotFound.
func (sessionSuite) gone(t *testing.T, s authd.SessionStore, x *authd.Session) {
	t.Helper()
	got, err := s.SessionByHash(t.Context(), x.Hash)
	if err == nil {
		t.Fatalf("SessionByHash of deleted session %s returned session %s", x.ID, got.ID)
	}
	wantErr(t, err, authd.ErrNotFound, "SessionByHash of deleted session "+x.ID)
}

func (ss sessionSuite) createThenSessionByHash(t *testing.T) {
	s := ss.newStore(t)
	x := newSession(NewID("user"), Now())
	ss.create(t, s, x)
	checkSession(t, "SessionByHash", x, ss.find(t, s, x))
}

func (ss sessionSuite) withoutOptionalFields(t *testing.T) {
	s := ss.newStore(t)
	x := newSession(NewID("user"), Now())
	x.Roles, x.IP, x.UserAgent = nil, "", ""
	ss.create(t, s, x)
	checkSession(t, "SessionByHash", x, ss.find(t, s, x))
}

func (ss sessionSuite) amrAndPending(t *testing.T) {
	// Reading: "nil for a session created before they were recorded"
	// describes sessions of before the field; a store need not tell a
	// nil AMR from an empty one (doc.go), so both read back as either.
	s := ss.newStore(t)
	user := NewID("user")
	t0 := Now()
	var xs []*authd.Session
	for i, c := range []struct {
		amr     []string
		pending bool
	}{
		{[]string{authd.AMRPassword}, true},                 // signed in, second factor due
		{[]string{authd.AMRHardware, authd.AMRUser}, false}, // a passkey with user verification
		{nil, false},
		{[]string{}, true},
		{[]string{authd.AMRPassword, authd.AMROTP, authd.AMRMFA}, false},
	} {
		x := newSession(user, t0.Add(time.Duration(i)*time.Second))
		x.AMR, x.Pending = c.amr, c.pending
		xs = append(xs, x)
	}
	ss.create(t, s, xs...)
	// Half of them touched (before any lookup: stores with a client-side
	// cache may serve a lookup made before the touch for a while).
	for i, x := range xs {
		if i%2 == 1 {
			x.LastSeenAt, x.ExpiresAt = x.LastSeenAt.Add(time.Hour), x.ExpiresAt.Add(time.Hour)
			mustOK(t, s.TouchSession(t.Context(), x.ID, x.LastSeenAt, x.ExpiresAt), "TouchSession")
		}
	}
	for i, x := range xs {
		checkSession(t, fmt.Sprintf("SessionByHash of session %d", i), x, ss.find(t, s, x))
	}
	list, err := s.ListSessions(t.Context(), user, t0)
	mustOK(t, err, "ListSessions")
	if len(list) != len(xs) {
		t.Fatalf("ListSessions: got %s, want %d sessions", sessionIDs(list), len(xs))
	}
	for i, got := range list {
		want := xs[len(xs)-1-i] // newest first
		checkSession(t, fmt.Sprintf("ListSessions[%d]", i), want, got)
	}
}

func (ss sessionSuite) keptApart(t *testing.T) {
	s := ss.newStore(t)
	user := NewID("user")
	a, b := newSession(user, Now()), newSession(user, Now().Add(time.Second))
	b.Roles, b.IP = []string{"viewer", "ops"}, "2001:db8::1"
	b.AMR, b.Pending = []string{authd.AMRPassword}, true
	ss.create(t, s, a, b)
	checkSession(t, "SessionByHash a", a, ss.find(t, s, a))
	checkSession(t, "SessionByHash b", b, ss.find(t, s, b))
}

func (ss sessionSuite) createConflictOnID(t *testing.T) {
	s := ss.newStore(t)
	x := newSession(NewID("user"), Now())
	ss.create(t, s, x)
	dup := newSession(NewID("user"), Now())
	dup.ID = x.ID
	wantErr(t, s.CreateSession(t.Context(), dup), authd.ErrConflict, "CreateSession with an existing id")
	_, err := s.SessionByHash(t.Context(), dup.Hash)
	wantErr(t, err, authd.ErrNotFound, "SessionByHash of the refused session")
	checkSession(t, "the first session after the conflict", x, ss.find(t, s, x))
}

func (ss sessionSuite) createConflictOnHash(t *testing.T) {
	s := ss.newStore(t)
	x := newSession(NewID("user"), Now())
	ss.create(t, s, x)
	dup := newSession(x.UserID, Now())
	dup.Hash = bytes.Clone(x.Hash)
	wantErr(t, s.CreateSession(t.Context(), dup), authd.ErrConflict, "CreateSession with an existing hash")
	checkSession(t, "the first session after the conflict", x, ss.find(t, s, x))
	wantErr(t, s.TouchSession(t.Context(), dup.ID, Now(), Now().Add(time.Hour)), authd.ErrNotFound, "TouchSession of the refused session")
	list, err := s.ListSessions(t.Context(), x.UserID, Now())
	mustOK(t, err, "ListSessions")
	if len(list) != 1 || list[0].ID != x.ID {
		t.Fatalf("ListSessions after the conflict: got %d sessions, want only %s", len(list), x.ID)
	}
}

func (ss sessionSuite) byHashNotFound(t *testing.T) {
	s := ss.newStore(t)
	x := newSession(NewID("user"), Now())
	ss.create(t, s, x)
	near := bytes.Clone(x.Hash)
	near[len(near)-1] ^= 1
	for name, h := range map[string][]byte{
		"unknown":   NewHash(),
		"nil":       nil,
		"empty":     {},
		"one bit":   near,
		"prefix":    x.Hash[:16],
		"longer":    append(bytes.Clone(x.Hash), 0),
		"id as key": []byte(x.ID),
	} {
		got, err := s.SessionByHash(t.Context(), h)
		if err == nil {
			t.Fatalf("SessionByHash(%s) returned session %s", name, got.ID)
		}
		wantErr(t, err, authd.ErrNotFound, "SessionByHash("+name+")")
	}
}

func (ss sessionSuite) byHashMayReturnExpired(t *testing.T) {
	s := ss.newStore(t)
	x := newSession(NewID("user"), Now().Add(-2*time.Hour))
	x.LastSeenAt = x.CreatedAt
	x.ExpiresAt = x.CreatedAt.Add(time.Hour) // an hour ago
	ss.create(t, s, x)
	got, err := s.SessionByHash(t.Context(), x.Hash)
	if err != nil {
		// Deleting it lazily is allowed; anything but not-found is not.
		wantErr(t, err, authd.ErrNotFound, "SessionByHash of an expired session")
		return
	}
	// Returned, then as stored: the caller checks expiry.
	checkSession(t, "SessionByHash of an expired session", x, got)
}

func (ss sessionSuite) touchSetsOnlyTimes(t *testing.T) {
	s := ss.newStore(t)
	x := newSession(NewID("user"), Now())
	x.AMR, x.Pending = []string{authd.AMRPassword}, true
	other := newSession(x.UserID, Now())
	ss.create(t, s, x, other)
	seen, exp := x.LastSeenAt.Add(time.Hour), x.ExpiresAt.Add(time.Hour)
	mustOK(t, s.TouchSession(t.Context(), x.ID, seen, exp), "TouchSession")
	want := *x
	want.LastSeenAt, want.ExpiresAt = seen, exp
	checkSession(t, "touched session", &want, ss.find(t, s, x))
	checkSession(t, "untouched session", other, ss.find(t, s, other))
}

func (ss sessionSuite) touchNotFound(t *testing.T) {
	s := ss.newStore(t)
	x := newSession(NewID("user"), Now())
	ss.create(t, s, x)
	for _, id := range []string{NewID("sess"), "", string(x.Hash)} {
		wantErr(t, s.TouchSession(t.Context(), id, Now(), Now().Add(time.Hour)), authd.ErrNotFound, "TouchSession("+id+")")
	}
	checkSession(t, "the existing session", x, ss.find(t, s, x))
}

func (ss sessionSuite) touchIdempotent(t *testing.T) {
	s := ss.newStore(t)
	x := newSession(NewID("user"), Now())
	ss.create(t, s, x)
	seen, exp := x.LastSeenAt.Add(time.Hour), x.ExpiresAt.Add(time.Hour)
	mustOK(t, s.TouchSession(t.Context(), x.ID, seen, exp), "first TouchSession")
	mustOK(t, s.TouchSession(t.Context(), x.ID, seen, exp), "second TouchSession")
	want := *x
	want.LastSeenAt, want.ExpiresAt = seen, exp
	checkSession(t, "session touched twice", &want, ss.find(t, s, x))
}

func (ss sessionSuite) listLiveNewestFirst(t *testing.T) {
	s := ss.newStore(t)
	user, other := NewID("user"), NewID("user")
	t0 := Now()
	// Created out of order so that insertion order is not the answer.
	mid := newSession(user, t0.Add(2*time.Minute))
	old := newSession(user, t0.Add(1*time.Minute))
	newest := newSession(user, t0.Add(3*time.Minute))
	dying := newSession(user, t0.Add(4*time.Minute)) // newest, but dead at now
	dying.ExpiresAt = t0.Add(30 * time.Minute)
	mid.AMR, mid.Pending = []string{authd.AMRPassword}, true
	old.AMR = nil
	elsewhere := newSession(other, t0.Add(5*time.Minute))
	ss.create(t, s, mid, dying, old, elsewhere, newest)

	now := t0.Add(time.Hour)
	list, err := s.ListSessions(t.Context(), user, now)
	mustOK(t, err, "ListSessions")
	want := []*authd.Session{newest, mid, old}
	if len(list) != len(want) {
		t.Fatalf("ListSessions: got %s, want %s", sessionIDs(list), sessionIDs(want))
	}
	for i := range want {
		checkSession(t, fmt.Sprintf("ListSessions[%d]", i), want[i], list[i])
	}
}

func (ss sessionSuite) listLeavesOutExpiringNow(t *testing.T) {
	s := ss.newStore(t)
	user := NewID("user")
	x, y := newSession(user, Now()), newSession(user, Now())
	y.ExpiresAt = x.ExpiresAt.Add(Precision)
	ss.create(t, s, x, y)
	list, err := s.ListSessions(t.Context(), user, x.ExpiresAt)
	mustOK(t, err, "ListSessions")
	if len(list) != 1 || list[0].ID != y.ID {
		t.Fatalf("ListSessions(now = x.ExpiresAt): got %s, want [%s]", sessionIDs(list), y.ID)
	}
}

func (ss sessionSuite) listFollowsTouch(t *testing.T) {
	s := ss.newStore(t)
	user := NewID("user")
	x, y := newSession(user, Now()), newSession(user, Now().Add(time.Second))
	ss.create(t, s, x, y)
	now := x.ExpiresAt.Add(time.Hour) // both dead at now as created
	mustOK(t, s.TouchSession(t.Context(), x.ID, now, now.Add(time.Hour)), "TouchSession")
	list, err := s.ListSessions(t.Context(), user, now)
	mustOK(t, err, "ListSessions")
	if len(list) != 1 || list[0].ID != x.ID {
		t.Fatalf("ListSessions after touching %s: got %s, want [%s]", x.ID, sessionIDs(list), x.ID)
	}
	if !list[0].ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("ListSessions: ExpiresAt %s, want the touched %s", fmtTime(list[0].ExpiresAt), fmtTime(now.Add(time.Hour)))
	}
}

func (ss sessionSuite) listEmpty(t *testing.T) {
	s := ss.newStore(t)
	x := newSession(NewID("user"), Now())
	ss.create(t, s, x)
	for name, q := range map[string]struct {
		user string
		now  time.Time
	}{
		"unknown user":       {NewID("user"), Now()},
		"all sessions ended": {x.UserID, x.ExpiresAt},
	} {
		list, err := s.ListSessions(t.Context(), q.user, q.now)
		mustOK(t, err, "ListSessions "+name)
		if list == nil || len(list) != 0 {
			t.Fatalf("ListSessions %s: got %#v, want a non-nil empty slice", name, list)
		}
	}
}

func (ss sessionSuite) deleteEverywhere(t *testing.T) {
	s := ss.newStore(t)
	user := NewID("user")
	x, keep := newSession(user, Now()), newSession(user, Now().Add(time.Second))
	ss.create(t, s, x, keep)
	mustOK(t, s.DeleteSession(t.Context(), user, x.ID), "DeleteSession")
	ss.gone(t, s, x)
	wantErr(t, s.TouchSession(t.Context(), x.ID, Now(), Now().Add(time.Hour)), authd.ErrNotFound, "TouchSession of a deleted session")
	list, err := s.ListSessions(t.Context(), user, Now())
	mustOK(t, err, "ListSessions")
	if len(list) != 1 || list[0].ID != keep.ID {
		t.Fatalf("ListSessions after DeleteSession: got %s, want [%s]", sessionIDs(list), keep.ID)
	}
	checkSession(t, "the other session", keep, ss.find(t, s, keep))
}

func (ss sessionSuite) deleteNotFound(t *testing.T) {
	s := ss.newStore(t)
	x := newSession(NewID("user"), Now())
	ss.create(t, s, x)
	wantErr(t, s.DeleteSession(t.Context(), x.UserID, NewID("sess")), authd.ErrNotFound, "DeleteSession of an unknown id")
	mustOK(t, s.DeleteSession(t.Context(), x.UserID, x.ID), "DeleteSession")
	wantErr(t, s.DeleteSession(t.Context(), x.UserID, x.ID), authd.ErrNotFound, "DeleteSession of a deleted session")
}

func (ss sessionSuite) deleteOtherUsersNotFound(t *testing.T) {
	s := ss.newStore(t)
	victim := newSession(NewID("user"), Now())
	ss.create(t, s, victim)
	wantErr(t, s.DeleteSession(t.Context(), NewID("attacker"), victim.ID), authd.ErrNotFound, "DeleteSession with another user id")
	wantErr(t, s.DeleteSession(t.Context(), "", victim.ID), authd.ErrNotFound, "DeleteSession with an empty user id")
	checkSession(t, "the other user's session", victim, ss.find(t, s, victim))
}

func (ss sessionSuite) deleteUserAllButExcept(t *testing.T) {
	s := ss.newStore(t)
	user, other := NewID("user"), NewID("user")
	var mine []*authd.Session
	for i := range 5 {
		mine = append(mine, newSession(user, Now().Add(time.Duration(i)*time.Second)))
	}
	theirs := newSession(other, Now())
	ss.create(t, s, mine...)
	ss.create(t, s, theirs)
	keep := mine[2]

	ids, err := s.DeleteUserSessions(t.Context(), user, keep.ID)
	mustOK(t, err, "DeleteUserSessions")
	var want []string
	for _, x := range mine {
		if x != keep {
			want = append(want, x.ID)
			ss.gone(t, s, x)
		}
	}
	wantSameSet(t, "DeleteUserSessions ids", want, ids)
	checkSession(t, "the kept session", keep, ss.find(t, s, keep))
	checkSession(t, "the other user's session", theirs, ss.find(t, s, theirs))
}

func (ss sessionSuite) deleteUserExceptEmpty(t *testing.T) {
	s := ss.newStore(t)
	user := NewID("user")
	a, b := newSession(user, Now()), newSession(user, Now().Add(time.Second))
	theirs := newSession(NewID("user"), Now())
	ss.create(t, s, a, b, theirs)
	ids, err := s.DeleteUserSessions(t.Context(), user, "")
	mustOK(t, err, "DeleteUserSessions")
	wantSameSet(t, "DeleteUserSessions ids", []string{a.ID, b.ID}, ids)
	ss.gone(t, s, a)
	ss.gone(t, s, b)
	checkSession(t, "the other user's session", theirs, ss.find(t, s, theirs))
}

func (ss sessionSuite) deleteUserExceptOtherUsers(t *testing.T) {
	s := ss.newStore(t)
	user := NewID("user")
	a := newSession(user, Now())
	theirs := newSession(NewID("user"), Now())
	ss.create(t, s, a, theirs)
	ids, err := s.DeleteUserSessions(t.Context(), user, theirs.ID)
	mustOK(t, err, "DeleteUserSessions")
	wantSameSet(t, "DeleteUserSessions ids", []string{a.ID}, ids)
	ss.gone(t, s, a)
	checkSession(t, "the other user's session", theirs, ss.find(t, s, theirs))
}

func (ss sessionSuite) deleteUserIdempotent(t *testing.T) {
	s := ss.newStore(t)
	user := NewID("user")
	a, keep := newSession(user, Now()), newSession(user, Now())
	ss.create(t, s, a, keep)
	_, err := s.DeleteUserSessions(t.Context(), user, keep.ID)
	mustOK(t, err, "first DeleteUserSessions")
	ids, err := s.DeleteUserSessions(t.Context(), user, keep.ID)
	mustOK(t, err, "second DeleteUserSessions")
	if len(ids) != 0 {
		t.Fatalf("second DeleteUserSessions returned %q, want none", ids)
	}
	checkSession(t, "the kept session", keep, ss.find(t, s, keep))
	ids, err = s.DeleteUserSessions(t.Context(), NewID("user"), "")
	mustOK(t, err, "DeleteUserSessions of a user without sessions")
	if len(ids) != 0 {
		t.Fatalf("DeleteUserSessions of a user without sessions returned %q", ids)
	}
}

func (ss sessionSuite) deleteUserAtomic(t *testing.T) {
	// Each session is reported deleted by exactly one call; a session
	// reported deleted is gone; one not reported still exists. Sessions
	// created concurrently are either deleted and reported or kept.
	s := ss.newStore(t)
	user := NewID("user")
	var all []*authd.Session
	for i := range 30 {
		all = append(all, newSession(user, Now().Add(time.Duration(i)*time.Millisecond)))
	}
	ss.create(t, s, all...)
	var late []*authd.Session
	for i := range 30 {
		late = append(late, newSession(user, Now().Add(time.Duration(i)*time.Millisecond)))
	}
	results := deleteWhileCreating(t, s, user, late)

	reported := map[string]int{}
	for _, ids := range results {
		for _, id := range ids {
			reported[id]++
		}
	}
	for id, n := range reported {
		if n != 1 {
			t.Errorf("session %s reported deleted by %d calls, want exactly 1", id, n)
		}
	}
	for _, x := range all {
		if reported[x.ID] != 1 {
			t.Errorf("session %s existed before every call but was not reported deleted", x.ID)
		}
	}
	for _, x := range append(slices.Clone(all), late...) {
		_, err := s.SessionByHash(t.Context(), x.Hash)
		switch {
		case reported[x.ID] == 1 && err == nil:
			t.Errorf("session %s reported deleted but still found", x.ID)
		case reported[x.ID] == 0 && err != nil:
			t.Errorf("session %s not reported deleted but lookup failed: %v", x.ID, err)
		}
	}
}

// deleteWhileCreating calls DeleteUserSessions(user, "") from several
// goroutines at once while another creates late, and returns the ids each
// call reported deleted.
func deleteWhileCreating(t *testing.T, s authd.SessionStore, user string, late []*authd.Session) [][]string {
	t.Helper()
	const deleters = 4
	results := make([][]string, deleters)
	errs := make(chan error, deleters+len(late))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range deleters {
		wg.Go(func() {
			<-start
			ids, err := s.DeleteUserSessions(t.Context(), user, "")
			if err != nil {
				errs <- fmt.Errorf("DeleteUserSessions: %w", err)
			}
			results[i] = ids
		})
	}
	wg.Go(func() {
		<-start
		for _, x := range late {
			if err := s.CreateSession(t.Context(), x); err != nil {
				errs <- fmt.Errorf("CreateSession: %w", err)
			}
		}
	})
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return results
}

func (ss sessionSuite) honoursCancellation(t *testing.T) {
	s := ss.newStore(t)
	x := newSession(NewID("user"), Now())
	ss.create(t, s, x)
	ctx := cancelled(t)
	y := newSession(x.UserID, Now())
	wantCanceled(t, s.CreateSession(ctx, y), "CreateSession")
	_, err := s.SessionByHash(ctx, x.Hash)
	wantCanceled(t, err, "SessionByHash")
	wantCanceled(t, s.TouchSession(ctx, x.ID, Now(), Now().Add(time.Hour)), "TouchSession")
	_, err = s.ListSessions(ctx, x.UserID, Now())
	wantCanceled(t, err, "ListSessions")
	wantCanceled(t, s.DeleteSession(ctx, x.UserID, x.ID), "DeleteSession")
	_, err = s.DeleteUserSessions(ctx, x.UserID, "")
	wantCanceled(t, err, "DeleteUserSessions")
	_, err = s.SessionByHash(t.Context(), y.Hash)
	wantErr(t, err, authd.ErrNotFound, "SessionByHash of the session created with a cancelled context")
	checkSession(t, "session after cancelled calls", x, ss.find(t, s, x))
}

func sessionIDs(ss []*authd.Session) string {
	ids := make([]string, len(ss))
	for i, s := range ss {
		ids[i] = s.ID
	}
	return fmt.Sprintf("%q", ids)
}
