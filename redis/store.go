package redis

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/authd/authd"
	"github.com/redis/rueidis"

	"github.com/authd/authd/internal/redact"
)

// DefaultPrefix is the prefix of every key the Store writes.
const DefaultPrefix = "authd:"

// DefaultTimeout bounds connecting to a server and waiting for any one
// reply: a server that does not answer within it is unavailable.
const DefaultTimeout = 3 * time.Second

// connBuffer is the size of each connection's read and of its write
// buffer (rueidis's default: 512 KiB each; see Open).
const connBuffer = 64 << 10

// Store keeps sessions, the revocation list, the login-failure counters and
// the DPoP replay set in Redis or Redis Cluster. It implements
// authd.SessionStore, authd.RevocationList, authd.Limiter, authd.ReplaySet
// and authd.Pinger, and is safe for concurrent use.
type Store struct {
	client   rueidis.Client
	prefix   string
	cacheTTL time.Duration // > 0: SessionByHash uses the client-side cache

	tombMu sync.RWMutex
	tombs  map[string]time.Time // hashes of sessions this process deleted, until when

	// memo keeps the last decoding of each client-cached record, so that a
	// cache hit returning the very same bytes is not decoded again. It is
	// consulted only after the client cache answered, with those bytes:
	// it can never answer for a record Redis no longer holds.
	memoMu  sync.RWMutex
	memo    map[string]*decoded
	cluster bool

	// Keys of the revocation list, all in one hash slot.
	revLog, revIDs, revExp string
}

var (
	_ authd.SessionStore   = (*Store)(nil)
	_ authd.RevocationList = (*Store)(nil)
	_ authd.Limiter        = (*Store)(nil)
	_ authd.Pinger         = (*Store)(nil)
	_ authd.ReplaySet      = (*Store)(nil)
)

// An Option configures Open.
type Option func(*options)

type options struct {
	prefix   string
	timeout  time.Duration
	cacheTTL time.Duration
}

// WithPrefix sets the prefix of every key (default DefaultPrefix), so that
// several authd installations, or test runs, can share one server. It must
// not contain '{' or '}': the Store uses hash tags of its own.
func WithPrefix(p string) Option { return func(o *options) { o.prefix = p } }

// WithTimeout sets how long connecting, and waiting for any one reply, may
// take before the server counts as unavailable (default DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithClientCache makes SessionByHash read through rueidis's client-side
// cache (RESP3 CLIENT TRACKING): a session read once is served from this
// process's memory for up to ttl, or until Redis reports that its key
// changed. Every write of a session key, from any client, sends that report:
// a deleted or touched session is dropped from every node's cache as soon as
// the invalidation message arrives (typically well under a millisecond on a
// LAN), and rueidis drops a connection's whole cache when the connection
// breaks (pipe.go: the connection's exit closes its cache store). ttl <= 0
// disables the cache (the default).
//
// NOTE: the invalidation is asynchronous. For the moment it takes to
// arrive, a lookup on any node, this one included, may still return a
// session that was just deleted or the times before a touch: the cache
// trades "not found on every node once DeleteSession returns" for "not
// found on every node about one network delay after". The cache package
// decides whether that is acceptable; the Store does not use the cache
// unless asked.
func WithClientCache(ttl time.Duration) Option { return func(o *options) { o.cacheTTL = ttl } }

// Open connects to the Redis server or cluster rawURL names:
//
//	redis://[user:password@]host:port[/N]          a standalone server, database N (default 0)
//	rediss://…                                      the same over TLS
//	redis-cluster://[user:password@]h1:p1,h2:p2,…   a Redis Cluster, any of its nodes as seeds
//	rediss-cluster://…                              the same over TLS
//
// Query parameters of rueidis.ParseURL (dial_timeout, client_name, …) are
// accepted. A malformed URL is a plain error; a server that cannot be
// reached or does not answer PING in time is an error wrapping
// authd.ErrUnavailable.
func Open(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	o := options{prefix: DefaultPrefix, timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if strings.ContainsAny(o.prefix, "{}") {
		return nil, fmt.Errorf("redis: prefix %q must not contain '{' or '}'", o.prefix)
	}
	if o.timeout <= 0 {
		o.timeout = DefaultTimeout
	}
	copt, cluster, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	dial := o.timeout
	if dl, ok := ctx.Deadline(); ok {
		dial = min(dial, max(time.Until(dl), time.Millisecond))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redis: open %s: %w", redact.URL(rawURL), err)
	}
	copt.Dialer.Timeout = dial
	copt.ConnWriteTimeout = o.timeout
	copt.DisableCache = o.cacheTTL <= 0
	// NOTE: rueidis gives each connection a 0.5 MiB read and a 0.5 MiB
	// write buffer, allocated at connect and live for good: 2–4 MiB of heap
	// on one server, more over a cluster's masters, and Go's collector
	// lets the heap grow to twice what is live. authd's commands and
	// replies are a few hundred bytes (a session, a script's result); a
	// larger reply is read through the buffer in pieces, a larger pipeline
	// flushed in pieces. Issue #19: peak RSS under load ≤ 50 MB.
	if copt.ReadBufferEachConn == 0 {
		copt.ReadBufferEachConn = connBuffer
	}
	if copt.WriteBufferEachConn == 0 {
		copt.WriteBufferEachConn = connBuffer
	}
	// NOTE: rueidis retries read-only commands after a network error until
	// the context ends, with no limit when it has no deadline. A session
	// lookup must fail closed quickly instead: retry twice (enough to ride
	// over a reconnect after a failover), then report ErrUnavailable.
	copt.RetryDelay = func(attempts int, _ rueidis.Completed, _ error) time.Duration {
		if attempts >= 2 {
			return -1
		}
		return time.Duration(attempts+1) * 20 * time.Millisecond
	}
	if copt.ClientName == "" {
		copt.ClientName = "authd"
	}
	client, err := rueidis.NewClient(copt)
	if err != nil {
		return nil, fmt.Errorf("redis: open %s: %w: %w", redact.URL(rawURL), authd.ErrUnavailable, err)
	}
	s := &Store{
		client:   client,
		prefix:   o.prefix,
		cacheTTL: o.cacheTTL,
		cluster:  cluster,
		revLog:   o.prefix + "{r}:log",
		revIDs:   o.prefix + "{r}:id",
		revExp:   o.prefix + "{r}:exp",
	}
	if err := s.Ping(ctx); err != nil {
		client.Close()
		return nil, fmt.Errorf("redis: open %s: %w", redact.URL(rawURL), err)
	}
	return s, nil
}

// parseURL turns an authd Redis URL into rueidis options.
func parseURL(raw string) (rueidis.ClientOption, bool, error) {
	bad := func(why string) (rueidis.ClientOption, bool, error) {
		return rueidis.ClientOption{}, false, fmt.Errorf("redis: bad URL %s: %s", redact.URL(raw), why)
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return bad("want redis://host:port/N or redis-cluster://host:port,host:port")
	}
	switch scheme {
	case "redis", "rediss":
		opt, err := rueidis.ParseURL(raw)
		if err != nil {
			return bad(err.Error())
		}
		if u, err := url.Parse(raw); err == nil && u.Host == "" {
			return bad("no host")
		}
		opt.ForceSingleClient = true
		return opt, false, nil
	case "redis-cluster", "rediss-cluster":
		// host1:port1,host2:port2 is not a valid URL authority: rebuild the
		// URL with the first seed as host and the others as addr=
		// parameters, which rueidis.ParseURL reads as more seeds.
		auth, tail := rest, ""
		if i := strings.IndexAny(rest, "/?"); i >= 0 {
			auth, tail = rest[:i], rest[i:]
		}
		userinfo := ""
		if i := strings.LastIndexByte(auth, '@'); i >= 0 {
			userinfo, auth = auth[:i+1], auth[i+1:]
		}
		var seeds []string
		for _, h := range strings.Split(auth, ",") {
			if h = strings.TrimSpace(h); h != "" {
				seeds = append(seeds, h)
			}
		}
		if len(seeds) == 0 {
			return bad("no host")
		}
		path, query, _ := strings.Cut(tail, "?")
		if path != "" && path != "/" && path != "/0" {
			return bad("a cluster has only database 0")
		}
		q := url.Values{}
		if query != "" {
			var err error
			if q, err = url.ParseQuery(query); err != nil {
				return bad(err.Error())
			}
		}
		for _, h := range seeds[1:] {
			q.Add("addr", h)
		}
		base := strings.TrimSuffix(scheme, "-cluster")
		opt, err := rueidis.ParseURL(base + "://" + userinfo + seeds[0] + "?" + q.Encode())
		if err != nil {
			return bad(err.Error())
		}
		return opt, true, nil
	default:
		return bad("unknown scheme " + strconv.Quote(scheme))
	}
}

// Ping reports whether Redis answers: nil, or an error wrapping
// authd.ErrUnavailable. On a cluster every node the client knows must answer.
func (s *Store) Ping(ctx context.Context) error {
	const op = "ping"
	if err := ctx.Err(); err != nil {
		return s.wrap(ctx, op, err)
	}
	if !s.cluster {
		return s.wrapUnavailable(ctx, op, s.client.Do(ctx, s.client.B().Ping().Build()).Error())
	}
	nodes := s.client.Nodes()
	if len(nodes) == 0 {
		return fmt.Errorf("redis: %s: %w: no cluster node known", op, authd.ErrUnavailable)
	}
	for addr, n := range nodes {
		if err := n.Do(ctx, n.B().Ping().Build()).Error(); err != nil {
			return s.wrapUnavailable(ctx, op+" "+addr, err)
		}
	}
	return nil
}

// Close closes the connections. Calls after Close fail with ErrUnavailable.
func (s *Store) Close() error {
	s.client.Close()
	return nil
}

// wrap maps an error of rueidis onto the authd sentinels and names op:
//
//   - a nil reply (rueidis.IsRedisNil) → authd.ErrNotFound;
//   - a cancelled context → the context's error; an expired deadline →
//     also authd.ErrUnavailable (the store did not answer in time);
//   - an error reply whose code says the server cannot serve now (LOADING,
//     BUSY, CLUSTERDOWN, TRYAGAIN, MASTERDOWN, READONLY, OOM, NOREPLICAS,
//     MOVED, ASK, NOAUTH, WRONGPASS) → authd.ErrUnavailable;
//   - any other error reply (a bug: WRONGTYPE, a script error) as it is;
//   - everything else rueidis returns is about the connection (dial, I/O,
//     timeout, a closed client) → authd.ErrUnavailable.
func (s *Store) wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if rueidis.IsRedisNil(err) {
		return fmt.Errorf("redis: %s: %w", op, authd.ErrNotFound)
	}
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(cerr, context.DeadlineExceeded) {
			return fmt.Errorf("redis: %s: %w: %w", op, authd.ErrUnavailable, cerr)
		}
		return fmt.Errorf("redis: %s: %w", op, cerr)
	}
	if re, ok := rueidis.IsRedisErr(err); ok {
		code, _, _ := strings.Cut(re.Error(), " ")
		switch code {
		case "LOADING", "BUSY", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY", "OOM",
			"NOREPLICAS", "MOVED", "ASK", "NOAUTH", "WRONGPASS":
			return fmt.Errorf("redis: %s: %w: %w", op, authd.ErrUnavailable, err)
		}
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	return fmt.Errorf("redis: %s: %w: %w", op, authd.ErrUnavailable, err)
}

// wrapUnavailable is wrap for calls where not even a nil reply is an
// answer (PING).
func (s *Store) wrapUnavailable(ctx context.Context, op string, err error) error {
	err = s.wrap(ctx, op, err)
	if err != nil && !errors.Is(err, authd.ErrUnavailable) && ctx.Err() == nil {
		err = fmt.Errorf("%w: %w", authd.ErrUnavailable, err)
	}
	return err
}

// entry checks ctx before a call touches Redis, so that a cancelled
// context never writes anything.
func (s *Store) entry(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return s.wrap(ctx, op, err)
	}
	return nil
}
