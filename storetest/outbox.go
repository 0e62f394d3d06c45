package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
)

// RunOutbox runs the Outbox contract against stores made by newStore,
// which must return a fresh, empty store each time it is called.
func RunOutbox(t *testing.T, newStore func(t *testing.T) authd.Outbox) {
	t.Helper()
	ob := outboxSuite{newStore}
	t.Run("Enqueue then Claim returns every field, NextAt moved and Attempts counted", ob.enqueueThenClaim)
	t.Run("Enqueue ErrConflict when m.ID exists", ob.enqueueConflictOnID)
	t.Run("Claim returns the messages of kind whose NextAt is not after now, oldest NextAt first", ob.claimDueOldestFirst)
	t.Run("Claim returns up to limit messages", ob.claimUpToLimit)
	t.Run("Claim moves NextAt to now+lease and adds one to Attempts: no other call claims them until the lease ends", ob.claimTakesLease)
	t.Run("Claim returns an empty slice when none is due", ob.claimEmpty)
	t.Run("concurrent Claim calls never return one message twice within a lease", ob.claimConcurrently)
	t.Run("Reschedule sets the message's NextAt and LastErr", ob.rescheduleSets)
	t.Run("Reschedule ErrNotFound for an unknown id", ob.rescheduleNotFound)
	t.Run("DeleteMessage deletes the message and is idempotent", ob.deleteIdempotent)
	t.Run("honours ctx cancellation", ob.honoursCancellation)
}

// outboxSuite is what RunOutbox's subtests share: the constructor of fresh
// stores, and the helpers over a store as methods.
type outboxSuite struct {
	newStore func(t *testing.T) authd.Outbox
}

// newMessage returns a back-channel logout message due at nextAt, with a
// fresh id and every field set.
func newMessage(nextAt time.Time) *authd.OutboxMessage {
	body := []byte("logout_token=eyJhbGciOiJFZERTQSJ9.e30.c2ln\x00\xff")
	return &authd.OutboxMessage{
		ID:        NewID("msg"),
		Kind:      authd.OutboxBackchannelLogout,
		Target:    "https://app.example.com/backchannel-logout",
		Body:      body,
		UserID:    NewID("user"),
		SessionID: NewID("sess"),
		ClientID:  NewID("client"),
		CreatedAt: Now(),
		NextAt:    nextAt,
	}
}

func (outboxSuite) enqueue(t *testing.T, s authd.Outbox, m *authd.OutboxMessage) {
	t.Helper()
	mustOK(t, s.Enqueue(t.Context(), m), "Enqueue "+m.ID)
}

func (outboxSuite) claim(t *testing.T, s authd.Outbox, kind string, now time.Time, lease time.Duration, limit int) []*authd.OutboxMessage {
	t.Helper()
	ms, err := s.Claim(t.Context(), kind, now, lease, limit)
	mustOK(t, err, "Claim")
	return ms
}

// claimed returns m as a Claim at now with lease returns it.
func claimed(m *authd.OutboxMessage, now time.Time, lease time.Duration) *authd.OutboxMessage {
	c := *m
	c.NextAt = now.Add(lease)
	c.Attempts++
	return &c
}

func messageIDs(ms []*authd.OutboxMessage) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func (ob outboxSuite) enqueueThenClaim(t *testing.T) {
	s := ob.newStore(t)
	now := Now()
	m := newMessage(now)
	plain := newMessage(now.Add(-time.Second))
	plain.Body, plain.UserID, plain.SessionID, plain.ClientID = nil, "", "", ""
	retried := newMessage(now.Add(-2 * time.Second))
	retried.Attempts, retried.LastErr = 3, "503 Service Unavailable"
	for _, x := range []*authd.OutboxMessage{m, plain, retried} {
		ob.enqueue(t, s, x)
	}
	got := ob.claim(t, s, authd.OutboxBackchannelLogout, now, time.Minute, 10)
	if len(got) != 3 {
		t.Fatalf("Claim returned %q, want 3 messages", messageIDs(got))
	}
	for i, x := range []*authd.OutboxMessage{retried, plain, m} {
		checkMessage(t, "Claim "+x.ID, claimed(x, now, time.Minute), got[i])
	}
}

func (ob outboxSuite) enqueueConflictOnID(t *testing.T) {
	s := ob.newStore(t)
	now := Now()
	m := newMessage(now)
	ob.enqueue(t, s, m)
	dup := newMessage(now.Add(-time.Hour))
	dup.ID = m.ID
	wantErr(t, s.Enqueue(t.Context(), dup), authd.ErrConflict, "Enqueue with an existing id")
	got := ob.claim(t, s, authd.OutboxBackchannelLogout, now, time.Minute, 10)
	if len(got) != 1 {
		t.Fatalf("Claim after the conflict returned %q, want the first message only", messageIDs(got))
	}
	checkMessage(t, "the first message after the conflict", claimed(m, now, time.Minute), got[0])
}

func (ob outboxSuite) claimDueOldestFirst(t *testing.T) {
	s := ob.newStore(t)
	now := Now()
	var due []*authd.OutboxMessage
	for _, d := range []time.Duration{-time.Minute, 0, -time.Hour, -time.Microsecond, -time.Second} {
		m := newMessage(now.Add(d))
		due = append(due, m)
		ob.enqueue(t, s, m)
	}
	later := newMessage(now.Add(time.Microsecond))
	ob.enqueue(t, s, later)
	otherKind := newMessage(now.Add(-time.Hour))
	otherKind.Kind = "mail"
	ob.enqueue(t, s, otherKind)
	got := ob.claim(t, s, authd.OutboxBackchannelLogout, now, time.Minute, 100)
	slices.SortFunc(due, func(a, b *authd.OutboxMessage) int { return a.NextAt.Compare(b.NextAt) })
	if !slices.Equal(messageIDs(got), messageIDs(due)) {
		t.Fatalf("Claim returned %q, want %q (due, oldest NextAt first; not the later one %s nor the other kind's %s)",
			messageIDs(got), messageIDs(due), later.ID, otherKind.ID)
	}
	for i, m := range due {
		checkMessage(t, "Claim "+m.ID, claimed(m, now, time.Minute), got[i])
	}
	mail := ob.claim(t, s, "mail", now, time.Minute, 100)
	if !slices.Equal(messageIDs(mail), []string{otherKind.ID}) {
		t.Fatalf("Claim of kind mail returned %q, want [%s]", messageIDs(mail), otherKind.ID)
	}
}

func (ob outboxSuite) claimUpToLimit(t *testing.T) {
	s := ob.newStore(t)
	now := Now()
	var all []*authd.OutboxMessage
	for i := range 5 {
		m := newMessage(now.Add(-time.Duration(5-i) * time.Second))
		all = append(all, m)
		ob.enqueue(t, s, m)
	}
	first := ob.claim(t, s, authd.OutboxBackchannelLogout, now, time.Minute, 2)
	if !slices.Equal(messageIDs(first), messageIDs(all[:2])) {
		t.Fatalf("Claim with limit 2 returned %q, want the two oldest %q", messageIDs(first), messageIDs(all[:2]))
	}
	second := ob.claim(t, s, authd.OutboxBackchannelLogout, now, time.Minute, 2)
	if !slices.Equal(messageIDs(second), messageIDs(all[2:4])) {
		t.Fatalf("second Claim with limit 2 returned %q, want %q", messageIDs(second), messageIDs(all[2:4]))
	}
	third := ob.claim(t, s, authd.OutboxBackchannelLogout, now, time.Minute, 2)
	if !slices.Equal(messageIDs(third), messageIDs(all[4:])) {
		t.Fatalf("third Claim with limit 2 returned %q, want %q", messageIDs(third), messageIDs(all[4:]))
	}
}

func (ob outboxSuite) claimTakesLease(t *testing.T) {
	s := ob.newStore(t)
	now := Now()
	m := newMessage(now.Add(-time.Second))
	ob.enqueue(t, s, m)
	const lease = 30 * time.Second
	got := ob.claim(t, s, authd.OutboxBackchannelLogout, now, lease, 10)
	if len(got) != 1 {
		t.Fatalf("Claim returned %q, want [%s]", messageIDs(got), m.ID)
	}
	checkMessage(t, "Claim", claimed(m, now, lease), got[0])
	for _, at := range []time.Time{now, now.Add(lease - time.Microsecond)} {
		if again := ob.claim(t, s, authd.OutboxBackchannelLogout, at, lease, 10); len(again) != 0 {
			t.Fatalf("Claim at %s, within the lease: %q, want none", fmtTime(at), messageIDs(again))
		}
	}
	// When the lease ends it is due again, one more attempt counted.
	end := now.Add(lease)
	again := ob.claim(t, s, authd.OutboxBackchannelLogout, end, lease, 10)
	if len(again) != 1 {
		t.Fatalf("Claim when the lease ends: %q, want [%s]", messageIDs(again), m.ID)
	}
	checkMessage(t, "Claim when the lease ends", claimed(claimed(m, now, lease), end, lease), again[0])
}

func (ob outboxSuite) claimEmpty(t *testing.T) {
	s := ob.newStore(t)
	now := Now()
	got := ob.claim(t, s, authd.OutboxBackchannelLogout, now, time.Minute, 10)
	if got == nil || len(got) != 0 {
		t.Fatalf("Claim of an empty outbox: %#v, want a non-nil empty slice", got)
	}
	ob.enqueue(t, s, newMessage(now.Add(time.Second)))
	got = ob.claim(t, s, authd.OutboxBackchannelLogout, now, time.Minute, 10)
	if got == nil || len(got) != 0 {
		t.Fatalf("Claim when nothing is due: %#v, want a non-nil empty slice", got)
	}
}

func (ob outboxSuite) claimConcurrently(t *testing.T) {
	s := ob.newStore(t)
	now := Now()
	const messages, callers, limit = 40, 2, 3
	var want []string
	for i := range messages {
		m := newMessage(now.Add(-time.Duration(i) * time.Millisecond))
		want = append(want, m.ID)
		ob.enqueue(t, s, m)
	}
	got := make([][]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range callers {
		wg.Go(func() {
			<-start
			for {
				ms, err := s.Claim(t.Context(), authd.OutboxBackchannelLogout, now, time.Hour, limit)
				if err != nil {
					errs[i] = err
					return
				}
				if len(ms) == 0 {
					return
				}
				if len(ms) > limit {
					errs[i] = fmt.Errorf("claim returned %d messages, over the limit %d", len(ms), limit)
					return
				}
				for _, m := range ms {
					if m.Attempts != 1 {
						errs[i] = fmt.Errorf("message %s claimed with Attempts %d, want 1: claimed twice", m.ID, m.Attempts)
						return
					}
				}
				got[i] = append(got[i], messageIDs(ms)...)
			}
		})
	}
	close(start)
	wg.Wait()
	var all []string
	for i := range callers {
		mustOK(t, errs[i], fmt.Sprintf("claimer %d", i))
		all = append(all, got[i]...)
	}
	wantSameSet(t, "the messages the concurrent claimers got, together", want, all)
}

func (ob outboxSuite) rescheduleSets(t *testing.T) {
	s := ob.newStore(t)
	now := Now()
	m, other := newMessage(now.Add(-time.Second)), newMessage(now.Add(-time.Second))
	ob.enqueue(t, s, m)
	ob.enqueue(t, s, other)
	first := ob.claim(t, s, authd.OutboxBackchannelLogout, now, time.Minute, 10)
	if len(first) != 2 {
		t.Fatalf("Claim returned %q, want 2 messages", messageIDs(first))
	}
	next := now.Add(10 * time.Second) // inside the lease: Reschedule cuts it short
	mustOK(t, s.Reschedule(t.Context(), m.ID, next, "connection refused"), "Reschedule")
	got := ob.claim(t, s, authd.OutboxBackchannelLogout, next, time.Minute, 10)
	if len(got) != 1 {
		t.Fatalf("Claim at the rescheduled NextAt returned %q, want [%s] only", messageIDs(got), m.ID)
	}
	want := claimed(m, now, time.Minute)
	want.LastErr = "connection refused"
	checkMessage(t, "Claim after Reschedule", claimed(want, next, time.Minute), got[0])
	// A later Reschedule replaces LastErr, an empty one clears it.
	mustOK(t, s.Reschedule(t.Context(), m.ID, now.Add(time.Hour), ""), "Reschedule clearing LastErr")
	got = ob.claim(t, s, authd.OutboxBackchannelLogout, now.Add(time.Hour), time.Minute, 10)
	if len(got) != 2 || got[0].ID != other.ID || got[1].ID != m.ID {
		t.Fatalf("Claim an hour later returned %q, want [%s %s]", messageIDs(got), other.ID, m.ID)
	}
	if got[1].LastErr != "" {
		t.Fatalf("LastErr after Reschedule with \"\": %q, want \"\"", got[1].LastErr)
	}
}

func (ob outboxSuite) rescheduleNotFound(t *testing.T) {
	s := ob.newStore(t)
	m := newMessage(Now())
	ob.enqueue(t, s, m)
	for _, id := range []string{NewID("msg"), "", m.ID[:len(m.ID)-1]} {
		wantErr(t, s.Reschedule(t.Context(), id, Now(), "x"), authd.ErrNotFound, "Reschedule("+id+")")
	}
	mustOK(t, s.DeleteMessage(t.Context(), m.ID), "DeleteMessage")
	wantErr(t, s.Reschedule(t.Context(), m.ID, Now(), "x"), authd.ErrNotFound, "Reschedule of a deleted message")
}

func (ob outboxSuite) deleteIdempotent(t *testing.T) {
	s := ob.newStore(t)
	now := Now()
	m, other := newMessage(now), newMessage(now)
	ob.enqueue(t, s, m)
	ob.enqueue(t, s, other)
	mustOK(t, s.DeleteMessage(t.Context(), m.ID), "DeleteMessage")
	mustOK(t, s.DeleteMessage(t.Context(), m.ID), "DeleteMessage a second time")
	mustOK(t, s.DeleteMessage(t.Context(), NewID("msg")), "DeleteMessage of an unknown id")
	got := ob.claim(t, s, authd.OutboxBackchannelLogout, now, time.Minute, 10)
	if !slices.Equal(messageIDs(got), []string{other.ID}) {
		t.Fatalf("Claim after DeleteMessage returned %q, want [%s] only", messageIDs(got), other.ID)
	}
	// The id is free again.
	ob.enqueue(t, s, m)
}

func (ob outboxSuite) honoursCancellation(t *testing.T) {
	s := ob.newStore(t)
	now := Now()
	m, n := newMessage(now), newMessage(now)
	ob.enqueue(t, s, m)
	ctx := cancelled(t)
	wantCanceled(t, s.Enqueue(ctx, n), "Enqueue")
	_, err := s.Claim(ctx, authd.OutboxBackchannelLogout, now, time.Minute, 10)
	wantCanceled(t, err, "Claim")
	wantCanceled(t, s.Reschedule(ctx, m.ID, now.Add(time.Hour), "x"), "Reschedule")
	wantCanceled(t, s.DeleteMessage(ctx, m.ID), "DeleteMessage")
	got := ob.claim(t, s, authd.OutboxBackchannelLogout, now, time.Minute, 10)
	if !slices.Equal(messageIDs(got), []string{m.ID}) {
		t.Fatalf("Claim after the cancelled calls returned %q, want [%s] only", messageIDs(got), m.ID)
	}
	checkMessage(t, "the message after the cancelled calls", claimed(m, now, time.Minute), got[0])
}
