package token

import (
	"strings"
	"sync"
	"time"

	"github.com/authd/authd"
)

// verifyCache keeps recently verified access tokens, keyed by the exact
// token string, so that a repeated Verify skips parsing and the signature.
// It is bounded: past size entries, the oldest insertion is evicted (FIFO
// ring). An entry is used only until the token's exp, only while its key
// is still in the ring, and the revocation list is consulted on every hit.
//
// NOTE: only tokens that passed every check are inserted, and the key is
// the whole token string, so a hit is byte-for-byte a token already
// verified. The cache is never a revocation key (SECURITY J9): revocation
// is checked by jti and sid on every hit.
type verifyCache struct {
	mu   sync.RWMutex
	m    map[string]*cacheEntry
	fifo []string
	hand int
}

type cacheEntry struct {
	claims *authd.Claims
	kid    string
	exp    time.Time
}

func newVerifyCache(size int) *verifyCache {
	return &verifyCache{m: make(map[string]*cacheEntry, size), fifo: make([]string, size)}
}

func (c *verifyCache) get(raw string) *cacheEntry {
	c.mu.RLock()
	e := c.m[raw]
	c.mu.RUnlock()
	return e
}

func (c *verifyCache) put(raw string, e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[raw]; ok {
		return
	}
	raw = strings.Clone(raw) // do not pin the caller's request buffer
	if old := c.fifo[c.hand]; old != "" {
		delete(c.m, old)
	}
	c.fifo[c.hand] = raw
	c.hand = (c.hand + 1) % len(c.fifo)
	c.m[raw] = e
}

func (c *verifyCache) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
	clear(c.fifo)
	c.hand = 0
}
