package token

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authd/authd"
)

// countingList is a revocation list that counts RevokedSince calls and
// fails them while down.
type countingList struct {
	authd.RevocationList // nil: only RevokedSince is called
	calls                int
	down                 bool
}

func (l *countingList) RevokedSince(context.Context, string, time.Time) ([]authd.Revocation, string, error) {
	l.calls++
	if l.down {
		return nil, "", authd.ErrUnavailable
	}
	return nil, "c", nil
}

// TestProberPoll: with a change probe, a poll calls RevokedSince only when
// the probe reports a change or fails, when the last Sync failed, and once
// every period regardless; a poll it skips still marks the set fresh.
// Counted queries on an injected clock, no timing.
func TestProberPoll(t *testing.T) {
	ctx := t.Context()
	list := &countingList{}
	r := NewRevocations(list, RevocationsConfig{PollInterval: 20 * time.Millisecond})
	clock := time.Now()
	probe := struct {
		changed bool
		err     error
	}{}
	p := &prober{r: r, every: time.Second, now: func() time.Time { return clock },
		changed: func(context.Context) (bool, error) { return probe.changed, probe.err }}
	step := func(what string, wantCalls int) {
		t.Helper()
		before := list.calls
		_ = p.poll(ctx)
		if got := list.calls - before; got != wantCalls {
			t.Errorf("%s: %d RevokedSince calls, want %d", what, got, wantCalls)
		}
		clock = clock.Add(20 * time.Millisecond)
	}

	step("first poll, probe unchanged", 1)
	for range 10 {
		step("idle poll", 0)
	}
	if err := r.Fresh(); err != nil {
		t.Errorf("after idle polls: %v", err)
	}
	if last := r.lastSync.Load(); last == nil || !last.Equal(clock.Add(-20*time.Millisecond)) {
		t.Errorf("lastSync = %v, want the last poll's start", last)
	}
	probe.changed = true
	step("probe reports a change", 1)
	probe.changed = false
	step("idle poll", 0)
	probe.err = errors.New("probe down")
	step("probe fails", 1)
	probe.err = nil
	step("idle poll", 0)

	list.down = true
	probe.changed = true
	step("change, list down", 1)
	probe.changed = false
	step("after a failed Sync, even unchanged", 1)
	list.down = false
	step("after a failed Sync, list back", 1)
	step("idle poll", 0)

	clock = clock.Add(time.Second)
	step("a period without a Sync", 1)
	step("idle poll", 0)
}

// probedList is a countingList with a scripted change probe.
type probedList struct {
	countingList
	changed chan bool
	wake    chan struct{}
}

func (l *probedList) ChangeProbe(context.Context) (func(context.Context) (bool, error), <-chan struct{}, func() error, error) {
	return func(ctx context.Context) (bool, error) {
		select {
		case c := <-l.changed:
			return c, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}, l.wake, func() error { return nil }, nil
}

// TestRunUsesProbe: Run takes the probe of a list that has one and calls
// RevokedSince only when it reports a change (the test hands each probe
// answer over a channel, so it counts polls, not time).
func TestRunUsesProbe(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	list := &probedList{changed: make(chan bool), wake: make(chan struct{}, 1)}
	r := NewRevocations(list, RevocationsConfig{PollInterval: time.Millisecond})
	done := make(chan struct{})
	start := time.Now()
	go func() { r.Run(ctx); close(done) }()
	list.changed <- false // first poll: Syncs (nothing synced yet)
	for range 5 {
		list.changed <- false
	}
	list.changed <- true
	list.changed <- false // a poll after the Sync above: it has finished
	cancel()
	<-done
	if time.Since(start) >= fullSyncEvery/2 {
		t.Skip("too slow a machine: Run may have synced in full on its own")
	}
	if list.calls != 2 {
		t.Errorf("%d RevokedSince calls, want 2 (the first poll, the change)", list.calls)
	}
}
