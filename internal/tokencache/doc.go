// Package tokencache is the bounded cache of verified tokens that token/
// (authd) and verify/ (other Go services) keep in front of their
// signature checks: a repeated token costs a map lookup instead of a parse
// and a signature verification.
//
// It owns the cache's shape only: the key (the whole token string), the
// bound and the eviction (a FIFO ring). What an entry holds, and when a
// hit may be used, is the caller's: both callers keep the claims, the key
// that verified them and the token's exp, use a hit only before exp and
// while that key is still held, and check revocation on every hit.
package tokencache
