package storetest

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd"
)

// RunLimiter runs the Limiter contract against limiters made by newLimiter,
// which must return a fresh, empty limiter each time it is called.
func RunLimiter(t *testing.T, newLimiter func(t *testing.T) authd.Limiter) {
	t.Helper()
	ls := limiterSuite{newLimiter}
	t.Run("Failures of a key with no window is 0", ls.failuresWithoutWindow)
	t.Run("the first failure opens a window of length window", ls.firstFailureOpensWindow)
	t.Run("later failures count in the window until it ends", ls.laterFailuresCount)
	t.Run("a later failure with another window length does not move the window's end", ls.otherLengthKeepsEnd)
	t.Run("the window ends at resetAt", ls.windowEndsAtResetAt)
	t.Run("a failure long after the window opens a new one", ls.failureAfterWindowOpensNew)
	t.Run("keys are counted apart", ls.keysApart)
	t.Run("ResetFailures forgets the key's window", ls.resetForgetsWindow)
	t.Run("ResetFailures is idempotent", ls.resetIdempotent)
	t.Run("n concurrent AddFailure calls add exactly n", ls.concurrentAddsExactlyN)
	t.Run("ForgiveFailure takes one back from a live window", ls.forgiveTakesOneBack)
	t.Run("ForgiveFailure does nothing without a live window", ls.forgiveWithoutWindow)
	t.Run("concurrent attempts get distinct slots: 40 against a limit of 3 check 3", ls.concurrentDistinctSlots)
	t.Run("concurrent AddFailure and ForgiveFailure: n added, m taken back", ls.concurrentAddAndForgive)
	t.Run("honours ctx cancellation", ls.honoursCancellation)
}

// limiterSuite is what RunLimiter's subtests share: the constructor of fresh
// limiters, and the helpers over a limiter as methods.
type limiterSuite struct {
	newLimiter func(t *testing.T) authd.Limiter
}

// window is the window length the subtests pass to AddFailure unless they
// test another.
const window = 15 * time.Minute

func (limiterSuite) add(t *testing.T, l authd.Limiter, key string, w time.Duration, now time.Time) (int, time.Time) {
	t.Helper()
	n, reset, err := l.AddFailure(t.Context(), key, w, now)
	mustOK(t, err, "AddFailure "+key)
	return n, reset
}

func (limiterSuite) failures(t *testing.T, l authd.Limiter, key string, now time.Time) (int, time.Time) {
	t.Helper()
	n, reset, err := l.Failures(t.Context(), key, now)
	mustOK(t, err, "Failures "+key)
	return n, reset
}

// want fails t unless the count and window end are wantN and wantReset.
func (limiterSuite) want(t *testing.T, what string, n int, reset time.Time, wantN int, wantReset time.Time) {
	t.Helper()
	if n != wantN || !reset.Equal(wantReset) {
		t.Fatalf("%s: got count %d resetAt %s, want %d and %s", what, n, fmtTime(reset), wantN, fmtTime(wantReset))
	}
}

func (limiterSuite) wantZero(t *testing.T, what string, n int) {
	t.Helper()
	if n != 0 {
		t.Fatalf("%s: got count %d, want 0", what, n)
	}
}

func (ls limiterSuite) failuresWithoutWindow(t *testing.T) {
	l := ls.newLimiter(t)
	n, _ := ls.failures(t, l, NewID("acct"), Now())
	ls.wantZero(t, "Failures of an unknown key", n)
}

func (ls limiterSuite) firstFailureOpensWindow(t *testing.T) {
	l := ls.newLimiter(t)
	key, t0 := NewID("acct"), Now()
	n, reset := ls.add(t, l, key, window, t0)
	ls.want(t, "first AddFailure", n, reset, 1, t0.Add(window))
	n, reset = ls.failures(t, l, key, t0)
	ls.want(t, "Failures", n, reset, 1, t0.Add(window))
}

func (ls limiterSuite) laterFailuresCount(t *testing.T) {
	l := ls.newLimiter(t)
	key, t0 := NewID("acct"), Now()
	ls.add(t, l, key, window, t0)
	n, reset := ls.add(t, l, key, window, t0.Add(time.Minute))
	ls.want(t, "second AddFailure", n, reset, 2, t0.Add(window))
	n, reset = ls.add(t, l, key, window, t0.Add(window-Precision))
	ls.want(t, "AddFailure at the window's last instant", n, reset, 3, t0.Add(window))
	n, reset = ls.failures(t, l, key, t0.Add(window-Precision))
	ls.want(t, "Failures at the window's last instant", n, reset, 3, t0.Add(window))
}

func (ls limiterSuite) otherLengthKeepsEnd(t *testing.T) {
	l := ls.newLimiter(t)
	key, t0 := NewID("acct"), Now()
	ls.add(t, l, key, window, t0)
	n, reset := ls.add(t, l, key, time.Hour, t0.Add(time.Minute))
	ls.want(t, "AddFailure with a longer window", n, reset, 2, t0.Add(window))
	n, reset = ls.add(t, l, key, time.Minute, t0.Add(2*time.Minute))
	ls.want(t, "AddFailure with a shorter window", n, reset, 3, t0.Add(window))
}

func (ls limiterSuite) windowEndsAtResetAt(t *testing.T) {
	l := ls.newLimiter(t)
	key, t0 := NewID("acct"), Now()
	ls.add(t, l, key, window, t0)
	ls.add(t, l, key, window, t0.Add(time.Second))
	end := t0.Add(window)
	n, _ := ls.failures(t, l, key, end)
	ls.wantZero(t, "Failures at resetAt", n)
	n, _ = ls.failures(t, l, key, end.Add(time.Hour))
	ls.wantZero(t, "Failures after resetAt", n)
	n, reset := ls.add(t, l, key, window, end)
	ls.want(t, "AddFailure at resetAt opens a new window", n, reset, 1, end.Add(window))
	n, reset = ls.failures(t, l, key, end.Add(time.Minute))
	ls.want(t, "Failures in the new window", n, reset, 1, end.Add(window))
}

func (ls limiterSuite) failureAfterWindowOpensNew(t *testing.T) {
	l := ls.newLimiter(t)
	key, t0 := NewID("acct"), Now()
	for range 5 {
		ls.add(t, l, key, window, t0)
	}
	later := t0.Add(3 * time.Hour)
	n, reset := ls.add(t, l, key, window, later)
	ls.want(t, "AddFailure after the window", n, reset, 1, later.Add(window))
}

func (ls limiterSuite) keysApart(t *testing.T) {
	l := ls.newLimiter(t)
	a, b, t0 := NewID("acct"), NewID("ip"), Now()
	ls.add(t, l, a, window, t0)
	ls.add(t, l, a, window, t0)
	n, reset := ls.add(t, l, b, time.Hour, t0.Add(time.Minute))
	ls.want(t, "AddFailure of b", n, reset, 1, t0.Add(time.Minute+time.Hour))
	n, reset = ls.failures(t, l, a, t0.Add(time.Minute))
	ls.want(t, "Failures of a", n, reset, 2, t0.Add(window))
}

func (ls limiterSuite) resetForgetsWindow(t *testing.T) {
	l := ls.newLimiter(t)
	key, other, t0 := NewID("acct"), NewID("acct"), Now()
	ls.add(t, l, key, window, t0)
	ls.add(t, l, key, window, t0)
	ls.add(t, l, other, window, t0)
	mustOK(t, l.ResetFailures(t.Context(), key), "ResetFailures")
	n, _ := ls.failures(t, l, key, t0)
	ls.wantZero(t, "Failures after ResetFailures", n)
	later := t0.Add(time.Minute)
	n, reset := ls.add(t, l, key, window, later)
	ls.want(t, "AddFailure after ResetFailures opens a new window", n, reset, 1, later.Add(window))
	n, reset = ls.failures(t, l, other, t0)
	ls.want(t, "Failures of another key", n, reset, 1, t0.Add(window))
}

func (ls limiterSuite) resetIdempotent(t *testing.T) {
	l := ls.newLimiter(t)
	key, t0 := NewID("acct"), Now()
	ls.add(t, l, key, window, t0)
	mustOK(t, l.ResetFailures(t.Context(), key), "first ResetFailures")
	mustOK(t, l.ResetFailures(t.Context(), key), "second ResetFailures")
	mustOK(t, l.ResetFailures(t.Context(), NewID("acct")), "ResetFailures of an unknown key")
	n, _ := ls.failures(t, l, key, t0)
	ls.wantZero(t, "Failures after two resets", n)
}

func (ls limiterSuite) concurrentAddsExactlyN(t *testing.T) {
	l := ls.newLimiter(t)
	key, t0 := NewID("ip"), Now()
	const n = 50
	counts := make([]int, n)
	resets := make([]time.Time, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			c, r, err := l.AddFailure(t.Context(), key, window, t0.Add(time.Duration(i)*time.Microsecond))
			if err != nil {
				errs <- err
				return
			}
			counts[i], resets[i] = c, r
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("AddFailure: %v", err)
	}
	got, reset := ls.failures(t, l, key, t0.Add(time.Second))
	if got != n {
		t.Fatalf("Failures after %d concurrent AddFailure: %d", n, got)
	}
	// Each call got its own new count, and all counted in one window.
	sorted := slices.Clone(counts)
	slices.Sort(sorted)
	for i, c := range sorted {
		if c != i+1 {
			t.Fatalf("counts returned: %v, want each of 1..%d once", sorted, n)
		}
	}
	for i, r := range resets {
		if !r.Equal(reset) {
			t.Fatalf("call %d: resetAt %s, want the window's %s", i, fmtTime(r), fmtTime(reset))
		}
	}
	if reset.Before(t0.Add(window)) || reset.After(t0.Add(window+n*time.Microsecond)) {
		t.Fatalf("resetAt %s, want the first failure's time plus %s", fmtTime(reset), window)
	}
}

func (ls limiterSuite) forgiveTakesOneBack(t *testing.T) {
	l := ls.newLimiter(t)
	key, t0 := NewID("ip"), Now()
	ls.add(t, l, key, window, t0)
	ls.add(t, l, key, window, t0)
	mustOK(t, l.ForgiveFailure(t.Context(), key, t0.Add(time.Minute)), "ForgiveFailure")
	n, reset := ls.failures(t, l, key, t0.Add(time.Minute))
	ls.want(t, "Failures after one ForgiveFailure", n, reset, 1, t0.Add(window))
	mustOK(t, l.ForgiveFailure(t.Context(), key, t0.Add(time.Minute)), "second ForgiveFailure")
	mustOK(t, l.ForgiveFailure(t.Context(), key, t0.Add(time.Minute)), "ForgiveFailure at zero")
	n, _ = ls.failures(t, l, key, t0.Add(time.Minute))
	ls.wantZero(t, "Failures after forgiving more than was counted", n)
	n, reset = ls.add(t, l, key, window, t0.Add(2*time.Minute))
	ls.want(t, "AddFailure after forgiving to zero (the window stays)", n, reset, 1, t0.Add(window))
}

func (ls limiterSuite) forgiveWithoutWindow(t *testing.T) {
	l := ls.newLimiter(t)
	key, t0 := NewID("ip"), Now()
	mustOK(t, l.ForgiveFailure(t.Context(), NewID("ip"), t0), "ForgiveFailure of an unknown key")
	ls.add(t, l, key, window, t0)
	end := t0.Add(window)
	mustOK(t, l.ForgiveFailure(t.Context(), key, end), "ForgiveFailure at the window's end")
	n, reset := ls.failures(t, l, key, end.Add(-time.Microsecond))
	ls.want(t, "Failures after ForgiveFailure of an ended window", n, reset, 1, end)
}

// NOTE: the login throttle counts an attempt before it checks the
// password, and checks only attempts whose slot is within the limit
// (SECURITY P5). That is exact only if concurrent attempts get distinct
// slots: of 40 parallel guesses against a limit of 3, exactly 3 may be
// checked, on every store and across nodes.
func (ls limiterSuite) concurrentDistinctSlots(t *testing.T) {
	l := ls.newLimiter(t)
	key, t0 := NewID("acct"), Now()
	const n, limit = 40, 3
	var under, errs atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			c, _, err := l.AddFailure(t.Context(), key, window, t0)
			if err != nil {
				errs.Add(1)
				return
			}
			if c <= limit {
				under.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if errs.Load() != 0 {
		t.Fatalf("%d of %d concurrent AddFailure calls failed", errs.Load(), n)
	}
	if under.Load() != limit {
		t.Fatalf("%d of %d concurrent attempts got a slot within the limit %d, want exactly %d", under.Load(), n, limit, limit)
	}
}

func (ls limiterSuite) concurrentAddAndForgive(t *testing.T) {
	l := ls.newLimiter(t)
	key, t0 := NewID("ip"), Now()
	const n, m = 30, 10
	for range m {
		ls.add(t, l, key, window, t0) // so no ForgiveFailure meets a zero count
	}
	var errs atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n + m {
		wg.Go(func() {
			<-start
			var err error
			if i < n {
				_, _, err = l.AddFailure(t.Context(), key, window, t0)
			} else {
				err = l.ForgiveFailure(t.Context(), key, t0)
			}
			if err != nil {
				errs.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if errs.Load() != 0 {
		t.Fatalf("%d concurrent calls failed", errs.Load())
	}
	got, _ := ls.failures(t, l, key, t0)
	if got != n {
		t.Fatalf("Failures after %d+%d AddFailure and %d ForgiveFailure: %d, want %d", m, n, m, got, n)
	}
}

func (ls limiterSuite) honoursCancellation(t *testing.T) {
	l := ls.newLimiter(t)
	key, t0 := NewID("acct"), Now()
	ls.add(t, l, key, window, t0)
	ctx := cancelled(t)
	_, _, err := l.AddFailure(ctx, key, window, t0)
	wantCanceled(t, err, "AddFailure")
	_, _, err = l.Failures(ctx, key, t0)
	wantCanceled(t, err, "Failures")
	wantCanceled(t, l.ResetFailures(ctx, key), "ResetFailures")
	wantCanceled(t, l.ForgiveFailure(ctx, key, t0), "ForgiveFailure")
	n, reset := ls.failures(t, l, key, t0)
	ls.want(t, "Failures after cancelled calls", n, reset, 1, t0.Add(window))
}
