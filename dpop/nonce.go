package dpop

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// DefaultNoncePeriod is a NonceSource's period when it is given none: a
// nonce is accepted for one to two periods after it is issued.
const DefaultNoncePeriod = time.Minute

// nonceInfo separates the nonce key from every other use of the key it is
// derived from.
const nonceInfo = "authd dpop-nonce v1"

// nonceMACLen is the length of a nonce's MAC, in bytes (128 bits).
const nonceMACLen = 16

// nonceLen is the length of a nonce, in base64url characters: an 8-byte
// slot number and the MAC.
var nonceLen = base64.RawURLEncoding.EncodedLen(8 + nonceMACLen)

// NonceSource issues and checks server nonces (RFC 9449 §8) without
// state: a nonce is a period's number and its HMAC-SHA256 under a key
// every node derives from the same secret, so any node accepts any node's
// nonce. A nonce of the current or the previous period is accepted.
// It is safe for concurrent use.
type NonceSource struct {
	key    []byte
	period time.Duration
}

// NewNonceSource returns a NonceSource keyed by secret (at least 32 bytes,
// the same on every node: authd passes its encryption key, from which a
// key of its own is derived with HKDF-SHA256, so the secret itself signs
// nothing). period <= 0 is DefaultNoncePeriod.
func NewNonceSource(secret []byte, period time.Duration) (*NonceSource, error) {
	if len(secret) < 32 {
		return nil, errors.New("dpop: nonce secret shorter than 32 bytes")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, nonceInfo, sha256.Size)
	if err != nil {
		return nil, err
	}
	if period <= 0 {
		period = DefaultNoncePeriod
	}
	return &NonceSource{key: key, period: period}, nil
}

func (s *NonceSource) slot(now time.Time) uint64 {
	return uint64(now.UnixNano() / int64(s.period))
}

func (s *NonceSource) encode(slot uint64) string {
	var b [8 + sha256.Size]byte
	binary.BigEndian.PutUint64(b[:8], slot)
	m := hmac.New(sha256.New, s.key)
	m.Write(b[:8])
	sum := m.Sum(b[:8]) // in b: its capacity holds the MAC
	return base64.RawURLEncoding.EncodeToString(sum[:8+nonceMACLen])
}

// Nonce returns the nonce of the period now is in.
func (s *NonceSource) Nonce(now time.Time) string { return s.encode(s.slot(now)) }

// Valid reports whether nonce is the nonce of the period now is in or of
// the one before.
func (s *NonceSource) Valid(nonce string, now time.Time) bool {
	if len(nonce) != nonceLen {
		return false
	}
	var b [8 + nonceMACLen]byte
	if n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(nonce)); err != nil || n != len(b) {
		return false
	}
	slot, cur := binary.BigEndian.Uint64(b[:8]), s.slot(now)
	if slot != cur && slot+1 != cur {
		return false
	}
	return hmac.Equal([]byte(s.encode(slot)), []byte(nonce))
}
