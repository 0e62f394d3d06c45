package verify

import (
	"context"
	"time"
)

// WithClock replaces time.Now, for tests of expiry and staleness.
func WithClock(now func() time.Time) Option {
	return func(c *config) error { c.now = now; return nil }
}

// MaxAge is maxAge, the Cache-Control reader.
var MaxAge = maxAge

// ParseJWK parses one JWK as the JWKS reader does and returns the alg of
// the key it would use, or the reason it would skip it.
func ParseJWK(b []byte) (alg string, err error) {
	k, err := parseJWK(b)
	if err != nil {
		return "", err
	}
	return k.alg, nil
}

// CacheLen is the number of tokens in the verified-token cache.
func (v *Verifier) CacheLen() int {
	if v.cache == nil {
		return 0
	}
	return v.cache.Len()
}

// RevokedLen is the number of revoked ids held.
func (v *Verifier) RevokedLen() int { return v.revs.Len() }

// FeedWait is the long-poll wait the verifier asks the feed for.
func (v *Verifier) FeedWait() time.Duration { return v.wait }

// NewReplaySet is the verifier's own DPoP replay set, of capacity n.
func NewReplaySet(n int) interface {
	Remember(ctx context.Context, key string, expiresAt, now time.Time) (bool, error)
	Len() int
} {
	return newReplaySet(n)
}

// OwnReplaysLen is the number of proofs in the verifier's own replay set.
func (v *Verifier) OwnReplaysLen() int { return v.ownReplays.Len() }
