// Package backoff is the retry schedule the outbox workers share (mail,
// back-channel logout): a delay that doubles from one attempt to the next
// up to a cap.
package backoff

import "time"

// Exponential is the delay before retry number attempt (1 for the first
// retry): first, doubled for each attempt after the first, at most most.
// It never overflows, whatever attempt is.
func Exponential(attempt int, first, most time.Duration) time.Duration {
	d := first
	for i := 1; i < attempt && d < most; i++ {
		d *= 2
	}
	return min(d, most)
}
