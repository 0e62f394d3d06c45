package tokencache

import (
	"strings"
	"sync"
)

// Cache maps verified token strings to entries of type E. It is bounded:
// past its size the oldest insertion is evicted (a FIFO ring), so memory
// stays bounded whatever tokens arrive. It is safe for concurrent use.
//
// NOTE: the key is the whole token string, and only tokens that passed
// every check are meant to be put, so a hit is byte for byte a token
// already verified. A FIFO ring rather than an LRU: a hit takes only the
// read lock, and a flood of new tokens can evict, never grow, the cache.
//
// NOTE: the cache is never a revocation key (SECURITY J9): one token has
// several valid encodings (an ES256 signature has two), so callers check
// revocation by jti and sid on every hit, never by looking a token up here.
type Cache[E any] struct {
	mu   sync.RWMutex
	m    map[string]E
	fifo []string // the keys in insertion order, from hand on
	hand int      // the next slot to fill, holding the oldest key
}

// New returns a cache of at most size entries; size must be positive.
func New[E any](size int) *Cache[E] {
	return &Cache[E]{m: make(map[string]E, size), fifo: make([]string, size)}
}

// Get returns the entry of tok, if any.
func (c *Cache[E]) Get(tok string) (E, bool) {
	c.mu.RLock()
	e, ok := c.m[tok]
	c.mu.RUnlock()
	return e, ok
}

// Put makes e the entry of tok, evicting the oldest entry when the cache
// is full. A tok already held gets the new entry and keeps its place. An
// empty tok (never a token) is not kept.
func (c *Cache[E]) Put(tok string, e E) {
	if tok == "" {
		return // "" marks an empty slot of the ring
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[tok]; ok {
		c.m[tok] = e
		return
	}
	// NOTE: the key is cloned so that the cache does not pin the caller's
	// request buffer (an Authorization header) for as long as it lives.
	tok = strings.Clone(tok)
	if old := c.fifo[c.hand]; old != "" {
		delete(c.m, old)
	}
	c.fifo[c.hand] = tok
	c.hand = (c.hand + 1) % len(c.fifo)
	c.m[tok] = e
}

// Flush removes every entry (a key set changed: entries of keys no longer
// held must go).
func (c *Cache[E]) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
	clear(c.fifo)
	c.hand = 0
}

// Len returns the number of entries.
func (c *Cache[E]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
