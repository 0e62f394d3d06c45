package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// The DPoP replay set (authd.ReplaySet): table dpop_replays (0009).

// rememberSQL records a key in one statement, one round trip: the INSERT
// records a new key; on conflict the row is locked and taken over only
// when it expired before now ($3), and otherwise left as it is. RETURNING
// yields a row only when the statement inserted or updated one, so no row
// means a replay. At READ COMMITTED a concurrent call waits on the row
// and evaluates the WHERE on its latest version: after a take-over, that
// version is alive and the waiter reports false.
const rememberSQL = `INSERT INTO dpop_replays AS r (key, expires_at) VALUES ($1, $2)
	ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE r.expires_at < $3
	RETURNING true`

// Remember implements authd.ReplaySet with one statement.
func (db *DB) Remember(ctx context.Context, key string, expiresAt, now time.Time) (bool, error) {
	var ok bool
	err := db.pool.QueryRow(ctx, rememberSQL, []byte(key), expiresAt, now).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, db.wrap(ctx, "remember replay", err)
	}
	return true, nil
}

// PruneReplays implements authd.ReplaySet in batches of pruneBatch rows,
// so that no one statement holds many row locks or runs long.
func (db *DB) PruneReplays(ctx context.Context, now time.Time) error {
	for {
		n, err := db.exec(ctx, "prune replays", `DELETE FROM dpop_replays WHERE key IN (
			SELECT key FROM dpop_replays WHERE expires_at < $1 LIMIT $2)`, now, pruneBatch)
		if err != nil || n < pruneBatch {
			return err
		}
	}
}
