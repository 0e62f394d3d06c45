package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// The DPoP replay set (authd.ReplaySet): table dpop_replays (0009).

// rememberSQL records a key in one statement, atomic under the file's
// write lock: the INSERT records a new key; on conflict the row is taken
// over only when it expired before now (?3), and otherwise left as it is.
// RETURNING yields a row only when the statement inserted or updated one,
// so no row means a replay. The WHERE of DO UPDATE reads the row as it is.
const rememberSQL = `INSERT INTO dpop_replays (key, expires_at) VALUES (?1, ?2)
	ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE expires_at < ?3
	RETURNING 1`

// Remember implements authd.ReplaySet with one prepared UPSERT on the
// write connection: of concurrent calls with one key, in this process or
// another sharing the file, exactly one inserts or takes over the row.
func (db *DB) Remember(ctx context.Context, key string, expiresAt, now time.Time) (bool, error) {
	var one int
	err := db.writeQueryRow(ctx, rememberSQL, key, micros(expiresAt), micros(now)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, db.wrap(ctx, "remember replay", err)
	}
	return true, nil
}

// pruneReplaysBatch bounds the rows one statement of PruneReplays
// deletes: the write connection is free between two batches, so the
// Remember calls of every request queue behind one batch, not behind the
// whole purge.
const pruneReplaysBatch = 1000

// PruneReplays implements authd.ReplaySet, in batches of
// pruneReplaysBatch rows.
func (db *DB) PruneReplays(ctx context.Context, now time.Time) error {
	for {
		n, err := db.exec(ctx, "prune replays", `DELETE FROM dpop_replays WHERE key IN (
			SELECT key FROM dpop_replays WHERE expires_at < ? LIMIT ?)`, micros(now), pruneReplaysBatch)
		if err != nil || n < pruneReplaysBatch {
			return err
		}
	}
}
