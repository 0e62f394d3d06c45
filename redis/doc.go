// Package redis keeps authd's sessions, revocation list, login-failure
// counters and DPoP replay set in Redis or Redis Cluster, when authd runs
// with --redis. Users, keys, refresh families, clients and the audit log
// stay in the SQL store.
//
// A *Store, from Open, implements authd.SessionStore, authd.RevocationList,
// authd.Limiter, authd.ReplaySet and authd.Pinger on one rueidis client.
// The package passes the storetest conformance suite against a standalone
// server and against a three-master cluster.
//
// # Key layout
//
// Every key starts with the prefix (WithPrefix, default "authd:"; written
// <p> below). {…} is a hash tag: keys with the same tag share a cluster slot.
//
//	<p>h:<hash>        session record: a packed binary string (record.go) of
//	                   every field but the hash, which is the key itself (the
//	                   32 raw bytes of the SHA-256 of the cookie value).
//	                   PEXPIREAT at ExpiresAt.
//	<p>m:<bucket>      the id map: the session's hash by public id
//	                   (TouchSession and the deletes know the id only), in
//	                   131,072 hashes (<bucket>: the id's FNV-1a hash modulo
//	                   131,072, 5 hex digits); field <id>, value the hash
//	                   then a keep-until time (8 bytes, big-endian ms) at
//	                   least the record's expiry. PEXPIREAT the latest
//	                   keep-until of its entries plus a minute.
//	<p>i:<id>          the id key: what the id map replaced (an authd
//	                   before issue #19 wrote one string key per session,
//	                   PEXPIREAT at least the record's); read when an id is
//	                   not in the map, deleted with its session.
//	<p>{u:<userID>}    the user's index: a sorted set of public ids, each
//	                   scored (µs) with an upper bound of when its session's
//	                   keys expire: max(AbsoluteExpiresAt, ExpiresAt). Expires
//	                   with its last entry.
//	<p>{r}:log         revocation stream: one entry per listed (kind, id)
//	<p>{r}:id          hash: kind NUL id → its stream entry id
//	<p>{r}:exp         sorted set: kind NUL id scored by ExpiresAt (µs)
//	<p>l:<key>         a login-failure window: hash r (end, µs), c (count)
//	<p>d{}<key>        a DPoP replay record: its expiresAt (µs). The empty
//	                   tag makes a cluster hash the whole name, whatever
//	                   {…} the client's jti holds. PEXPIREAT expiresAt
//	                   plus a minute.
//
// SessionByHash is one GET of the record: the fastest validation Redis
// offers, as cheap as a raw GET of a value of the same size (see the
// benchmarks). Storing only a pointer under the hash would make it two
// round trips (the pointer, then the record in the user's slot).
//
// # Sessions on a cluster: what "atomic" means
//
// A session's three parts live in three slots (the record's slot follows
// the hash, the id map entry's the id, the index's the user), so no single
// command or script can change all of them on a cluster. Instead, every
// operation writes them in an order that keeps one invariant at every
// instant, even when a call dies halfway:
//
//	a findable record ⇒ its id map entry exists, kept until no earlier than
//	                    the record expires, and (once CreateSession has
//	                    returned) its index entry exists, scored no earlier
//	                    than the record expires.
//
// (Below, "the id map entry" also stands for the id key of a session an
// older authd wrote: every step reads and deletes either.)
//
// The operations keep it so:
//
//   - CreateSession: id map entry (a script: HSETNX, ErrConflict when the
//     id is there), record (SET NX), index entry. Before the last write the
//     session is findable but not listed; the cookie is handed out only
//     after CreateSession returns, so nobody can use that window. A
//     conflict or failure undoes the id map entry.
//   - TouchSession: raise the id map entry's keep-until (and its bucket's
//     expiry), then rewrite the two times of the record in place (SETRANGE
//     in a script) and move its expiry. An ExpiresAt beyond every bound the
//     index score holds (only possible past AbsoluteExpiresAt) first raises
//     the score.
//   - DeleteSession and DeleteUserSessions delete in the reverse order:
//     the record first (from then on SessionByHash says not found on every
//     node), then the index entry, then the id map entry. Removing the
//     index entry (ZREM returning 1) is the claim: among concurrent
//     deleters exactly one removes each entry, and only that one reports
//     the id, so every session is reported deleted exactly once. A deleter
//     claims only entries whose id map entry it saw, and id map entries go
//     only after their index entry is claimed, so an index entry whose id
//     map entry is gone is dead already and is dropped without a report.
//
// DeleteUserSessions therefore is atomic for every observer the contract
// names: every session listed when it starts is unfindable when it
// returns and reported by exactly one deleter; a session created while it
// runs is either deleted and reported or kept and findable, never deleted
// without a report; and no session is ever findable but missing from the
// index (a "ghost" that revoke-all could not reach), not even after a crash
// between two writes. What it is not is instantaneous: during the call a
// lookup may still find a session the call is about to delete, exactly as
// a lookup that ran a moment earlier would. The same reasoning holds on a
// standalone server, where the Store runs the same commands.
//
// The other choice, a lookup key pointing at a record in the user's slot
// deleted by one script, makes SessionByHash two round trips, and still
// leaves the lookup keys in other slots to be deleted afterwards; the lookup
// would have to verify the record on every request to be safe.
//
// Index entries are garbage-collected three ways: by score (a script on
// CreateSession drops entries whose score, an upper bound of their keys'
// expiry, passed more than a minute ago by Redis's clock — the minute
// covers clock skew between cluster nodes), by ListSessions (entries whose
// id map entry is gone), and by CreateSession once a user's index exceeds
// 16 entries (the same check). None can drop the entry of a findable
// session, by the invariant above.
//
// Id map entries have no expiry of their own (a field of a hash cannot,
// before Redis 7.4): the script of CreateSession that adds an entry first
// drops the entries of its bucket kept until more than a minute ago by
// Redis's clock, whose records Redis has expired (the minute covers clock
// skew, as above), and a bucket expires with its latest entry. With 131,072
// buckets a bucket is visited by about every 131,072th login, so an entry
// outlives its session by as long as that many logins take (an hour at 36
// a second), or until its bucket expires.
//
// Keys expire by Redis's clock at the session's ExpiresAt; the Store's
// callers compare ExpiresAt with their own clock. Keep the clocks in sync
// (NTP): a node whose clock runs ahead of Redis's sees sessions vanish a
// little before their ExpiresAt.
//
// # Revocation list
//
// The three revocation keys share the tag {r}: each Revoke is one script.
// Stream ids only grow, so the cursor is the id of the last stream entry a
// reader has read, and an entry is never appended behind one already
// visible: entries revoked concurrently with a read are returned by that
// read or the next, never lost. Re-revoking with a later ExpiresAt deletes
// the old stream entry and appends a new one (readers learn the extension);
// PruneRevocations deletes expired entries in batches.
//
// # Limiter
//
// One script per AddFailure: the window's end is stored as a value and
// compared with the caller's now, so all nodes agree when a window ends; the
// key's PEXPIREAT (end plus a minute) only collects old windows.
//
// # DPoP replay set
//
// One script per Remember, on one key (so it is atomic on a cluster too):
// a record is alive while the caller's now is not after its stored
// expiresAt, compared in the script, exactly as the contract and the
// conformance suite say; if not alive the script writes the new one. The
// key's PEXPIREAT (expiresAt plus a minute, by Redis's clock) collects dead
// records, and PruneReplays has nothing to do. A bare SET NX with a TTL
// (PX expiresAt−now) would be a little cheaper (BenchmarkRememberVsRawSETNX:
// the script costs 0–17% more) but would answer with Redis's clock instead
// of the caller's now: a record expired by the caller's now would still be
// refused, and a node whose clock runs behind Redis's would find a record
// gone, and accept its replay, while the proof is still acceptable to it.
// The minute's slack covers such a node. A record takes 88 bytes (MEMORY
// USAGE, a 22-character jti): at 1,000 DPoP requests a second and a
// five-minute proof window, the 360,000 records of the window and the
// slack take about 32 MB.
//
// # Memory
//
// The record is packed (and versioned, see record.go): four fixed 8-byte
// times, then length-prefixed fields; ids made by authd.NewID are stored
// as their 16 bytes, IP addresses as their 4 or 16 bytes, and common
// User-Agent fragments as one byte each (a desktop Chrome User-Agent of 111
// bytes takes 14). Key names are short and the hash in the key is raw
// bytes.
//
// A session costs two keys of its own at most: its record, and its share of
// its user's index. Its id map entry is a field of a shared hash kept as a
// listpack (about 64 bytes), where the id key it replaced was a key of its
// own (about 170 bytes: name, object, value, expiry entry, hash-table
// buckets). Issue #19's target is INFO used_memory growth, which counts
// those expiry entries and buckets: for a million sessions (two per user;
// two roles, a 25-character email, an IPv4 address, a 100-character
// User-Agent, amr pwd) it grows by 481 bytes a session (587 with id keys),
// so 10 million take about 4.8 GB. The 131,072 buckets cost about 17 MB
// whatever the number of sessions, so the figure per session is higher
// below a million (533 at 100,000). TestSessionMemoryAtScale measures it
// (AUTHD_REDIS_MEMORY=1000000); TestSessionMemory checks MEMORY USAGE of
// the keys, BenchmarkSessionMemory reports both figures.
//
// # Upgrading from an authd with id keys
//
// This version reads and deletes the id keys an older authd wrote, so its
// sessions stay valid, listed and revocable. An older authd does not know
// the id map: given a session this version created, its TouchSession says
// not found (the user is logged out) and its ListSessions, DeleteSession
// and DeleteUserSessions take the session for dead and drop its index
// entry, after which no node can list or revoke that session until it
// expires. So do not run both against one Redis: stop every older node
// before a new one starts (sessions survive the restart). The session
// record itself is unchanged (version 2), which older nodes read.
//
// # Persistence
//
// Run Redis with AOF (appendonly yes): a restart that loses data logs
// users out (harmless) but also forgets revocations, so access tokens
// revoked before it are accepted again until they expire.
//
// # Failure
//
// Every error about the connection (refused, reset, timed out, a closed
// client) and every error reply that means the server cannot serve now
// (LOADING, CLUSTERDOWN, READONLY, …) wraps authd.ErrUnavailable, so that
// callers fail closed. rueidis retries read-only commands after a network
// error; the Store limits that to two retries, so a call never hangs when
// its context has no deadline, and reconnects by itself when the server is
// back.
package redis
