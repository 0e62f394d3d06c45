package redis

import (
	"testing"
	"time"

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

// ExpireNow makes Redis expire the session's record at once, as its TTL
// would, and drops its id map entry, as the map's collection would a
// minute later: a test of what happens after expiry need not race a real
// clock.
func ExpireNow(tb testing.TB, s *Store, x *authd.Session) {
	tb.Helper()
	c := s.client
	for _, r := range c.DoMulti(tb.Context(),
		c.B().Pexpire().Key(s.hashKey(x.Hash)).Milliseconds(1).Build(),
		c.B().Hdel().Key(s.mapKey(x.ID)).Field(x.ID).Build()) {
		if err := r.Error(); err != nil {
			tb.Fatal(err)
		}
	}
}

// WriteLegacySession stores x as an authd before the id map did: its
// record, an id key (<prefix>i:<id>) holding its hash, and its index entry.
func WriteLegacySession(tb testing.TB, s *Store, x *authd.Session) {
	tb.Helper()
	c := s.client
	exp := millisCeil(x.ExpiresAt)
	score := max(micros(x.AbsoluteExpiresAt), exp*1000)
	for _, r := range c.DoMulti(tb.Context(),
		c.B().Set().Key(s.legacyIDKey(x.ID)).Value(string(x.Hash)).PxatMillisecondsTimestamp(exp).Build(),
		c.B().Set().Key(s.hashKey(x.Hash)).Value(string(encodeRecord(x))).PxatMillisecondsTimestamp(exp).Build(),
		c.B().Zadd().Key(s.userKey(x.UserID)).ScoreMember().ScoreMember(float64(score), x.ID).Build(),
		c.B().Pexpireat().Key(s.userKey(x.UserID)).MillisecondsTimestamp((score+999)/1000).Build()) {
		if err := r.Error(); err != nil {
			tb.Fatal(err)
		}
	}
}

// LegacyIDKeyExists reports whether the legacy id key of id exists.
func LegacyIDKeyExists(tb testing.TB, s *Store, id string) bool {
	tb.Helper()
	n, err := s.client.Do(tb.Context(), s.client.B().Exists().Key(s.legacyIDKey(id)).Build()).AsInt64()
	if err != nil {
		tb.Fatal(err)
	}
	return n == 1
}

// ReplayKey is the key of a DPoP replay record.
func (s *Store) ReplayKey(key string) string { return s.replayKey(key) }

// ReplaySlack is how long a replay record's key outlives its expiresAt.
const ReplaySlack = replaySlack

// MapKey is the key of the id map bucket that holds id.
func (s *Store) MapKey(id string) string { return s.mapKey(id) }

// PutMapEntry writes an id map entry of id, kept until keep, as
// CreateSession would, without a record.
func PutMapEntry(tb testing.TB, s *Store, id string, hash []byte, keep time.Time) {
	tb.Helper()
	c := s.client
	if err := c.Do(tb.Context(), c.B().Hset().Key(s.mapKey(id)).FieldValue().FieldValue(id, mapValue(hash, keep.UnixMilli())).Build()).Error(); err != nil {
		tb.Fatal(err)
	}
}

// MapEntryExists reports whether id has an id map entry.
func MapEntryExists(tb testing.TB, s *Store, id string) bool {
	tb.Helper()
	n, err := s.client.Do(tb.Context(), s.client.B().Hexists().Key(s.mapKey(id)).Field(id).Build()).AsInt64()
	if err != nil {
		tb.Fatal(err)
	}
	return n == 1
}
