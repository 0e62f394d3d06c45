package redis

import (
	"testing"

	"github.com/redis/rueidis"

	"github.com/authd/authd"
)

// Client exposes the Store's client to the package's tests and benchmarks
// (the raw GET the session lookup is measured against).
func (s *Store) Client() rueidis.Client { return s.client }

// HashKey is the key of a session's record.
func (s *Store) HashKey(hash []byte) string { return s.hashKey(hash) }

// IndexLen returns the number of entries of the user's index.
func IndexLen(tb testing.TB, s *Store, userID string) int {
	tb.Helper()
	n, err := s.client.Do(tb.Context(), s.client.B().Zcard().Key(s.userKey(userID)).Build()).AsInt64()
	if err != nil {
		tb.Fatal(err)
	}
	return int(n)
}

// ExpireNow makes Redis expire the session's keys at once, as their TTL
// would: a test of what happens after expiry need not race a real clock.
func ExpireNow(tb testing.TB, s *Store, x *authd.Session) {
	tb.Helper()
	for _, k := range []string{s.idKey(x.ID), s.hashKey(x.Hash)} {
		if err := s.client.Do(tb.Context(), s.client.B().Pexpire().Key(k).Milliseconds(1).Build()).Error(); err != nil {
			tb.Fatal(err)
		}
	}
}

// ReplayKey is the key of a DPoP replay record.
func (s *Store) ReplayKey(key string) string { return s.replayKey(key) }

// ReplaySlack is how long a replay record's key outlives its expiresAt.
const ReplaySlack = replaySlack
