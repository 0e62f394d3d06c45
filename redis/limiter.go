package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/rueidis"
)

// A key's window is a hash <prefix>l:<key> with fields r (the window's end,
// µs) and c (the count). The window's end is compared with the now the
// caller passes, not with Redis's clock, so that every node agrees on when a
// window ends whatever its TTL; the key's PEXPIREAT (the end plus
// limiterSlack) only collects windows nobody asks about any more.

// limiterSlack keeps a window's key a while after its end, so that a node
// whose clock runs behind Redis's still finds the window open until its own
// now reaches the end.
const limiterSlack = time.Minute

func (s *Store) limiterKey(key string) string { return s.prefix + "l:" + key }

// addFailure: ARGV[1] = now µs, ARGV[2] = now+window µs, ARGV[3] = expiry ms.
// Returns {count, end µs}.
var addFailure = rueidis.NewLuaScript(`
local r = redis.call('HGET', KEYS[1], 'r')
if r and tonumber(ARGV[1]) < tonumber(r) then
  return {redis.call('HINCRBY', KEYS[1], 'c', 1), r}
end
redis.call('HSET', KEYS[1], 'r', ARGV[2], 'c', 1)
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return {1, ARGV[2]}
`)

// AddFailure implements authd.Limiter with one script: the first failure
// (or the first after the window's end) opens a window of length window at
// now; later ones add one to it. The script runs atomically, so n
// concurrent calls add exactly n.
func (s *Store) AddFailure(ctx context.Context, key string, window time.Duration, now time.Time) (int, time.Time, error) {
	const op = "add failure"
	if err := s.entry(ctx, op); err != nil {
		return 0, time.Time{}, err
	}
	end := now.Add(window)
	res, err := addFailure.Exec(ctx, s.client, []string{s.limiterKey(key)},
		[]string{itoa(micros(now)), itoa(micros(end)), itoa(millisCeil(end.Add(limiterSlack)))}).ToArray()
	if err != nil {
		return 0, time.Time{}, s.wrap(ctx, op, err)
	}
	if len(res) != 2 {
		return 0, time.Time{}, fmt.Errorf("redis: %s: unexpected reply", op)
	}
	n, err1 := res[0].AsInt64()
	r, err2 := res[1].ToString()
	us, err3 := strconv.ParseInt(r, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, time.Time{}, fmt.Errorf("redis: %s: unexpected reply", op)
	}
	return int(n), fromMicros(us), nil
}

// forgiveFailure: ARGV[1] = now µs. Takes one from a live window's count.
var forgiveFailure = rueidis.NewLuaScript(`
local v = redis.call('HMGET', KEYS[1], 'r', 'c')
if v[1] and tonumber(ARGV[1]) < tonumber(v[1]) and tonumber(v[2]) > 0 then
  redis.call('HINCRBY', KEYS[1], 'c', -1)
end
return 0
`)

// ForgiveFailure implements authd.Limiter with one script, atomic like
// AddFailure's.
func (s *Store) ForgiveFailure(ctx context.Context, key string, now time.Time) error {
	const op = "forgive failure"
	if err := s.entry(ctx, op); err != nil {
		return err
	}
	err := forgiveFailure.Exec(ctx, s.client, []string{s.limiterKey(key)}, []string{itoa(micros(now))}).Error()
	return s.wrap(ctx, op, err)
}

// Failures implements authd.Limiter with one HMGET.
func (s *Store) Failures(ctx context.Context, key string, now time.Time) (int, time.Time, error) {
	const op = "failures"
	if err := s.entry(ctx, op); err != nil {
		return 0, time.Time{}, err
	}
	vs, err := s.client.Do(ctx, s.client.B().Hmget().Key(s.limiterKey(key)).Field("r", "c").Build()).ToArray()
	if err != nil {
		return 0, time.Time{}, s.wrap(ctx, op, err)
	}
	if len(vs) != 2 || vs[0].IsNil() {
		return 0, time.Time{}, nil
	}
	r, err1 := vs[0].ToString()
	c, err2 := vs[1].ToString()
	us, err3 := strconv.ParseInt(r, 10, 64)
	n, err4 := strconv.Atoi(c)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return 0, time.Time{}, fmt.Errorf("redis: %s: malformed window", op)
	}
	if micros(now) >= us {
		return 0, time.Time{}, nil // the window has ended
	}
	return n, fromMicros(us), nil
}

// ResetFailures implements authd.Limiter.
func (s *Store) ResetFailures(ctx context.Context, key string) error {
	const op = "reset failures"
	if err := s.entry(ctx, op); err != nil {
		return err
	}
	return s.wrap(ctx, op, s.client.Do(ctx, s.client.B().Del().Key(s.limiterKey(key)).Build()).Error())
}
