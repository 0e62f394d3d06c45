package redis

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/authd/authd"
	"github.com/redis/rueidis"
)

// The revocation list lives in three keys that share the hash tag {r}, so
// that one script updates them atomically on a cluster too:
//
//	<prefix>{r}:log   a stream: one entry per listed (kind, id), fields k, i, e (ExpiresAt, µs)
//	<prefix>{r}:id    a hash: kind NUL id → the stream id of its entry
//	<prefix>{r}:exp   a sorted set: kind NUL id, scored by ExpiresAt (µs)
//
// Stream ids only grow (Redis keeps the last id even when entries are
// deleted), so the cursor is the stream id of the last entry a reader has
// read, and XRANGE from just after it returns every entry appended since:
// an entry is visible to XRANGE from the moment XADD returns, and is never
// appended behind one already visible. Re-revoking with a later ExpiresAt
// deletes the old entry and appends a new one, so a reader hears of the
// extension and the stream holds each (kind, id) once.

// revoke: ARGV[1] = member, ARGV[2] = ExpiresAt µs, ARGV[3] = kind, ARGV[4] = id.
var revoke = rueidis.NewLuaScript(`
local cur = redis.call('ZSCORE', KEYS[3], ARGV[1])
if cur and tonumber(cur) >= tonumber(ARGV[2]) then return 0 end
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then redis.call('XDEL', KEYS[1], old) end
local id = redis.call('XADD', KEYS[1], '*', 'k', ARGV[3], 'i', ARGV[4], 'e', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], id)
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
`)

// prune deletes up to ARGV[2] entries whose ExpiresAt is before ARGV[1]
// (µs) and returns how many it deleted.
var prune = rueidis.NewLuaScript(`
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(dead) do
  local sid = redis.call('HGET', KEYS[2], m)
  if sid then redis.call('XDEL', KEYS[1], sid) end
  redis.call('HDEL', KEYS[2], m)
  redis.call('ZREM', KEYS[3], m)
end
return #dead
`)

const pruneBatch = 1000

// Revoke implements authd.RevocationList.
func (s *Store) Revoke(ctx context.Context, r authd.Revocation) error {
	const op = "revoke"
	if err := s.entry(ctx, op); err != nil {
		return err
	}
	if strings.IndexByte(r.Kind, 0) >= 0 {
		return authd.Invalidf("kind", "revocation kind contains NUL")
	}
	err := revoke.Exec(ctx, s.client, []string{s.revLog, s.revIDs, s.revExp},
		[]string{r.Kind + "\x00" + r.ID, itoa(micros(r.ExpiresAt)), r.Kind, r.ID}).Error()
	return s.wrap(ctx, op, err)
}

// RevokedSince implements authd.RevocationList with one XRANGE.
func (s *Store) RevokedSince(ctx context.Context, cursor string, now time.Time) ([]authd.Revocation, string, error) {
	const op = "revoked since"
	if err := s.entry(ctx, op); err != nil {
		return nil, "", err
	}
	ms, seq, err := parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	start := "-"
	if cursor != "" {
		start = "(" + strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq, 10)
	}
	entries, err := s.client.Do(ctx, s.client.B().Xrange().Key(s.revLog).Start(start).End("+").Build()).AsXRange()
	if err != nil {
		return nil, "", s.wrap(ctx, op, err)
	}
	next := formatCursor(ms, seq)
	out := []authd.Revocation{}
	nowUS := micros(now)
	for _, e := range entries {
		next = "s" + e.ID
		exp, err := strconv.ParseInt(e.FieldValues["e"], 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("redis: %s: malformed entry %s", op, e.ID)
		}
		if exp > nowUS {
			out = append(out, authd.Revocation{Kind: e.FieldValues["k"], ID: e.FieldValues["i"], ExpiresAt: fromMicros(exp)})
		}
	}
	return out, next, nil
}

// PruneRevocations implements authd.RevocationList, in batches so that no
// script blocks Redis for long.
func (s *Store) PruneRevocations(ctx context.Context, now time.Time) error {
	const op = "prune revocations"
	if err := s.entry(ctx, op); err != nil {
		return err
	}
	for {
		n, err := prune.Exec(ctx, s.client, []string{s.revLog, s.revIDs, s.revExp},
			[]string{itoa(micros(now)), itoa(pruneBatch)}).AsInt64()
		if err != nil {
			return s.wrap(ctx, op, err)
		}
		if n < pruneBatch {
			return nil
		}
	}
}

// A cursor is "s" and a stream id "<ms>-<seq>", both decimal without
// leading zeros: "s0-0" before the first entry. The empty cursor is the
// beginning. The form is canonical, so every valid cursor string parses
// back to itself.

func formatCursor(ms, seq uint64) string {
	return "s" + strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq, 10)
}

func parseCursor(c string) (ms, seq uint64, err error) {
	if c == "" {
		return 0, 0, nil
	}
	bad := func() (uint64, uint64, error) {
		return 0, 0, authd.Invalidf("cursor", "malformed revocation cursor")
	}
	if len(c) < 4 || len(c) > 42 || c[0] != 's' {
		return bad()
	}
	a, b, ok := strings.Cut(c[1:], "-")
	if !ok {
		return bad()
	}
	num := func(d string) (uint64, bool) {
		if d == "" || len(d) > 1 && d[0] == '0' {
			return 0, false
		}
		for i := 0; i < len(d); i++ {
			if d[i] < '0' || d[i] > '9' {
				return 0, false
			}
		}
		n, err := strconv.ParseUint(d, 10, 64)
		return n, err == nil
	}
	var ok1, ok2 bool
	ms, ok1 = num(a)
	seq, ok2 = num(b)
	if !ok1 || !ok2 || ms == math.MaxUint64 && seq == math.MaxUint64 {
		return bad()
	}
	return ms, seq, nil
}
