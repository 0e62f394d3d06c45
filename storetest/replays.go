package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/authd/authd"
)

// ReplayPruning says what a store's PruneReplays does, the one choice the
// ReplaySet contract leaves to the store.
type ReplayPruning int

const (
	// PrunesReplays: records stay until PruneReplays deletes them (the SQL
	// stores). The suite checks that they are gone afterwards.
	PrunesReplays ReplayPruning = iota
	// ReplaysExpireByThemselves: records expire by themselves (Redis
	// TTLs) and PruneReplays may do nothing, so the suite cannot see
	// whether it deleted anything; the store's own tests check the TTLs.
	ReplaysExpireByThemselves
)

// RunReplaySet runs the ReplaySet contract (dpop.go) against sets made by
// newSet, which must return a fresh, empty set each time it is called.
func RunReplaySet(t *testing.T, newSet func(t *testing.T) authd.ReplaySet, pruning ReplayPruning) {
	t.Helper()
	rs := replaySuite{newSet, pruning}
	t.Run("Remember records key and reports true when key was not recorded", rs.firstTrue)
	t.Run("Remember reports false when key is recorded and alive: a replay", rs.replayFalse)
	t.Run("Remember changes nothing on a replay", rs.replayChangesNothing)
	t.Run("Remember reports true when the record expired before now, and records key until expiresAt", rs.expiredTrue)
	t.Run("Remember of a record already expired at now reports true", rs.bornExpired)
	t.Run("Remember keeps keys apart", rs.keysApart)
	t.Run("Remember reports true to exactly one of n concurrent calls with one key", rs.concurrentOne)
	t.Run("Remember reports true to exactly one of n concurrent calls with one expired key", rs.concurrentExpired)
	t.Run("PruneReplays deletes the records that expired before now", rs.pruneDeletes)
	t.Run("PruneReplays keeps the records alive at now", rs.pruneKeeps)
	t.Run("honours ctx cancellation", rs.honoursCancellation)
}

// replaySuite is what RunReplaySet's subtests share: the constructor of
// fresh sets, what the set's PruneReplays does, and the helpers over a set
// as methods.
type replaySuite struct {
	newSet  func(t *testing.T) authd.ReplaySet
	pruning ReplayPruning
}

// newJTI returns a fresh key, as a proof's jti (RFC 9449 §4.2: at least
// 96 bits of randomness).
func newJTI() string { return NewID("jti") }

// remember calls Remember and fails t unless it reports want.
func (replaySuite) remember(t *testing.T, s authd.ReplaySet, key string, expiresAt, now time.Time, want bool, what string) {
	t.Helper()
	got, err := s.Remember(t.Context(), key, expiresAt, now)
	mustOK(t, err, "Remember "+what)
	if got != want {
		t.Fatalf("Remember %s (key %q, expiresAt %s, now %s): got %v, want %v",
			what, key, fmtTime(expiresAt), fmtTime(now), got, want)
	}
}

func (rs replaySuite) firstTrue(t *testing.T) {
	s := rs.newSet(t)
	now := Now()
	k := newJTI()
	rs.remember(t, s, k, now.Add(5*time.Minute), now, true, "of a new key")
	// Recorded: a second call is a replay.
	rs.remember(t, s, k, now.Add(5*time.Minute), now, false, "a second time")
}

func (rs replaySuite) replayFalse(t *testing.T) {
	// Reading: a record is alive up to and including its expiresAt, as a
	// challenge is (TakeChallenge); it "expired before now" only when
	// expiresAt is before now.
	s := rs.newSet(t)
	now := Now()
	exp := now.Add(5 * time.Minute)
	k := newJTI()
	rs.remember(t, s, k, exp, now, true, "of a new key")
	rs.remember(t, s, k, exp, now, false, "again at once")
	rs.remember(t, s, k, exp, now.Add(time.Minute), false, "a minute later")
	rs.remember(t, s, k, exp, exp, false, "at exactly expiresAt")
	// A now before the first call's (a node whose clock is behind).
	rs.remember(t, s, k, exp, now.Add(-time.Minute), false, "from a clock behind")
}

func (rs replaySuite) replayChangesNothing(t *testing.T) {
	s := rs.newSet(t)
	now := Now()
	exp := now.Add(5 * time.Minute)
	// A refused call with a later expiresAt does not extend the record...
	k := newJTI()
	rs.remember(t, s, k, exp, now, true, "of a new key")
	rs.remember(t, s, k, exp.Add(time.Hour), now, false, "a replay with a later expiresAt")
	rs.remember(t, s, k, exp.Add(2*time.Hour), exp.Add(Precision), true, "just after the first expiresAt")
	// ... and one with an earlier expiresAt does not shorten it.
	k2 := newJTI()
	rs.remember(t, s, k2, exp, now, true, "of a new key")
	rs.remember(t, s, k2, now.Add(time.Minute), now, false, "a replay with an earlier expiresAt")
	rs.remember(t, s, k2, exp, now.Add(2*time.Minute), false, "after the replay's expiresAt, before the first's")
	rs.remember(t, s, k2, exp, exp, false, "at the first expiresAt")
}

func (rs replaySuite) expiredTrue(t *testing.T) {
	s := rs.newSet(t)
	now := Now()
	exp1 := now.Add(5 * time.Minute)
	exp2 := now.Add(time.Hour)
	k := newJTI()
	rs.remember(t, s, k, exp1, now, true, "of a new key")
	rs.remember(t, s, k, exp2, exp1.Add(Precision), true, "one microsecond after expiresAt")
	// Recorded again, until the new expiresAt.
	rs.remember(t, s, k, exp2, exp1.Add(2*Precision), false, "right after it was recorded again")
	rs.remember(t, s, k, exp2, exp2, false, "at exactly the new expiresAt")
	rs.remember(t, s, k, exp2.Add(time.Hour), exp2.Add(Precision), true, "after the new expiresAt")
	// Long after expiry too.
	k2 := newJTI()
	rs.remember(t, s, k2, exp1, now, true, "of a new key")
	rs.remember(t, s, k2, exp2.Add(24*time.Hour), exp1.Add(2*time.Hour), true, "two hours after expiresAt")
	rs.remember(t, s, k2, exp2.Add(24*time.Hour), exp1.Add(3*time.Hour), false, "after it was recorded again")
}

func (rs replaySuite) bornExpired(t *testing.T) {
	// Reading: a key recorded with an expiresAt already before now is
	// reported true (it was not recorded) and its record is expired at
	// once: a later call reports true again. Such a call still meets an
	// alive record of the key: that is a replay.
	s := rs.newSet(t)
	now := Now()
	k := newJTI()
	rs.remember(t, s, k, now.Add(-time.Minute), now, true, "with expiresAt before now")
	rs.remember(t, s, k, now.Add(-time.Minute), now, true, "again with expiresAt before now")
	rs.remember(t, s, k, now.Add(5*time.Minute), now, true, "with a live expiresAt")
	rs.remember(t, s, k, now.Add(-time.Minute), now, false, "with expiresAt before now, the key alive")
	rs.remember(t, s, k, now.Add(time.Hour), now.Add(time.Minute), false, "after the expired call")
}

func (rs replaySuite) keysApart(t *testing.T) {
	// Reading: a key is any string, compared exactly: bytes a C string or
	// a text column cannot hold (NUL, invalid UTF-8) included.
	s := rs.newSet(t)
	now := Now()
	exp := now.Add(5 * time.Minute)
	k := newJTI()
	rs.remember(t, s, k, exp, now, true, "of a new key")
	others := []string{newJTI(), k + "x", k[:len(k)-1], k + "\x00", "\x00" + k, "\xff" + k, "JTI" + k[3:], ""}
	for _, o := range others {
		rs.remember(t, s, o, exp, now, true, fmt.Sprintf("of another key (%q)", o))
	}
	for _, o := range others {
		rs.remember(t, s, o, exp, now, false, fmt.Sprintf("of another key again (%q)", o))
	}
	rs.remember(t, s, k, exp, now, false, "of the first key again")
	// One key's expiry does not free another's.
	k2 := newJTI()
	rs.remember(t, s, k2, exp.Add(time.Hour), now, true, "of a key expiring later")
	rs.remember(t, s, k, exp, exp.Add(Precision), true, "of the first key after its expiry")
	rs.remember(t, s, k2, exp, exp.Add(Precision), false, "of the later key then")
}

func (rs replaySuite) concurrentOne(t *testing.T) {
	s := rs.newSet(t)
	now := Now()
	k := newJTI()
	wins := race(t, concurrency, func(int) (bool, error) {
		return s.Remember(t.Context(), k, now.Add(5*time.Minute), now)
	})
	if wins != 1 {
		t.Fatalf("%d of %d concurrent Remember of one key reported true, want exactly 1", wins, concurrency)
	}
	rs.remember(t, s, k, now.Add(5*time.Minute), now, false, "after the race")
}

func (rs replaySuite) concurrentExpired(t *testing.T) {
	// The record exists, expired: the calls race to record it again.
	s := rs.newSet(t)
	now := Now()
	exp := now.Add(5 * time.Minute)
	k := newJTI()
	rs.remember(t, s, k, exp, now, true, "of a new key")
	later := exp.Add(time.Minute)
	wins := race(t, concurrency, func(int) (bool, error) {
		return s.Remember(t.Context(), k, later.Add(5*time.Minute), later)
	})
	if wins != 1 {
		t.Fatalf("%d of %d concurrent Remember of one expired key reported true, want exactly 1", wins, concurrency)
	}
	rs.remember(t, s, k, later.Add(5*time.Minute), later, false, "after the race")
}

// pruneKeys records four keys around cut: two expired before it (a minute
// and a microsecond), one expiring at it and one after it.
func (rs replaySuite) pruneKeys(t *testing.T, s authd.ReplaySet, now, cut time.Time) (gone, kept []string) {
	t.Helper()
	for _, exp := range []time.Time{cut.Add(-time.Minute), cut.Add(-Precision), cut, cut.Add(time.Minute)} {
		k := newJTI()
		rs.remember(t, s, k, exp, now, true, "of a new key")
		if exp.Before(cut) {
			gone = append(gone, k)
		} else {
			kept = append(kept, k)
		}
	}
	return gone, kept
}

func (rs replaySuite) pruneDeletes(t *testing.T) {
	s := rs.newSet(t)
	now := Now()
	cut := now.Add(10 * time.Minute)
	gone, _ := rs.pruneKeys(t, s, now, cut)
	mustOK(t, s.PruneReplays(t.Context(), cut), "PruneReplays")
	mustOK(t, s.PruneReplays(t.Context(), cut), "PruneReplays again")
	// Asked with an earlier now, a pruned record would still be alive: it
	// is reported new because it was deleted. A set whose records expire
	// by themselves may have kept it: ask at the cut, where it is expired.
	at, what := now, "of a pruned key, from a clock behind the cut"
	if rs.pruning != PrunesReplays {
		at, what = cut, "of a pruned key at the cut"
	}
	for _, k := range gone {
		rs.remember(t, s, k, cut.Add(time.Hour), at, true, what)
		rs.remember(t, s, k, cut.Add(time.Hour), at, false, "of a pruned key recorded again")
	}
}

func (rs replaySuite) pruneKeeps(t *testing.T) {
	s := rs.newSet(t)
	now := Now()
	cut := now.Add(10 * time.Minute)
	_, kept := rs.pruneKeys(t, s, now, cut)
	mustOK(t, s.PruneReplays(t.Context(), cut), "PruneReplays")
	for _, k := range kept {
		rs.remember(t, s, k, cut.Add(time.Hour), now, false, "of a kept key")
		rs.remember(t, s, k, cut.Add(time.Hour), cut, false, "of a kept key at the cut")
	}
}

func (rs replaySuite) honoursCancellation(t *testing.T) {
	s := rs.newSet(t)
	now := Now()
	exp := now.Add(5 * time.Minute)
	k := newJTI()
	rs.remember(t, s, k, exp, now, true, "of a new key")
	ctx := cancelled(t)
	k2 := newJTI()
	_, err := s.Remember(ctx, k2, exp, now)
	wantCanceled(t, err, "Remember")
	_, err = s.Remember(ctx, k, exp.Add(time.Hour), exp.Add(Precision))
	wantCanceled(t, err, "Remember of an expired key")
	wantCanceled(t, s.PruneReplays(ctx, exp.Add(time.Hour)), "PruneReplays")
	// Nothing was recorded, changed or pruned.
	rs.remember(t, s, k2, exp, now, true, "of the key remembered with a cancelled context")
	rs.remember(t, s, k, exp, now, false, "of the first key")
	rs.remember(t, s, k, exp.Add(time.Hour), exp.Add(Precision), true, "of the first key after its expiry")
}
