package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/authd/authd"
)

// RunChallengeStore runs the ChallengeStore contract against stores made
// by newStore, which must return a fresh, empty store each time it is
// called.
func RunChallengeStore(t *testing.T, newStore func(t *testing.T) authd.ChallengeStore) {
	t.Helper()
	cs := challengeSuite{newStore}
	t.Run("PutChallenge then TakeChallenge returns the data", cs.putThenTake)
	t.Run("TakeChallenge deletes the challenge: it is used once", cs.takeDeletes)
	t.Run("PutChallenge ErrConflict when key exists", cs.putConflict)
	t.Run("TakeChallenge gives the data to exactly one of n concurrent calls", cs.takeConcurrently)
	t.Run("TakeChallenge ErrNotFound when there is none", cs.takeNotFound)
	t.Run("TakeChallenge ErrNotFound when it expired before now", cs.takeExpired)
	t.Run("DeleteChallengesBefore deletes the challenges that expired before t and returns how many", cs.deleteBefore)
	t.Run("honours ctx cancellation", cs.honoursCancellation)
}

// challengeSuite is what RunChallengeStore's subtests share: the
// constructor of fresh stores, and the helpers over a store as methods.
type challengeSuite struct {
	newStore func(t *testing.T) authd.ChallengeStore
}

// newChallenge returns a fresh key and data (with a zero byte first, so
// that stores that treat it as a C string are caught), expiring in five
// minutes.
func newChallenge() (key string, data []byte, expiresAt time.Time) {
	return NewID("wa"), append(NewHash(), `{"challenge":"x"}`...), Now().Add(5 * time.Minute)
}

func (challengeSuite) put(t *testing.T, s authd.ChallengeStore, key string, data []byte, expiresAt time.Time) {
	t.Helper()
	mustOK(t, s.PutChallenge(t.Context(), key, data, expiresAt), "PutChallenge "+key)
}

// take takes key at now and fails t unless it gets want.
func (challengeSuite) take(t *testing.T, s authd.ChallengeStore, key string, now time.Time, want []byte) {
	t.Helper()
	got, err := s.TakeChallenge(t.Context(), key, now)
	mustOK(t, err, "TakeChallenge "+key)
	if !bytes.Equal(got, want) {
		t.Fatalf("TakeChallenge %s: got %x, want %x", key, got, want)
	}
}

// gone fails t unless TakeChallenge of key at now is ErrNotFound.
func (challengeSuite) gone(t *testing.T, s authd.ChallengeStore, key string, now time.Time, what string) {
	t.Helper()
	got, err := s.TakeChallenge(t.Context(), key, now)
	if err == nil {
		t.Fatalf("TakeChallenge %s: got %x, want ErrNotFound", what, got)
	}
	wantErr(t, err, authd.ErrNotFound, "TakeChallenge "+what)
}

func (cs challengeSuite) putThenTake(t *testing.T) {
	s := cs.newStore(t)
	k1, d1, exp := newChallenge()
	k2, d2, _ := newChallenge()
	k3, _, _ := newChallenge()
	cs.put(t, s, k1, d1, exp)
	cs.put(t, s, k2, d2, exp)
	cs.put(t, s, k3, nil, exp)
	cs.take(t, s, k2, Now(), d2)
	cs.take(t, s, k1, Now(), d1)
	cs.take(t, s, k3, Now(), nil) // nil and empty are the same
}

func (cs challengeSuite) takeDeletes(t *testing.T) {
	s := cs.newStore(t)
	k, d, exp := newChallenge()
	cs.put(t, s, k, d, exp)
	cs.take(t, s, k, Now(), d)
	cs.gone(t, s, k, Now(), "a second time")
	// The key is free again.
	cs.put(t, s, k, d, exp)
	cs.take(t, s, k, Now(), d)
}

func (cs challengeSuite) putConflict(t *testing.T) {
	// Reading: the refused PutChallenge changes nothing: the first data
	// and the first expiry stay.
	s := cs.newStore(t)
	k, d, exp := newChallenge()
	cs.put(t, s, k, d, exp)
	_, other, _ := newChallenge()
	wantErr(t, s.PutChallenge(t.Context(), k, other, exp.Add(time.Hour)), authd.ErrConflict, "PutChallenge with an existing key")
	cs.gone(t, s, k, exp.Add(Precision), "after the first expiry") // not the second's
	cs.take(t, s, k, exp, d)
}

func (cs challengeSuite) takeConcurrently(t *testing.T) {
	// Reading: "at most one gets it" of a live challenge is exactly one;
	// the others get ErrNotFound (there is none any more).
	s := cs.newStore(t)
	k, d, exp := newChallenge()
	cs.put(t, s, k, d, exp)
	got := make([][]byte, concurrency)
	wins := race(t, concurrency, func(i int) (bool, error) {
		data, err := s.TakeChallenge(t.Context(), k, Now())
		if err != nil {
			if errors.Is(err, authd.ErrNotFound) {
				return false, nil
			}
			return false, err
		}
		got[i] = data
		return true, nil
	})
	if wins != 1 {
		t.Fatalf("%d of %d concurrent TakeChallenge got the data, want exactly 1", wins, concurrency)
	}
	for i, g := range got {
		if g != nil && !bytes.Equal(g, d) {
			t.Fatalf("call %d got %x, want %x", i, g, d)
		}
	}
}

func (cs challengeSuite) takeNotFound(t *testing.T) {
	s := cs.newStore(t)
	k, d, exp := newChallenge()
	cs.put(t, s, k, d, exp)
	for _, key := range []string{NewID("wa"), "", k + "x", k[:len(k)-1], string(d)} {
		cs.gone(t, s, key, Now(), fmt.Sprintf("(%q)", key))
	}
	cs.take(t, s, k, Now(), d)
}

func (cs challengeSuite) takeExpired(t *testing.T) {
	// Reading: a challenge "expired before now" when its expiresAt is
	// before now, as DeleteChallengesBefore(now) would delete it; at
	// exactly expiresAt it is still taken. An expired challenge may stay
	// stored until DeleteChallengesBefore (the suite does not look).
	s := cs.newStore(t)
	k, d, exp := newChallenge()
	cs.put(t, s, k, d, exp)
	cs.gone(t, s, k, exp.Add(Precision), "one microsecond after expiresAt")
	cs.gone(t, s, k, exp.Add(time.Hour), "an hour after expiresAt")
	k2, d2, _ := newChallenge()
	cs.put(t, s, k2, d2, exp)
	cs.take(t, s, k2, exp, d2)
}

func (cs challengeSuite) deleteBefore(t *testing.T) {
	// Reading: the int is how many it deleted, as DeleteCodesBefore's.
	s := cs.newStore(t)
	cut := Now().Add(10 * time.Minute)
	mk := func(expires time.Time) (string, []byte) {
		k, d, _ := newChallenge()
		cs.put(t, s, k, d, expires)
		return k, d
	}
	g1, _ := mk(cut.Add(-time.Minute))
	g2, _ := mk(cut.Add(-Precision))
	k1, d1 := mk(cut)
	k2, d2 := mk(cut.Add(time.Minute))
	n, err := s.DeleteChallengesBefore(t.Context(), cut)
	mustOK(t, err, "DeleteChallengesBefore")
	if n != 2 {
		t.Errorf("DeleteChallengesBefore deleted %d, want 2", n)
	}
	n, err = s.DeleteChallengesBefore(t.Context(), cut)
	mustOK(t, err, "second DeleteChallengesBefore")
	if n != 0 {
		t.Errorf("second DeleteChallengesBefore deleted %d, want 0", n)
	}
	// The deleted ones are gone even to a caller whose clock is behind;
	// the others are kept.
	now := Now()
	cs.gone(t, s, g1, now, "of a deleted challenge")
	cs.gone(t, s, g2, now, "of a deleted challenge")
	cs.take(t, s, k1, now, d1)
	cs.take(t, s, k2, now, d2)
	// A deleted challenge's key is free again.
	cs.put(t, s, g1, nil, cut)
}

func (cs challengeSuite) honoursCancellation(t *testing.T) {
	s := cs.newStore(t)
	k, d, exp := newChallenge()
	cs.put(t, s, k, d, exp)
	ctx := cancelled(t)
	k2, d2, _ := newChallenge()
	wantCanceled(t, s.PutChallenge(ctx, k2, d2, exp), "PutChallenge")
	_, err := s.TakeChallenge(ctx, k, Now())
	wantCanceled(t, err, "TakeChallenge")
	_, err = s.DeleteChallengesBefore(ctx, exp.Add(time.Hour))
	wantCanceled(t, err, "DeleteChallengesBefore")
	cs.gone(t, s, k2, Now(), "of the challenge put with a cancelled context")
	cs.take(t, s, k, Now(), d)
}
