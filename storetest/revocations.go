package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd"
)

// RunRevocationList runs the RevocationList contract against lists made by
// newList, which must return a fresh, empty list each time it is called.
func RunRevocationList(t *testing.T, newList func(t *testing.T) authd.RevocationList) {
	t.Helper()
	rv := revocationSuite{newList}
	t.Run("Revoke then RevokedSince from the beginning returns the entry", rv.revokeThenSince)
	t.Run("RevokedSince returns entries oldest first", rv.sinceOldestFirst)
	t.Run("RevokedSince of an empty list returns none and a cursor that works", rv.sinceEmptyList)
	t.Run("RevokedSince returns only entries added after the cursor", rv.sinceAfterCursor)
	t.Run("RevokedSince leaves out entries whose ExpiresAt is not after now", rv.sinceLeavesOutExpired)
	t.Run("RevokedSince's cursor moves past entries it left out as expired", rv.cursorPassesExpired)
	t.Run("the same id under both kinds is two entries", rv.kindsApart)
	t.Run("Revoke is idempotent", rv.revokeIdempotent)
	t.Run("Revoke of a listed id keeps the later ExpiresAt", rv.revokeKeepsLaterExpiry)
	t.Run("Revoke extending an entry's ExpiresAt is returned again after the cursor", rv.extensionReturnedAgain)
	t.Run("RevokedSince refuses a malformed cursor with *authd.InvalidError", rv.malformedCursor)
	t.Run("entries revoked concurrently are never lost", rv.concurrentNeverLost)
	t.Run("PruneRevocations deletes entries whose ExpiresAt is before now", rv.pruneDeletesExpired)
	t.Run("PruneRevocations keeps cursors working", rv.pruneKeepsCursors)
	t.Run("honours ctx cancellation", rv.honoursCancellation)
}

// revocationSuite is what RunRevocationList's subtests share: the
// constructor of fresh lists, and the helpers over a list as methods.
type revocationSuite struct {
	newList func(t *testing.T) authd.RevocationList
}

// newRev returns an entry of kind with a fresh id. All ExpiresAt lie in the
// real future (TTL-based lists keep them); expiry is exercised through the
// now argument.
func newRev(kind string, expires time.Time) authd.Revocation {
	return authd.Revocation{Kind: kind, ID: NewID(kind), ExpiresAt: expires}
}

func (revocationSuite) revoke(t *testing.T, l authd.RevocationList, rs ...authd.Revocation) {
	t.Helper()
	for _, r := range rs {
		mustOK(t, l.Revoke(t.Context(), r), "Revoke "+r.ID)
	}
}

func (revocationSuite) since(t *testing.T, l authd.RevocationList, cursor string, now time.Time) ([]authd.Revocation, string) {
	t.Helper()
	rs, next, err := l.RevokedSince(t.Context(), cursor, now)
	mustOK(t, err, fmt.Sprintf("RevokedSince(%q)", cursor))
	return rs, next
}

// wantRevs checks the kinds, ids and order of got, and the fields of each
// against want.
func (revocationSuite) wantRevs(t *testing.T, what string, want, got []authd.Revocation) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %s, want %s", what, revIDs(got), revIDs(want))
	}
	for i := range want {
		if got[i].Kind != want[i].Kind || got[i].ID != want[i].ID {
			t.Fatalf("%s: got %s, want %s in this order", what, revIDs(got), revIDs(want))
		}
		checkRevocation(t, fmt.Sprintf("%s[%d]", what, i), want[i], got[i])
	}
}

func (rv revocationSuite) revokeThenSince(t *testing.T) {
	l := rv.newList(t)
	now := Now()
	r := newRev(authd.RevokeSID, now.Add(time.Hour))
	rv.revoke(t, l, r)
	got, _ := rv.since(t, l, "", now)
	rv.wantRevs(t, "RevokedSince(\"\")", []authd.Revocation{r}, got)
}

func (rv revocationSuite) sinceOldestFirst(t *testing.T) {
	l := rv.newList(t)
	now := Now()
	var want []authd.Revocation
	for i := range 6 {
		kind := authd.RevokeJTI
		if i%2 == 0 {
			kind = authd.RevokeSID
		}
		// ExpiresAt out of order: the order is the order of adding.
		want = append(want, newRev(kind, now.Add(time.Duration(10-i)*time.Hour)))
	}
	rv.revoke(t, l, want...)
	got, _ := rv.since(t, l, "", now)
	rv.wantRevs(t, "RevokedSince(\"\")", want, got)
}

func (rv revocationSuite) sinceEmptyList(t *testing.T) {
	l := rv.newList(t)
	now := Now()
	got, c := rv.since(t, l, "", now)
	if len(got) != 0 {
		t.Fatalf("RevokedSince of an empty list: got %s", revIDs(got))
	}
	r := newRev(authd.RevokeJTI, now.Add(time.Hour))
	rv.revoke(t, l, r)
	got, _ = rv.since(t, l, c, now)
	rv.wantRevs(t, "RevokedSince(first cursor)", []authd.Revocation{r}, got)
}

func (rv revocationSuite) sinceAfterCursor(t *testing.T) {
	l := rv.newList(t)
	now := Now()
	r1, r2, r3 := newRev(authd.RevokeSID, now.Add(time.Hour)), newRev(authd.RevokeJTI, now.Add(time.Hour)), newRev(authd.RevokeSID, now.Add(time.Hour))
	rv.revoke(t, l, r1)
	got, c1 := rv.since(t, l, "", now)
	rv.wantRevs(t, "first call", []authd.Revocation{r1}, got)
	rv.revoke(t, l, r2, r3)
	got, c2 := rv.since(t, l, c1, now)
	rv.wantRevs(t, "second call", []authd.Revocation{r2, r3}, got)
	got, c3 := rv.since(t, l, c2, now)
	rv.wantRevs(t, "third call (nothing new)", nil, got)
	got, _ = rv.since(t, l, c3, now)
	rv.wantRevs(t, "fourth call (nothing new)", nil, got)
	// An old cursor still works: the list does not consume entries.
	got, _ = rv.since(t, l, c1, now)
	rv.wantRevs(t, "the first cursor again", []authd.Revocation{r2, r3}, got)
	got, _ = rv.since(t, l, "", now)
	rv.wantRevs(t, "from the beginning again", []authd.Revocation{r1, r2, r3}, got)
}

func (rv revocationSuite) sinceLeavesOutExpired(t *testing.T) {
	l := rv.newList(t)
	t0 := Now()
	early := newRev(authd.RevokeJTI, t0.Add(time.Hour))
	atNow := newRev(authd.RevokeJTI, t0.Add(2*time.Hour))
	late := newRev(authd.RevokeSID, t0.Add(3*time.Hour))
	rv.revoke(t, l, early, atNow, late)
	got, _ := rv.since(t, l, "", atNow.ExpiresAt)
	rv.wantRevs(t, "RevokedSince(now = atNow.ExpiresAt)", []authd.Revocation{late}, got)
	got, _ = rv.since(t, l, "", t0)
	rv.wantRevs(t, "RevokedSince(now before every ExpiresAt)", []authd.Revocation{early, atNow, late}, got)
}

func (rv revocationSuite) cursorPassesExpired(t *testing.T) {
	// Reading: the cursor marks a position in the list, not the last
	// entry returned.
	l := rv.newList(t)
	t0 := Now()
	r := newRev(authd.RevokeJTI, t0.Add(time.Hour))
	rv.revoke(t, l, r)
	got, c := rv.since(t, l, "", t0.Add(2*time.Hour))
	rv.wantRevs(t, "RevokedSince (entry expired)", nil, got)
	got, _ = rv.since(t, l, c, t0)
	rv.wantRevs(t, "RevokedSince(cursor) with an earlier now", nil, got)
}

func (rv revocationSuite) kindsApart(t *testing.T) {
	l := rv.newList(t)
	now := Now()
	a := newRev(authd.RevokeSID, now.Add(time.Hour))
	b := a
	b.Kind = authd.RevokeJTI
	b.ExpiresAt = now.Add(2 * time.Hour)
	rv.revoke(t, l, a, b)
	got, _ := rv.since(t, l, "", now)
	rv.wantRevs(t, "RevokedSince", []authd.Revocation{a, b}, got)
}

func (rv revocationSuite) revokeIdempotent(t *testing.T) {
	l := rv.newList(t)
	now := Now()
	r := newRev(authd.RevokeSID, now.Add(time.Hour))
	rv.revoke(t, l, r, r)
	got, c := rv.since(t, l, "", now)
	rv.wantRevs(t, "RevokedSince after revoking twice", []authd.Revocation{r}, got)
	rv.revoke(t, l, r)
	got, _ = rv.since(t, l, c, now)
	rv.wantRevs(t, "RevokedSince(cursor) after revoking a third time", nil, got)
}

func (rv revocationSuite) revokeKeepsLaterExpiry(t *testing.T) {
	l := rv.newList(t)
	now := Now()
	r := newRev(authd.RevokeJTI, now.Add(2*time.Hour))
	shorter, longer := r, r
	shorter.ExpiresAt = now.Add(time.Hour)
	longer.ExpiresAt = now.Add(3 * time.Hour)
	rv.revoke(t, l, r, shorter)
	got, _ := rv.since(t, l, "", now)
	rv.wantRevs(t, "after a shorter revocation", []authd.Revocation{r}, got)
	rv.revoke(t, l, longer)
	got, _ = rv.since(t, l, "", now)
	rv.wantRevs(t, "after a longer revocation", []authd.Revocation{longer}, got)
	rv.revoke(t, l, shorter)
	got, _ = rv.since(t, l, "", r.ExpiresAt)
	rv.wantRevs(t, "after a shorter one again, at the middle ExpiresAt", []authd.Revocation{longer}, got)
}

func (rv revocationSuite) extensionReturnedAgain(t *testing.T) {
	// Reading: a verifier that already holds the entry must learn the
	// later ExpiresAt, or it would forget the entry too early. Entries
	// added after the cursor include an extended one.
	l := rv.newList(t)
	now := Now()
	r := newRev(authd.RevokeSID, now.Add(time.Hour))
	rv.revoke(t, l, r)
	_, c := rv.since(t, l, "", now)
	longer := r
	longer.ExpiresAt = now.Add(5 * time.Hour)
	rv.revoke(t, l, longer)
	got, _ := rv.since(t, l, c, now)
	rv.wantRevs(t, "RevokedSince(cursor) after the extension", []authd.Revocation{longer}, got)
}

func (rv revocationSuite) malformedCursor(t *testing.T) {
	l := rv.newList(t)
	now := Now()
	rv.revoke(t, l, newRev(authd.RevokeSID, now.Add(time.Hour)))
	_, good := rv.since(t, l, "", now)
	for _, c := range []string{
		"not a cursor!",
		"\x00",
		"\xff\xfe",
		" " + good,
		good + " ",
		good + "\n",
		good + "!",
		"!" + good,
		strings.Repeat("9", 4096),
	} {
		got, next, err := l.RevokedSince(t.Context(), c, now)
		var inv *authd.InvalidError
		if !errors.As(err, &inv) {
			t.Fatalf("RevokedSince(%q): got %d entries, cursor %q, error %v; want an *authd.InvalidError", c, len(got), next, err)
		}
	}
}

func (rv revocationSuite) concurrentNeverLost(t *testing.T) {
	l := rv.newList(t)
	now := Now()
	const writers, each = 8, 50
	var done atomic.Bool
	seen := map[string]int{}
	readErr := follow(t, l, now, &done, seen)
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	var want []string
	var mu sync.Mutex
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				r := newRev(authd.RevokeJTI, now.Add(time.Duration(1+w*each+i)*time.Second))
				if err := l.Revoke(t.Context(), r); err != nil {
					errs <- err
					continue
				}
				mu.Lock()
				want = append(want, r.Kind+":"+r.ID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	done.Store(true)
	close(errs)
	for err := range errs {
		t.Fatalf("Revoke: %v", err)
	}
	if err := <-readErr; err != nil {
		t.Fatalf("RevokedSince: %v", err)
	}
	if len(want) != writers*each {
		t.Fatalf("%d revocations succeeded, want %d", len(want), writers*each)
	}
	for _, k := range want {
		if seen[k] != 1 {
			t.Errorf("entry %s seen %d times by the reader, want exactly once", k, seen[k])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("the reader saw %d entries, want %d", len(seen), len(want))
	}
}

// follow reads l from the beginning in a goroutine, cursor after cursor as
// a verifier does, counting in seen each entry it is given, until one full
// pass after done is set. The channel yields its error, if any, then closes.
func follow(t *testing.T, l authd.RevocationList, now time.Time, done *atomic.Bool, seen map[string]int) <-chan error {
	readErr := make(chan error, 1)
	go func() {
		defer close(readErr)
		cursor := ""
		for last := false; !last; {
			last = done.Load() // one more full pass after the writers stop
			rs, next, err := l.RevokedSince(t.Context(), cursor, now)
			if err != nil {
				readErr <- err
				return
			}
			for _, r := range rs {
				seen[r.Kind+":"+r.ID]++
			}
			cursor = next
		}
	}()
	return readErr
}

func (rv revocationSuite) pruneDeletesExpired(t *testing.T) {
	l := rv.newList(t)
	t0 := Now()
	gone := newRev(authd.RevokeJTI, t0.Add(time.Hour))
	atNow := newRev(authd.RevokeSID, t0.Add(2*time.Hour))
	kept := newRev(authd.RevokeJTI, t0.Add(3*time.Hour))
	rv.revoke(t, l, gone, atNow, kept)
	mustOK(t, l.PruneRevocations(t.Context(), atNow.ExpiresAt), "PruneRevocations")
	// Asked with an earlier now, a pruned entry would still be live: it
	// is missing because it was deleted.
	got, _ := rv.since(t, l, "", t0)
	rv.wantRevs(t, "RevokedSince after pruning", []authd.Revocation{atNow, kept}, got)
	mustOK(t, l.PruneRevocations(t.Context(), atNow.ExpiresAt), "PruneRevocations again")
}

func (rv revocationSuite) pruneKeepsCursors(t *testing.T) {
	// Deleting the newest entries must not let a new entry take a
	// position an old cursor already passed.
	l := rv.newList(t)
	t0 := Now()
	a, b := newRev(authd.RevokeJTI, t0.Add(time.Hour)), newRev(authd.RevokeJTI, t0.Add(time.Hour))
	rv.revoke(t, l, a, b)
	_, c := rv.since(t, l, "", t0)
	mustOK(t, l.PruneRevocations(t.Context(), t0.Add(2*time.Hour)), "PruneRevocations")
	r := newRev(authd.RevokeSID, t0.Add(3*time.Hour))
	rv.revoke(t, l, r)
	got, _ := rv.since(t, l, c, t0)
	rv.wantRevs(t, "RevokedSince(old cursor) after pruning and a new revocation", []authd.Revocation{r}, got)
}

func (rv revocationSuite) honoursCancellation(t *testing.T) {
	l := rv.newList(t)
	now := Now()
	ctx := cancelled(t)
	r := newRev(authd.RevokeSID, now.Add(time.Hour))
	wantCanceled(t, l.Revoke(ctx, r), "Revoke")
	_, _, err := l.RevokedSince(ctx, "", now)
	wantCanceled(t, err, "RevokedSince")
	wantCanceled(t, l.PruneRevocations(ctx, now), "PruneRevocations")
	got, _ := rv.since(t, l, "", now)
	rv.wantRevs(t, "RevokedSince after a cancelled Revoke", nil, got)
}

func revIDs(rs []authd.Revocation) string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.Kind + ":" + r.ID
	}
	return fmt.Sprintf("%q", ids)
}
