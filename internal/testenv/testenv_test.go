package testenv_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/authd/authd/internal/testenv"
)

// recorder is a testing.TB that records Skip and Fatalf and, like the real
// ones, stops the calling goroutine.
type recorder struct {
	testing.TB
	skipped, fatal string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Skip(args ...any)             { r.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Fatalf(f string, args ...any) { r.fatal = fmt.Sprintf(f, args...); runtime.Goexit() }

// call runs SkipOrFail on a recorder in its own goroutine (Goexit ends it)
// and reports whether SkipOrFail returned, which it must never do.
func call(format string, args ...any) (r *recorder, returned bool) {
	r = &recorder{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		testenv.SkipOrFail(r, format, args...)
		returned = true
	}()
	wg.Wait()
	return r, returned
}

func TestSkipOrFail(t *testing.T) {
	for _, tc := range []struct {
		ci       string
		wantFail bool
	}{
		{"", false},
		{"false", false},
		{"1", false}, // only CI=true, as CI systems set it
		{"true", true},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			if got := testenv.InCI(); got != tc.wantFail {
				t.Fatalf("InCI() = %v", got)
			}
			r, returned := call("redis at %s: %v", "127.0.0.1:6379", "connection refused")
			if returned {
				t.Fatal("SkipOrFail returned")
			}
			const msg = "redis at 127.0.0.1:6379: connection refused"
			switch {
			case tc.wantFail:
				if r.skipped != "" || !strings.HasPrefix(r.fatal, msg) || !strings.Contains(r.fatal, "CI=true") {
					t.Fatalf("skipped %q, failed %q; want a failure with %q that names CI=true", r.skipped, r.fatal, msg)
				}
			default:
				if r.fatal != "" || r.skipped != msg {
					t.Fatalf("skipped %q, failed %q; want a skip with %q", r.skipped, r.fatal, msg)
				}
			}
		})
	}
}

// TestSkipOrFailSkipsForReal: on a real *testing.T without CI=true the
// test is marked skipped, not failed, and stops there.
func TestSkipOrFailSkipsForReal(t *testing.T) {
	t.Setenv("CI", "")
	var sub *testing.T
	reached := false
	t.Run("missing service", func(t *testing.T) {
		sub = t
		testenv.SkipOrFail(t, "no %s here", "service")
		reached = true
	})
	if !sub.Skipped() || sub.Failed() || reached {
		t.Fatalf("skipped %v, failed %v, ran on after SkipOrFail %v", sub.Skipped(), sub.Failed(), reached)
	}
}
