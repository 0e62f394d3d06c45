// Package periodic runs background work on a fixed beat: the one ticker
// loop of the housekeeping, reloads and polls of token/, oidc/ and serve.
package periodic

import (
	"context"
	"time"
)

// Every calls f every interval (the first call one interval from now)
// until ctx is done; f gets ctx. It returns when ctx is done.
func Every(ctx context.Context, every time.Duration, f func(context.Context)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f(ctx)
		}
	}
}
