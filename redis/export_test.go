package redis

import (
	"testing"

	"github.com/redis/rueidis"
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
