package authd

import (
	"context"
	"time"
)

// ReplaySet remembers DPoP proof ids (RFC 9449 §11.1) for as long as a
// proof is acceptable, shared by every node, so that a captured proof
// cannot be sent again anywhere.
type ReplaySet interface {
	// Remember records key until expiresAt and reports true when key was
	// not recorded, or its record expired before now; it reports false,
	// and changes nothing, when key is recorded and alive: a replay.
	// Atomic: of n concurrent calls with one key, across nodes, exactly
	// one reports true.
	Remember(ctx context.Context, key string, expiresAt, now time.Time) (bool, error)
	// PruneReplays deletes the records that expired before now. Stores
	// whose records expire by themselves (Redis TTLs) may do nothing.
	PruneReplays(ctx context.Context, now time.Time) error
}
