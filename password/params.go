package password

import (
	"errors"
	"fmt"
)

// Params are argon2id parameters. Memory in KiB.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes (parallelism)
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams returns the OWASP minimum: m=19 MiB (19456 KiB), t=2, p=1,
// 16-byte salt, 32-byte key. A function, not a variable, so that nothing
// can lower them for the whole process.
//
// NOTE: this is the floor of SECURITY P1, not a ceiling: configure stronger
// parameters when the hardware allows, and hashes made at these ones are
// rehashed on their next successful login.
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Bounds on parameters, for those of a Hasher and for those read from a PHC
// string alike, so that every hash a Hasher makes can be parsed back and a
// corrupted row cannot make Verify allocate gigabytes or loop for minutes.
const (
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 64
	maxThreads = 64
	minSaltLen = 16
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

// errInvalidParams is wrapped by Params.Validate.
var errInvalidParams = errors.New("password: invalid argon2id parameters")

// Validate reports whether p is usable: Time in 1..64, Threads in 1..64,
// Memory in 8×Threads..1048576 KiB (1 GiB), SaltLen and KeyLen in 16..64
// bytes. It does not check p against the OWASP minimum (DefaultParams):
// compare with DefaultParams for that.
func (p Params) Validate() error {
	if reason := p.outOfBounds(); reason != "" {
		return fmt.Errorf("%w: %s", errInvalidParams, reason)
	}
	return nil
}

// outOfBounds returns why p is outside the bounds, or "".
func (p Params) outOfBounds() string {
	switch {
	case p.Threads < 1 || p.Threads > maxThreads:
		return fmt.Sprintf("threads %d not in 1..%d", p.Threads, maxThreads)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Sprintf("time %d not in 1..%d", p.Time, maxTime)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Sprintf("memory %d KiB not in %d..%d", p.Memory, 8*uint32(p.Threads), maxMemory)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Sprintf("salt length %d not in %d..%d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Sprintf("key length %d not in %d..%d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return ""
}

// weakerThan reports whether any of p's parameters is below q's: a hash made
// at p should be remade at q.
func (p Params) weakerThan(q Params) bool {
	return p.Memory < q.Memory || p.Time < q.Time || p.Threads < q.Threads ||
		p.SaltLen < q.SaltLen || p.KeyLen < q.KeyLen
}
