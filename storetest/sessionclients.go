package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
)

// RunSessionClientStore runs the SessionClientStore contract against
// stores made by newStore, which must return a fresh, empty store each
// time it is called.
func RunSessionClientStore(t *testing.T, newStore func(t *testing.T) authd.SessionClientStore) {
	t.Helper()
	ss := sessionClientSuite{newStore}
	t.Run("TakeSessionClients returns the client ids linked to the session, ordered", ss.takeReturnsLinkedOrdered)
	t.Run("LinkSessionClient is idempotent and keeps the later expiresAt", ss.linkIdempotentKeepsLater)
	t.Run("TakeSessionClients deletes every record of the session and no other", ss.takeDeletes)
	t.Run("TakeSessionClients returns an empty slice when none", ss.takeEmpty)
	t.Run("TakeSessionClients gives each record to exactly one of concurrent calls", ss.takeConcurrently)
	t.Run("DeleteSessionClientsBefore deletes the records whose expiresAt is before t and returns how many", ss.deleteBefore)
	t.Run("honours ctx cancellation", ss.honoursCancellation)
}

// sessionClientSuite is what RunSessionClientStore's subtests share: the
// constructor of fresh stores, and the helpers over a store as methods.
type sessionClientSuite struct {
	newStore func(t *testing.T) authd.SessionClientStore
}

func (sessionClientSuite) link(t *testing.T, s authd.SessionClientStore, sessionID, clientID, userID string, expiresAt time.Time) {
	t.Helper()
	mustOK(t, s.LinkSessionClient(t.Context(), sessionID, clientID, userID, expiresAt), "LinkSessionClient")
}

func (sessionClientSuite) take(t *testing.T, s authd.SessionClientStore, sessionID string) []string {
	t.Helper()
	ids, err := s.TakeSessionClients(t.Context(), sessionID)
	mustOK(t, err, "TakeSessionClients")
	return ids
}

func (ss sessionClientSuite) takeReturnsLinkedOrdered(t *testing.T) {
	// Reading: "ordered" is by client id, in byte order (as ListClients).
	s := ss.newStore(t)
	sess, user := NewID("sess"), NewID("user")
	exp := Now().Add(time.Hour)
	ids := []string{"b", "B", "a", "a.b", "a-b", "A", "0", "Z", NewID("client")}
	for _, id := range ids {
		ss.link(t, s, sess, id, user, exp)
	}
	got := ss.take(t, s, sess)
	want := slices.Clone(ids)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("TakeSessionClients: %q, want %q (byte order)", got, want)
	}
}

// linkIdempotentKeepsLater observes the record's expiry through
// DeleteSessionClientsBefore, the only method that reads it.
func (ss sessionClientSuite) linkIdempotentKeepsLater(t *testing.T) {
	s := ss.newStore(t)
	user := NewID("user")
	early, late := Now().Add(time.Hour), Now().Add(2*time.Hour)
	laterFirst, laterSecond := NewID("sess"), NewID("sess")
	client := NewID("client")
	ss.link(t, s, laterFirst, client, user, late)
	ss.link(t, s, laterFirst, client, user, early)
	ss.link(t, s, laterSecond, client, user, early)
	ss.link(t, s, laterSecond, client, user, late)
	n, err := s.DeleteSessionClientsBefore(t.Context(), late)
	mustOK(t, err, "DeleteSessionClientsBefore")
	if n != 0 {
		t.Fatalf("DeleteSessionClientsBefore between the two expiries deleted %d records, want 0 (the later expiresAt is kept)", n)
	}
	for _, sess := range []string{laterFirst, laterSecond} {
		if got := ss.take(t, s, sess); !slices.Equal(got, []string{client}) {
			t.Fatalf("TakeSessionClients after linking twice: %q, want one record [%q]", got, client)
		}
	}
}

func (ss sessionClientSuite) takeDeletes(t *testing.T) {
	s := ss.newStore(t)
	user := NewID("user")
	exp := Now().Add(time.Hour)
	sess, other := NewID("sess"), NewID("sess")
	a, b := NewID("client"), NewID("client")
	ss.link(t, s, sess, a, user, exp)
	ss.link(t, s, sess, b, user, exp)
	ss.link(t, s, other, a, user, exp)
	if got := ss.take(t, s, sess); len(got) != 2 {
		t.Fatalf("first TakeSessionClients: %q, want 2 ids", got)
	}
	if got := ss.take(t, s, sess); got == nil || len(got) != 0 {
		t.Fatalf("second TakeSessionClients: %#v, want a non-nil empty slice", got)
	}
	if got := ss.take(t, s, other); !slices.Equal(got, []string{a}) {
		t.Fatalf("TakeSessionClients of another session: %q, want [%q]", got, a)
	}
	// The session can be linked again.
	ss.link(t, s, sess, b, user, exp)
	if got := ss.take(t, s, sess); !slices.Equal(got, []string{b}) {
		t.Fatalf("TakeSessionClients after linking again: %q, want [%q]", got, b)
	}
}

func (ss sessionClientSuite) takeEmpty(t *testing.T) {
	s := ss.newStore(t)
	ss.link(t, s, NewID("sess"), NewID("client"), NewID("user"), Now().Add(time.Hour))
	got := ss.take(t, s, NewID("sess"))
	if got == nil || len(got) != 0 {
		t.Fatalf("TakeSessionClients of a session without records: %#v, want a non-nil empty slice", got)
	}
}

func (ss sessionClientSuite) takeConcurrently(t *testing.T) {
	s := ss.newStore(t)
	sess, user := NewID("sess"), NewID("user")
	exp := Now().Add(time.Hour)
	const records, callers = 30, 4
	var want []string
	for i := range records {
		id := fmt.Sprintf("client-%02d", i)
		want = append(want, id)
		ss.link(t, s, sess, id, user, exp)
	}
	got := make([][]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range callers {
		wg.Go(func() {
			<-start
			got[i], errs[i] = s.TakeSessionClients(t.Context(), sess)
		})
	}
	close(start)
	wg.Wait()
	var all []string
	for i := range callers {
		mustOK(t, errs[i], fmt.Sprintf("TakeSessionClients %d", i))
		all = append(all, got[i]...)
	}
	wantSameSet(t, "the ids the concurrent calls took, together", want, all)
}

func (ss sessionClientSuite) deleteBefore(t *testing.T) {
	s := ss.newStore(t)
	user := NewID("user")
	cut := Now().Add(10 * time.Hour)
	sess := NewID("sess")
	ss.link(t, s, sess, "gone-1", user, cut.Add(-time.Hour))
	ss.link(t, s, sess, "gone-2", user, cut.Add(-time.Microsecond))
	ss.link(t, s, sess, "kept-at-t", user, cut)
	ss.link(t, s, sess, "kept-after", user, cut.Add(time.Hour))
	other := NewID("sess")
	ss.link(t, s, other, "gone-3", user, cut.Add(-time.Minute))
	n, err := s.DeleteSessionClientsBefore(t.Context(), cut)
	mustOK(t, err, "DeleteSessionClientsBefore")
	if n != 3 {
		t.Errorf("DeleteSessionClientsBefore deleted %d, want 3", n)
	}
	n, err = s.DeleteSessionClientsBefore(t.Context(), cut)
	mustOK(t, err, "second DeleteSessionClientsBefore")
	if n != 0 {
		t.Errorf("second DeleteSessionClientsBefore deleted %d, want 0", n)
	}
	if got := ss.take(t, s, sess); !slices.Equal(got, []string{"kept-after", "kept-at-t"}) {
		t.Fatalf("TakeSessionClients after the delete: %q, want [kept-after kept-at-t]", got)
	}
	if got := ss.take(t, s, other); len(got) != 0 {
		t.Fatalf("TakeSessionClients of a session whose records were deleted: %q", got)
	}
}

func (ss sessionClientSuite) honoursCancellation(t *testing.T) {
	s := ss.newStore(t)
	sess, user, client := NewID("sess"), NewID("user"), NewID("client")
	exp := Now().Add(time.Hour)
	ss.link(t, s, sess, client, user, exp)
	ctx := cancelled(t)
	other := NewID("sess")
	wantCanceled(t, s.LinkSessionClient(ctx, other, client, user, exp), "LinkSessionClient")
	_, err := s.TakeSessionClients(ctx, sess)
	wantCanceled(t, err, "TakeSessionClients")
	_, err = s.DeleteSessionClientsBefore(ctx, exp.Add(time.Hour))
	wantCanceled(t, err, "DeleteSessionClientsBefore")
	if got := ss.take(t, s, other); len(got) != 0 {
		t.Fatalf("the record linked with a cancelled context exists: %q", got)
	}
	if got := ss.take(t, s, sess); !slices.Equal(got, []string{client}) {
		t.Fatalf("TakeSessionClients after the cancelled calls: %q, want [%q]", got, client)
	}
}
