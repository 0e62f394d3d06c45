package password

import (
	"context"
	"strings"
)

// Test-only access to internals, for the black-box password_test package.

const MaxPHCLen = maxPHCLen

// ParsePHC parses encoded and returns its parameters, salt and key.
func ParsePHC(encoded string) (Params, []byte, []byte, error) {
	h, err := parsePHC(encoded)
	return h.params, h.salt, h.key, err
}

// EncodePHC formats a PHC string.
func EncodePHC(p Params, salt, key []byte) string {
	return phc{params: p, salt: salt, key: key}.encode()
}

// PeakInFlight returns the most argon2id computations h ever ran at once.
func (h *Hasher) PeakInFlight() int64 { return h.peak.Load() }

// MaxConcurrent returns h's bound on computations in flight.
func (h *Hasher) MaxConcurrent() int { return cap(h.sem) }

// HoldSlot takes one of h's slots, as a computation would, until release.
func (h *Hasher) HoldSlot(ctx context.Context) (release func(), err error) {
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	return h.release, nil
}

// DummyHash returns the hash VerifyDummy verifies against.
func (h *Hasher) DummyHash() string { return h.dummy }

// BlocklistEntries returns every entry of the embedded list.
func BlocklistEntries() []string { return blocklistEntries() }

// BlocklistSetLen returns how many entries the in-memory set holds.
func BlocklistSetLen() int { return len(blocklistSet()) }

// LoadBlocklistForBench builds the set again, as the first Check does.
func LoadBlocklistForBench() int { return len(loadBlocklist()) }

// MsgUncheckable is Check's message when the pattern rule panicked.
const MsgUncheckable = msgUncheckable

// SetAnalyse replaces the pattern rule until restore is called.
func SetAnalyse(f func(nfc string, userInputs []string) string) (restore func()) {
	old := analyse
	analyse = f
	return func() { analyse = old }
}

// ChunkBytes bounds the bytes of one zxcvbn run.
const ChunkBytes = chunkBytes

// L33tTables returns how many l33t tables zxcvbn tries for s (an upper
// bound: the product of cutChunk), and ChunkL33tTables its bound.
func L33tTables(s string) int {
	n := 1
	for _, e := range l33tTable {
		k := 0
		for _, c := range []byte(e.chars) {
			if strings.IndexByte(s, c) >= 0 {
				k++
			}
		}
		n *= max(1, k)
	}
	return n
}

// ChunkL33tTables bounds L33tTables of one zxcvbn run.
const ChunkL33tTables = chunkL33tTables

// CutChunk returns the prefix of s that the pattern rule analyses next.
func CutChunk(s string) string { return cutChunk(s, chunkBytes, chunkL33tTables) }

// Blocklisted reports whether the NFC password nfc is on the blocklist.
func Blocklisted(nfc string) bool { return blocklisted(nfc) }
