package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"runtime"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Hasher hashes and verifies passwords with argon2id at fixed parameters,
// running at most a fixed number of computations at once. It is safe for
// concurrent use; make one per process and share it.
type Hasher struct {
	params Params
	// sem holds one token per computation in flight.
	sem chan struct{}
	// dummy is a PHC string at params with a random salt and a random key
	// that no password hashes to: VerifyDummy verifies against it.
	dummy string

	inFlight atomic.Int64 // computations running now
	peak     atomic.Int64 // the most ever running at once (tests read it)
}

// NewHasher: maxConcurrent bounds how many argon2id computations run at once
// (so a login flood cannot exhaust memory: each takes Params.Memory); <=0
// means runtime.GOMAXPROCS(0).
//
// NewHasher panics if p.Validate() fails: parameters come from validated
// configuration, so invalid ones are a programming error.
func NewHasher(p Params, maxConcurrent int) *Hasher {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	h := &Hasher{params: p, sem: make(chan struct{}, maxConcurrent)}
	h.dummy = phc{params: p, salt: randomBytes(p.SaltLen), key: randomBytes(p.KeyLen)}.encode()
	return h
}

// ConcurrencyFor returns how many argon2id computations at p fit in budget
// bytes of memory, at least 1 (one hash always runs, whatever the budget):
// the maxConcurrent of NewHasher for a memory budget. Each computation
// holds p.Memory KiB for its whole duration. A budget of 0 means no memory
// bound and returns 0 (NewHasher's default, GOMAXPROCS).
func ConcurrencyFor(p Params, budget uint64) int {
	if budget == 0 {
		return 0
	}
	per := uint64(max(p.Memory, 1)) * 1024
	return int(max(1, min(budget/per, 1<<20)))
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.params }

// Hash NFC-normalises pw and returns a PHC string:
// $argon2id$v=19$m=19456,t=2,p=1$<salt b64 raw std>$<hash b64 raw std>.
// Waits for a slot; returns ctx.Err() if ctx ends first.
//
// Hash does not apply the policy: call Check first when a password is set.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	p := h.params
	salt := randomBytes(p.SaltLen)
	key, err := h.compute(ctx, pw, salt, p)
	if err != nil {
		return "", err
	}
	return phc{params: p, salt: salt, key: key}.encode(), nil
}

// Verify NFC-normalises pw and compares in constant time. needsRehash is
// true when encoded's params are weaker than h's (rehash on next successful
// login). A malformed encoded string is an error (not a panic), wrapped,
// distinguishable with errors.Is(err, ErrMalformedHash).
//
// needsRehash is only ever true together with ok, so that a caller cannot
// rehash a wrong password. "Weaker" means any of m, t, p, salt length or key
// length below h's; a hash stronger than h's is left alone (no downgrade).
// Waits for a slot like Hash and returns ctx.Err() if ctx ends first.
func (h *Hasher) Verify(ctx context.Context, encoded, pw string) (ok bool, needsRehash bool, err error) {
	stored, err := parsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	key, err := h.compute(ctx, pw, stored.salt, stored.params)
	if err != nil {
		return false, false, err
	}
	if subtle.ConstantTimeCompare(key, stored.key) != 1 {
		return false, false, nil
	}
	return true, stored.params.weakerThan(h.params), nil
}

// VerifyDummy performs the same work as a Verify of a real hash at h's
// params and returns false: used for unknown emails so that they cost the
// same time as a wrong password (SECURITY P4).
//
// It runs Verify itself, against a hash made of random bytes at h's
// parameters, so the two cannot drift apart.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) {
	_, _, _ = h.Verify(ctx, h.dummy, pw)
}

// compute waits for a slot, then derives the argon2id key of NFC(pw).
func (h *Hasher) compute(ctx context.Context, pw string, salt []byte, p Params) ([]byte, error) {
	// NOTE: normalise before taking a slot: it is cheap and does not hold
	// argon2id memory.
	b := []byte(Normalize(pw))
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	defer h.release()
	key := argon2.IDKey(b, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	clear(b)
	return key, nil
}

// acquire takes a slot, or returns ctx.Err() if ctx ends first.
func (h *Hasher) acquire(ctx context.Context) error {
	// A context that has already ended never starts work, even when a
	// slot is free (select would pick at random).
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	n := h.inFlight.Add(1)
	for {
		peak := h.peak.Load()
		if n <= peak || h.peak.CompareAndSwap(peak, n) {
			break
		}
	}
	return nil
}

func (h *Hasher) release() {
	h.inFlight.Add(-1)
	<-h.sem
}

// randomBytes returns n bytes from crypto/rand (which never fails: since
// Go 1.24 it crashes the program rather than return an error).
func randomBytes(n uint32) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
