package sqlite

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/authd/authd"
)

// TestGate: the table is read on the first poll, on a change, on a failed
// probe and every recheckEvery polls, and not otherwise.
func TestGate(t *testing.T) {
	var g gate
	if !g.due(true, nil) {
		t.Fatal("first reading (changed): not due")
	}
	for i := 1; i < recheckEvery; i++ {
		if g.due(false, nil) {
			t.Fatalf("quiet poll %d: due", i)
		}
	}
	if !g.due(false, nil) {
		t.Fatalf("poll %d without a change: not due (the recheck)", recheckEvery)
	}
	if g.due(false, nil) {
		t.Fatal("the recheck did not restart the count")
	}
	if !g.due(true, nil) {
		t.Fatal("a change: not due")
	}
	if !g.due(false, context.DeadlineExceeded) {
		t.Fatal("a failed probe: not due")
	}
}

// TestChangeProbe: the probe reports commits of the write pool of the same
// DB and of another DB on the file, once each, and nothing else (reads do
// not count); on Linux a commit also wakes.
func TestChangeProbe(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "authd.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	changed, wake, closeProbe, err := db.ChangeProbe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer closeProbe()
	if runtime.GOOS == "linux" && wake == nil {
		t.Error("no wake channel on Linux")
	}
	probe := func(want bool, what string) {
		t.Helper()
		got, err := changed(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("after %s: changed = %v, want %v", what, got, want)
		}
	}
	drain := func() {
		for {
			select {
			case <-wake:
			default:
				return
			}
		}
	}
	probe(true, "nothing (the first call)")
	probe(false, "nothing")
	if _, _, err := db.RevokedSince(ctx, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	probe(false, "a read")
	drain()
	rev := authd.Revocation{Kind: authd.RevokeJTI, ID: "j1", ExpiresAt: time.Now().Add(time.Hour)}
	if err := db.Revoke(ctx, rev); err != nil {
		t.Fatal(err)
	}
	probe(true, "a commit of this DB")
	probe(false, "nothing more")
	if wake != nil {
		// Not a timing assertion: the event is already queued, or comes
		// soon; the deadline only stops a broken test.
		select {
		case <-wake:
		case <-time.After(10 * time.Second):
			t.Error("no wake after a commit")
		}
	}
	rev.ID = "j2"
	if err := other.Revoke(ctx, rev); err != nil {
		t.Fatal(err)
	}
	probe(true, "a commit of another DB on the file")
	probe(false, "nothing more")
}

// TestPacer: polls come every fast while hot; once cold, a wake makes the
// next poll due at once and the pacer hot again; a closed wake channel
// turns it into a plain fast poller. The idle sleep is an hour, so a
// return proves the wake (no timed assertion).
func TestPacer(t *testing.T) {
	ctx := t.Context()
	wake := make(chan struct{}, 1)
	p := newPacer(time.Millisecond, time.Hour, wake)
	p.hotPolls = 3
	if !p.wait(ctx) { // the first poll is fast
		t.Fatal("wait = false")
	}
	if p.hot != 0 {
		t.Fatalf("hot = %d after the first poll", p.hot)
	}
	wake <- struct{}{}
	if !p.wait(ctx) {
		t.Fatal("wait = false")
	}
	if p.hot != 3 {
		t.Fatalf("hot = %d after a wake, want 3", p.hot)
	}
	// A write while hot keeps it hot.
	p.wait(ctx)
	wake <- struct{}{}
	p.wait(ctx)
	if p.hot != 3 {
		t.Fatalf("hot = %d after a write while hot, want 3", p.hot)
	}
	for p.hot > 0 {
		p.wait(ctx)
	}
	// Cold: only ctx or a wake ends the wait.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if p.wait(cctx) {
		t.Fatal("wait = true after ctx ended")
	}
	close(wake)
	if !p.wait(ctx) || p.wake != nil {
		t.Fatal("a closed wake channel did not end the wait and turn the pacer to polling")
	}
	for range 5 {
		if !p.wait(ctx) { // every fast, forever
			t.Fatal("wait = false")
		}
	}
}
