// Package revset is the in-memory set of revoked token ids — session ids
// (sid) and token ids (jti), each with the time until which it must be
// refused — that authd's nodes (package token) and other services (package
// verify) both keep, each following authd's revocation list its own way.
//
// NOTE: revocation is keyed by jti and sid, never by the token's bytes: an
// ES256 signature has two valid encodings, so bytes do not name a token
// (SECURITY J9).
package revset

import (
	"sync"
	"time"
)

// Kind says which claim an entry names.
type Kind uint8

// The kinds of entry.
const (
	SID Kind = iota + 1 // a session or refresh family: every token with this sid
	JTI                 // one access token
)

// Entry is one revoked id and the time until which it is kept.
type Entry struct {
	Kind Kind
	ID   string
	Exp  time.Time
}

// Set is a set of revoked sids and jtis, safe for concurrent use. The zero
// value is empty and ready.
type Set struct {
	mu   sync.RWMutex
	sids map[string]time.Time
	jtis map[string]time.Time
}

// Add puts entries into the set, keeping the later Exp of an id already
// held, and reports whether any id was new. Entries with an empty ID or an
// unknown Kind are ignored.
func (s *Set) Add(entries ...Entry) (added bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addLocked(entries)
}

// Replace makes entries the whole set (a full reload of the list).
func (s *Set) Replace(entries ...Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sids, s.jtis = nil, nil
	s.addLocked(entries)
}

func (s *Set) addLocked(entries []Entry) (added bool) {
	for _, e := range entries {
		if e.ID == "" {
			continue
		}
		var m *map[string]time.Time
		switch e.Kind {
		case SID:
			m = &s.sids
		case JTI:
			m = &s.jtis
		default:
			continue
		}
		if *m == nil {
			*m = map[string]time.Time{}
		}
		if old, ok := (*m)[e.ID]; !ok || e.Exp.After(old) {
			(*m)[e.ID] = e.Exp
			added = added || !ok
		}
	}
	return added
}

// Revoked reports whether jti or sid is in the set; an empty one never is.
func (s *Set) Revoked(jti, sid string) bool {
	s.mu.RLock()
	_, j := s.jtis[jti]
	_, sd := s.sids[sid]
	s.mu.RUnlock()
	return (j && jti != "") || (sd && sid != "")
}

// Prune drops the entries whose Exp is before t.
func (s *Set) Prune(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range []map[string]time.Time{s.sids, s.jtis} {
		for id, exp := range m {
			if exp.Before(t) {
				delete(m, id)
			}
		}
	}
}

// Len returns the number of ids held.
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.sids) + len(s.jtis)
}
