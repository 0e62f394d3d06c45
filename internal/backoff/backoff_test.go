package backoff_test

import (
	"math"
	"testing"
	"time"

	"github.com/authd/authd/internal/backoff"
)

func TestExponential(t *testing.T) {
	for _, tc := range []struct {
		attempt     int
		first, most time.Duration
		want        time.Duration
	}{
		{-1, time.Second, 2 * time.Minute, time.Second},
		{0, time.Second, 2 * time.Minute, time.Second},
		{1, time.Second, 2 * time.Minute, time.Second},
		{2, time.Second, 2 * time.Minute, 2 * time.Second},
		{7, time.Second, 2 * time.Minute, 64 * time.Second},
		{8, time.Second, 2 * time.Minute, 2 * time.Minute},
		{math.MaxInt, time.Second, 2 * time.Minute, 2 * time.Minute},
		{1, 5 * time.Second, 10 * time.Minute, 5 * time.Second},
		{7, 5 * time.Second, 10 * time.Minute, 320 * time.Second},
		{8, 5 * time.Second, 10 * time.Minute, 10 * time.Minute},
	} {
		if got := backoff.Exponential(tc.attempt, tc.first, tc.most); got != tc.want {
			t.Errorf("Exponential(%d, %s, %s) = %s, want %s", tc.attempt, tc.first, tc.most, got, tc.want)
		}
	}
}
