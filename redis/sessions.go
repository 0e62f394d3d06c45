package redis

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"time"

	"github.com/authd/authd"
	"github.com/redis/rueidis"
)

// Keys of sessions (see doc.go):
//
//	<prefix>h:<hash>          the session record (string), PEXPIREAT ExpiresAt
//	<prefix>m:<bucket>        the id map: a hash, field <id> → <hash> ‖ keep-until (8 bytes,
//	                          big-endian ms, ≥ the record's expiry); PEXPIREAT its last
//	                          entry's keep-until plus gcMargin
//	<prefix>{u:<userID>}      the user's index: sorted set of public ids, each scored with
//	                          an upper bound of its session's expiry (µs)
//	<prefix>i:<id>            (read and deleted only) the id key of a session written by
//	                          an authd before the id map: its hash, PEXPIREAT ≥ the record's
//
// <hash> is the 32 raw bytes of the SHA-256, not an encoding of them.
// <bucket> is the 32-bit FNV-1a hash of the id modulo idBuckets, in 5 hex
// digits.

func (s *Store) hashKey(hash []byte) string   { return s.prefix + "h:" + string(hash) }
func (s *Store) legacyIDKey(id string) string { return s.prefix + "i:" + id }
func (s *Store) userKey(userID string) string {
	return s.prefix + "{u:" + userID + "}"
}

// idBuckets is the number of id map keys. Each holds the entries of the
// ids that hash to it; Redis keeps a hash of up to 128 fields of up to 64
// bytes (hash-max-listpack-entries and -value, the defaults) as a listpack,
// about 64 bytes an entry, where a key of its own per session cost about
// 170 (its name, object, value, expiry entry and hash-table buckets).
// 131,072 buckets keep the listpack form up to about 16 million live
// sessions (past that a bucket becomes a real hash table, still cheaper per
// entry than a key of its own), and cost about 17 bytes a session at one
// million: measured, 481 bytes a session in all against 473 with 65,536
// buckets, which would turn into hash tables at about 8 million.
const idBuckets = 1 << 17

// mapKey is the key of the id map bucket that holds id.
func (s *Store) mapKey(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return fmt.Sprintf("%sm:%05x", s.prefix, h.Sum32()%idBuckets)
}

// mapValue is an id map entry: the hash, then until when (ms) the entry
// must be kept.
func mapValue(hash []byte, keepMS int64) string {
	return string(binary.BigEndian.AppendUint64(append([]byte{}, hash...), uint64(keepMS)))
}

// gcThreshold is the size of a user's index above which CreateSession also
// drops the entries of sessions that died before their index score passed
// (idle sessions of a user who logs in often).
const gcThreshold = 16

// Lua helper: give the index key KEYS[1] an expiry of at least ARGV[3] ms.
const indexTTL = `
local function keepuntil(key, ms)
  if redis.call('PTTL', key) < 0 then
    redis.call('PEXPIREAT', key, ms)
  else
    redis.call('PEXPIREAT', key, ms, 'GT')
  end
end
`

// indexAdd adds session ARGV[1] to the user's index KEYS[1] with score
// ARGV[2] (µs), keeps the index alive until ARGV[3] (ms), drops entries
// whose score passed more than ARGV[4] seconds ago by the server's clock,
// and returns the index size.
//
// An entry's score is at least the expiry of its session's keys, so an entry
// dropped here belongs to a session whose keys Redis has already expired:
// nothing live is ever unlisted. The margin covers clock skew between the
// cluster nodes that hold the index and the session's keys.
var indexAdd = rueidis.NewLuaScript(indexTTL + `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
keepuntil(KEYS[1], ARGV[3])
local t = redis.call('TIME')
local before = tonumber(t[1]) - tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. before .. string.format('%06d', tonumber(t[2])))
return redis.call('ZCARD', KEYS[1])
`)

// gcMargin is how long after its score an index entry is kept: more than
// any clock skew between cluster nodes.
const gcMargin = time.Minute

// mapClaim adds the entry id ARGV[1] → ARGV[2] (mapValue) to the id map
// bucket KEYS[1] unless id is there (returns 0), keeps the bucket alive
// until ARGV[3] (ms), and first drops the bucket's entries kept until more
// than ARGV[4] ms ago by the server's clock: the entries of sessions whose
// record Redis has expired (the margin covers clock skew between nodes, as
// for the index). Returns 1 when added.
var mapClaim = rueidis.NewLuaScript(indexTTL + `
local t = redis.call('TIME')
local dead = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[4])
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local v = all[i + 1]
  if #v < 8 or struct.unpack('>i8', v, #v - 7) < dead then
    redis.call('HDEL', KEYS[1], all[i])
  end
end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
keepuntil(KEYS[1], ARGV[3])
return 1
`)

// mapTouch returns the hash of id ARGV[1] in the id map bucket KEYS[1],
// nil when it is not there, and raises its keep-until to ARGV[2] (ms) and
// the bucket's expiry to ARGV[2] plus ARGV[3] (ms).
var mapTouch = rueidis.NewLuaScript(indexTTL + `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return false end
local h = string.sub(v, 1, #v - 8)
local ms = tonumber(ARGV[2])
if ms > struct.unpack('>i8', v, #v - 7) then
  redis.call('HSET', KEYS[1], ARGV[1], h .. struct.pack('>i8', ms))
  keepuntil(KEYS[1], ms + tonumber(ARGV[3]))
end
return h
`)

// hdelIfEquals deletes field ARGV[1] of KEYS[1] if it holds ARGV[2].
var hdelIfEquals = rueidis.NewLuaScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
`)

// delIfEquals deletes KEYS[1] if it holds ARGV[1]: undoing a write without
// touching what another caller wrote since.
var delIfEquals = rueidis.NewLuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// indexRaise raises the score of session ARGV[1] in index KEYS[1] to
// ARGV[2] (µs) if it is listed, and keeps the index alive until ARGV[3] (ms).
var indexRaise = rueidis.NewLuaScript(indexTTL + `
if redis.call('ZADD', KEYS[1], 'XX', 'GT', 'CH', ARGV[2], ARGV[1]) == 1 then
  keepuntil(KEYS[1], ARGV[3])
end
return 1
`)

// touchID returns the hash the (legacy) id key KEYS[1] holds, nil when
// there is none, and keeps the id key alive until at least ARGV[1] (ms).
var touchID = rueidis.NewLuaScript(`
local h = redis.call('GET', KEYS[1])
if not h then return false end
redis.call('PEXPIREAT', KEYS[1], ARGV[1], 'GT')
return h
`)

// touchRecord rewrites LastSeenAt and ExpiresAt of the record KEYS[1] with
// the 16 bytes ARGV[1] and moves its expiry to ARGV[2] (ms). Returns {0}
// when there is no record, {1} when done, and {2, record} without writing
// when the new expiry (ARGV[2]) lies beyond both the old one and
// AbsoluteExpiresAt, the bounds the index score already covers: then the
// score must be raised first, and the call repeated with ARGV[3] = "1".
var touchRecord = rueidis.NewLuaScript(`
local v = redis.call('GET', KEYS[1])
if not v then return {0} end
if ARGV[3] ~= '1' then
  local e = tonumber(ARGV[2]) * 1000
  local old = math.ceil(struct.unpack('>i8', v, 10) / 1000) * 1000
  if e > old and e > struct.unpack('>i8', v, 26) then
    return {2, v}
  end
end
redis.call('SETRANGE', KEYS[1], 1, ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return {1}
`)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func notFound(op string) error { return fmt.Errorf("redis: %s: %w", op, authd.ErrNotFound) }

func conflict(op, what string) error {
	return fmt.Errorf("redis: %s: %s exists: %w", op, what, authd.ErrConflict)
}

// cleanupCtx is a context for undoing a half-done write after ctx failed.
func (s *Store) cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), DefaultTimeout)
}

// CreateSession implements authd.SessionStore.
//
// Three writes, in this order: the id map entry (ErrConflict when the id
// is taken), the record under the hash (SET NX: ErrConflict when the hash is
// taken, and the id map entry is released), then the user's index. Until the last
// one the session can be found by hash but is not listed; the cookie value
// is only handed out after CreateSession returns, so nobody can present it
// in that window. A failure after the first write undoes what was written.
//
// NOTE: only s.Hash, the SHA-256 of the cookie value, is stored: a dump of
// Redis gives no live session.
func (s *Store) CreateSession(ctx context.Context, x *authd.Session) error {
	const op = "create session"
	if err := s.entry(ctx, op); err != nil {
		return err
	}
	if len(x.Hash) == 0 {
		return fmt.Errorf("redis: %s: empty hash", op)
	}
	c := s.client
	exp := millisCeil(x.ExpiresAt)
	hashKey := s.hashKey(x.Hash)
	margin := gcMargin.Milliseconds()

	entry, rec := mapValue(x.Hash, exp), string(encodeRecord(x))
	mine := &written{id: x.ID, entry: entry} // what to undo on failure

	n, err := mapClaim.Exec(ctx, c, []string{s.mapKey(x.ID)},
		[]string{x.ID, entry, itoa(exp + margin), itoa(margin)}).AsInt64()
	if err == nil && n == 0 {
		return conflict(op, "session id")
	}
	if err != nil {
		s.undo(ctx, mine) // the entry may have been written before the failure
		return s.wrap(ctx, op, err)
	}
	err = c.Do(ctx, c.B().Set().Key(hashKey).Value(rec).Nx().PxatMillisecondsTimestamp(exp).Build()).Error()
	mine.hashKey, mine.rec = hashKey, rec
	if rueidis.IsRedisNil(err) {
		mine.hashKey = "" // not ours
		s.undo(ctx, mine)
		return conflict(op, "session hash")
	}
	if err != nil {
		s.undo(ctx, mine)
		return s.wrap(ctx, op, err)
	}
	// The index score is an upper bound of when the session's keys expire
	// (see indexAdd): the later of AbsoluteExpiresAt and the keys' expiry.
	score := max(micros(x.AbsoluteExpiresAt), exp*1000)
	n, err = indexAdd.Exec(ctx, c, []string{s.userKey(x.UserID)},
		[]string{x.ID, itoa(score), itoa((score + 999) / 1000), itoa(int64(gcMargin / time.Second))}).AsInt64()
	if err != nil {
		// If the entry was written after all, it points at an id map entry
		// that is gone: the index drops it.
		s.undo(ctx, mine)
		return s.wrap(ctx, op, err)
	}
	if n > gcThreshold {
		s.gcIndex(ctx, x.UserID)
	}
	return nil
}

// written is what a CreateSession call wrote: its id map entry, and its
// record when hashKey is set.
type written struct {
	id, entry    string
	hashKey, rec string
}

// undo deletes what a failed call wrote, each only if it still holds what
// the call wrote, on a context of its own: the record first, so that the
// session is never findable without its id map entry.
func (s *Store) undo(ctx context.Context, w *written) {
	ctx, cancel := s.cleanupCtx(ctx)
	defer cancel()
	if w.hashKey != "" {
		delIfEquals.Exec(ctx, s.client, []string{w.hashKey}, []string{w.rec})
	}
	hdelIfEquals.Exec(ctx, s.client, []string{s.mapKey(w.id)}, []string{w.id, w.entry})
}

// SessionByHash implements authd.SessionStore: one GET of the record (or a
// read of the client-side cache under WithClientCache). Expired sessions are
// gone as soon as Redis expires their key.
func (s *Store) SessionByHash(ctx context.Context, hash []byte) (*authd.Session, error) {
	const op = "find session"
	if err := s.entry(ctx, op); err != nil {
		return nil, err
	}
	if len(hash) == 0 {
		return nil, notFound(op)
	}
	get := s.client.B().Get().Key(s.hashKey(hash))
	var resp rueidis.RedisResult
	if s.cacheTTL > 0 && s.tombstoned(hash) {
		return nil, notFound(op)
	}
	if s.cacheTTL > 0 {
		resp = s.client.DoCache(ctx, get.Cache(), s.cacheTTL)
	} else {
		resp = s.client.Do(ctx, get.Build())
	}
	v, err := resp.ToString()
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	if s.cacheTTL > 0 {
		s.memoMu.RLock()
		d := s.memo[string(hash)]
		s.memoMu.RUnlock()
		if d != nil && d.raw == v {
			cp := d.s
			return &cp, nil
		}
	}
	x, err := decodeRecord(v, hash)
	if err != nil {
		return nil, fmt.Errorf("redis: %s: %w", op, err)
	}
	if s.cacheTTL > 0 {
		s.memoMu.Lock()
		if s.memo == nil || len(s.memo) >= maxMemo {
			s.memo = make(map[string]*decoded)
		}
		s.memo[string(hash)] = &decoded{raw: v, s: *x}
		s.memoMu.Unlock()
	}
	return x, nil
}

// decoded is a record's bytes and their decoding.
type decoded struct {
	raw string
	s   authd.Session
}

// maxMemo bounds the decoded-record memo; when full it starts afresh.
const maxMemo = 100_000

// TouchSession implements authd.SessionStore: the id map entry (or the
// legacy id key) gives the hash and is kept at least as long as the record
// will be, then a script on the record rewrites the two times in place and
// moves the record's expiry.
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	const op = "touch session"
	if err := s.entry(ctx, op); err != nil {
		return err
	}
	c := s.client
	ms := itoa(millisCeil(expiresAt))
	hash, err := mapTouch.Exec(ctx, c, []string{s.mapKey(id)}, []string{id, ms, itoa(gcMargin.Milliseconds())}).ToString()
	if rueidis.IsRedisNil(err) {
		hash, err = touchID.Exec(ctx, c, []string{s.legacyIDKey(id)}, []string{ms}).ToString()
	}
	if err != nil {
		return s.wrap(ctx, op, err)
	}
	hashKey := s.hashKey([]byte(hash))
	args := []string{string(touchBytes(lastSeen, expiresAt)), ms, "0"}
	for {
		res, err := touchRecord.Exec(ctx, c, []string{hashKey}, args).ToArray()
		if err != nil {
			return s.wrap(ctx, op, err)
		}
		code, err := res[0].AsInt64()
		if err != nil {
			return s.wrap(ctx, op, err)
		}
		switch code {
		case 0:
			return notFound(op)
		case 1:
			return nil
		}
		if args[2] == "1" || len(res) < 2 {
			return fmt.Errorf("redis: %s: unexpected reply from the touch script", op)
		}
		// Rare: the new ExpiresAt lies beyond every bound the index holds.
		// Raise the index score first, so that the index never drops a
		// session whose record is still alive, then write the record.
		rec, err := res[1].ToString()
		if err != nil {
			return s.wrap(ctx, op, err)
		}
		userID, err := recordUserID(rec)
		if err != nil {
			return fmt.Errorf("redis: %s: %w", op, err)
		}
		score := millisCeil(expiresAt) * 1000
		if err := indexRaise.Exec(ctx, c, []string{s.userKey(userID)}, []string{id, itoa(score), ms}).Error(); err != nil {
			return s.wrap(ctx, op, err)
		}
		args[2] = "1"
	}
}

// ListSessions implements authd.SessionStore: the index entries whose score
// (an upper bound of the expiry) is after now, their id map entries, then
// their records; ExpiresAt is checked on the records. Entries whose id map
// entry is gone are dropped from the index on the way.
func (s *Store) ListSessions(ctx context.Context, userID string, now time.Time) ([]*authd.Session, error) {
	const op = "list sessions"
	if err := s.entry(ctx, op); err != nil {
		return nil, err
	}
	c := s.client
	userKey := s.userKey(userID)
	ids, err := c.Do(ctx, c.B().Zrange().Key(userKey).Min("("+itoa(micros(now))).Max("+inf").Byscore().Build()).AsStrSlice()
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	out := []*authd.Session{}
	if len(ids) == 0 {
		return out, nil
	}
	hashes, err := s.idHashes(ctx, op, ids)
	if err != nil {
		return nil, err
	}
	var gets, gc rueidis.Commands
	var live []int
	for i, h := range hashes {
		if h == "" {
			gc = append(gc, c.B().Zrem().Key(userKey).Member(ids[i]).Build())
			continue
		}
		live = append(live, i)
		gets = append(gets, c.B().Get().Key(s.hashKey([]byte(h))).Build())
	}
	resps := c.DoMulti(ctx, append(gets, gc...)...)
	for j, i := range live {
		v, err := resps[j].ToString()
		if rueidis.IsRedisNil(err) {
			continue // deleted or expired since the index was read
		}
		if err != nil {
			return nil, s.wrap(ctx, op, err)
		}
		x, err := decodeRecord(v, []byte(hashes[i]))
		if err != nil {
			return nil, fmt.Errorf("redis: %s: %w", op, err)
		}
		if x.UserID == userID && x.ExpiresAt.After(now) {
			out = append(out, x)
		}
	}
	slices.SortFunc(out, func(a, b *authd.Session) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out, nil
}

// idHashes reads the id map entries of ids, and for those not in the map
// their legacy id keys: the hash of each, "" when gone.
func (s *Store) idHashes(ctx context.Context, op string, ids []string) ([]string, error) {
	c := s.client
	cmds := make(rueidis.Commands, len(ids))
	for i, id := range ids {
		cmds[i] = c.B().Hget().Key(s.mapKey(id)).Field(id).Build()
	}
	out := make([]string, len(ids))
	var missing []int
	for i, r := range c.DoMulti(ctx, cmds...) {
		v, err := r.ToString()
		if rueidis.IsRedisNil(err) {
			missing = append(missing, i)
			continue
		}
		if err != nil {
			return nil, s.wrap(ctx, op, err)
		}
		if len(v) < 8 {
			return nil, fmt.Errorf("redis: %s: malformed id map entry", op)
		}
		out[i] = v[:len(v)-8]
	}
	if len(missing) == 0 {
		return out, nil
	}
	cmds = cmds[:0]
	for _, i := range missing {
		cmds = append(cmds, c.B().Get().Key(s.legacyIDKey(ids[i])).Build())
	}
	for j, r := range c.DoMulti(ctx, cmds...) {
		h, err := r.ToString()
		if rueidis.IsRedisNil(err) {
			continue
		}
		if err != nil {
			return nil, s.wrap(ctx, op, err)
		}
		out[missing[j]] = h
	}
	return out, nil
}

// forgetIDs deletes the id map entries of ids and their legacy id keys.
func (s *Store) forgetIDs(ctx context.Context, op string, ids []string) error {
	c := s.client
	cmds := make(rueidis.Commands, 0, 2*len(ids))
	for _, id := range ids {
		cmds = append(cmds, c.B().Hdel().Key(s.mapKey(id)).Field(id).Build(), c.B().Del().Key(s.legacyIDKey(id)).Build())
	}
	for _, r := range c.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil {
			return s.wrap(ctx, op, err)
		}
	}
	return nil
}

// DeleteSession implements authd.SessionStore. The session belongs to
// userID when it is listed in userID's index; then its record is deleted,
// its index entry removed (the claim: of concurrent deleters only the one
// whose ZREM removes the entry succeeds), and its id map entry deleted
// last.
func (s *Store) DeleteSession(ctx context.Context, userID, id string) error {
	const op = "delete session"
	if err := s.entry(ctx, op); err != nil {
		return err
	}
	c := s.client
	userKey := s.userKey(userID)
	if err := c.Do(ctx, c.B().Zscore().Key(userKey).Member(id).Build()).Error(); err != nil {
		return s.wrap(ctx, op, err) // nil reply: not this user's session
	}
	hashes, err := s.idHashes(ctx, op, []string{id})
	if err != nil {
		return err
	}
	hash := hashes[0]
	if hash == "" {
		// Listed but its id is gone from the map: expired, or being
		// deleted by another call that already claimed it. Drop the entry.
		c.Do(ctx, c.B().Zrem().Key(userKey).Member(id).Build())
		return notFound(op)
	}
	if err := c.Do(ctx, c.B().Del().Key(s.hashKey([]byte(hash))).Build()).Error(); err != nil {
		return s.wrap(ctx, op, err)
	}
	s.tombstone(hash)
	n, err := c.Do(ctx, c.B().Zrem().Key(userKey).Member(id).Build()).AsInt64()
	if err != nil {
		return s.wrap(ctx, op, err)
	}
	if err := s.forgetIDs(ctx, op, []string{id}); err != nil {
		return err
	}
	if n == 0 {
		return notFound(op) // another call deleted it first
	}
	return nil
}

// DeleteUserSessions implements authd.SessionStore, in four steps:
//
//  1. read the user's index (every listed id but except);
//  2. read their id map entries (the hashes); an id that is gone is dead
//     already (expired, or claimed by another call) and is only dropped
//     from the index;
//  3. delete the records: from here on SessionByHash cannot find them;
//  4. remove the index entries one by one (the claim: ZREM returns 1 to
//     exactly one caller), then delete the id map entries of the claimed
//     ones.
//
// The ids returned are those this call claimed. See doc.go for why this
// order is what makes the call atomic for every observer that matters, on a
// cluster too.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, except string) ([]string, error) {
	const op = "delete user sessions"
	if err := s.entry(ctx, op); err != nil {
		return nil, err
	}
	c := s.client
	userKey := s.userKey(userID)
	all, err := c.Do(ctx, c.B().Zrange().Key(userKey).Min("0").Max("-1").Build()).AsStrSlice()
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	ids := slices.DeleteFunc(all, func(id string) bool { return id == except })
	deleted := []string{}
	if len(ids) == 0 {
		return deleted, nil
	}
	hashes, err := s.idHashes(ctx, op, ids)
	if err != nil {
		return nil, err
	}
	var dels, claims, gc rueidis.Commands
	var claimed []string
	for i, h := range hashes {
		zrem := c.B().Zrem().Key(userKey).Member(ids[i]).Build()
		if h == "" {
			gc = append(gc, zrem)
			continue
		}
		dels = append(dels, c.B().Del().Key(s.hashKey([]byte(h))).Build())
		s.tombstone(h)
		claims = append(claims, zrem)
		claimed = append(claimed, ids[i])
	}
	if len(dels) > 0 {
		for _, r := range c.DoMulti(ctx, dels...) {
			if err := r.Error(); err != nil {
				return nil, s.wrap(ctx, op, err)
			}
		}
	}
	resps := c.DoMulti(ctx, append(claims, gc...)...)
	for i, id := range claimed {
		n, err := resps[i].AsInt64()
		if err != nil {
			return nil, s.wrap(ctx, op, err)
		}
		if n == 1 {
			deleted = append(deleted, id)
		}
	}
	if len(deleted) > 0 {
		if err := s.forgetIDs(ctx, op, deleted); err != nil {
			return nil, err
		}
	}
	return deleted, nil
}

// gcIndex drops from the user's index the entries whose id map entry is gone
// (sessions that died of idleness before their score passed). Best effort:
// errors are ignored, the next call tries again.
//
// An id map entry disappears only after its session's record (deletes
// remove the record first, and the entry is kept until after the record
// expires), so an index entry dropped here never belongs to a findable
// session; and a deleter claims an index entry before it deletes the id
// map entry, so dropping cannot steal a claim either.
func (s *Store) gcIndex(ctx context.Context, userID string) {
	const op = "gc index"
	c := s.client
	userKey := s.userKey(userID)
	ids, err := c.Do(ctx, c.B().Zrange().Key(userKey).Min("0").Max("-1").Build()).AsStrSlice()
	if err != nil {
		return
	}
	hashes, err := s.idHashes(ctx, op, ids)
	if err != nil {
		return
	}
	var gc rueidis.Commands
	for i, h := range hashes {
		if h == "" {
			gc = append(gc, c.B().Zrem().Key(userKey).Member(ids[i]).Build())
		}
	}
	if len(gc) > 0 {
		c.DoMulti(ctx, gc...)
	}
}

// tombstoneTTL is how long a session this process deleted is refused from
// its client-side cache regardless of the cache: longer than any
// invalidation message takes to arrive.
const tombstoneTTL = 5 * time.Second

// tombstone remembers that this process deleted the session with hash.
// NOTE: rueidis's client-side cache learns of a delete from Redis's
// invalidation message, which arrives a network delay after the DEL
// returns; without this a logout could be followed, on the same node, by a
// request still served from the cache. Other nodes are exposed for that one
// network delay only.
func (s *Store) tombstone(hash string) {
	if s.cacheTTL <= 0 {
		return
	}
	now := time.Now()
	s.tombMu.Lock()
	if s.tombs == nil {
		s.tombs = make(map[string]time.Time)
	}
	if len(s.tombs) > 1024 {
		for k, t := range s.tombs {
			if now.After(t) {
				delete(s.tombs, k)
			}
		}
	}
	s.tombs[hash] = now.Add(tombstoneTTL)
	s.tombMu.Unlock()
}

func (s *Store) tombstoned(hash []byte) bool {
	s.tombMu.RLock()
	defer s.tombMu.RUnlock()
	t, ok := s.tombs[string(hash)]
	return ok && time.Now().Before(t)
}
