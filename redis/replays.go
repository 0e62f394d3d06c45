package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/rueidis"
)

// The DPoP replay set (authd.ReplaySet): one string key per record,
// <prefix>d{}<key>, holding the record's expiresAt (µs).
//
// The empty hash tag {} makes Redis Cluster hash the whole key name
// (an empty tag is ignored), whatever the caller's key holds: a jti is
// chosen by the client, and one with a {tag} of its own must not pick
// the slot its records land in.
//
// A record is alive while the caller's now is not after the stored
// expiresAt, as the contract says: the comparison uses the now every call
// passes, like the limiter's windows, not Redis's clock, so every node
// agrees on when a record expires and the conformance suite (which moves
// now, never the clock) holds. The key's PEXPIREAT, expiresAt plus
// replaySlack by Redis's clock, only collects dead records. The slack
// also keeps a record alive for a node whose clock runs up to replaySlack
// behind Redis's: with a TTL alone (SET NX PX expiresAt−now) such a node
// would find the record gone while the proof is still acceptable to it,
// and accept the replay.
//
// Memory: 88 bytes a record by MEMORY USAGE (a 22-character jti, the
// default prefix), kept for the proof's window plus replaySlack.

// replaySlack is how long past its expiresAt (by Redis's clock) a record's
// key is kept; see above.
const replaySlack = time.Minute

func (s *Store) replayKey(key string) string { return s.prefix + "d{}" + key }

// remember: ARGV[1] = now µs, ARGV[2] = expiresAt µs, ARGV[3] = the key's
// PEXPIREAT (ms). Returns 1 when it recorded the key, 0 for a replay.
// A PEXPIREAT already past deletes the key (SET … PXAT in the past), so a
// record born expired leaves nothing behind.
var remember = rueidis.NewLuaScript(`
local v = redis.call('GET', KEYS[1])
if v and tonumber(v) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1
`)

// Remember implements authd.ReplaySet with one script on one key, atomic
// on a standalone server and on a cluster alike: of n concurrent calls
// with one key, whichever node they come from, the first finds no live
// record and writes one; the others find it.
func (s *Store) Remember(ctx context.Context, key string, expiresAt, now time.Time) (bool, error) {
	const op = "remember replay"
	if err := s.entry(ctx, op); err != nil {
		return false, err
	}
	n, err := remember.Exec(ctx, s.client, []string{s.replayKey(key)},
		[]string{itoa(micros(now)), itoa(micros(expiresAt)), itoa(millisCeil(expiresAt.Add(replaySlack)))}).AsInt64()
	if err != nil {
		return false, s.wrap(ctx, op, err)
	}
	switch n {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	return false, fmt.Errorf("redis: %s: unexpected reply %d", op, n)
}

// PruneReplays implements authd.ReplaySet: records expire by their TTL,
// so there is nothing to do.
func (s *Store) PruneReplays(ctx context.Context, now time.Time) error {
	return s.entry(ctx, "prune replays")
}
