package password

import "context"

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
