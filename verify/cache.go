package verify

import (
	"sync"
	"time"
)

// tokenCache keeps verified tokens, keyed by the exact token string, so
// that a repeated Verify skips the parse and the signature. It is bounded:
// past its size the oldest insertion is evicted (a FIFO ring).
//
// NOTE: only tokens that passed every check but revocation are inserted,
// and the key is the whole token, so a hit is byte for byte a token
// already verified. An entry is used only before the token's exp and only
// while its key is still in the key set; revocation and staleness are
// checked on every hit by the caller. The cache is never a revocation key
// (SECURITY J9).
type tokenCache struct {
	mu   sync.RWMutex
	m    map[string]*cacheEntry
	fifo []string
	hand int
}

type cacheEntry struct {
	claims *Claims
	key    *key // the key that verified it
	kid    string
	exp    time.Time
}

func newTokenCache(size int) *tokenCache {
	return &tokenCache{m: make(map[string]*cacheEntry, size), fifo: make([]string, size)}
}

func (c *tokenCache) get(tok string) *cacheEntry {
	c.mu.RLock()
	e := c.m[tok]
	c.mu.RUnlock()
	return e
}

func (c *tokenCache) put(tok string, e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[tok]; ok {
		c.m[tok] = e
		return
	}
	if old := c.fifo[c.hand]; old != "" {
		delete(c.m, old)
	}
	c.fifo[c.hand] = tok
	c.hand = (c.hand + 1) % len(c.fifo)
	c.m[tok] = e
}

func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
