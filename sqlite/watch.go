package sqlite

import (
	"context"
	"time"

	"github.com/authd/authd"
)

// DefaultWatchPoll is how often WatchSessions reads the change feed unless
// WithWatchPoll says otherwise. It bounds how long another process's
// revocation can be served from a local cache.
const DefaultWatchPoll = 25 * time.Millisecond

// WatchSessions implements authd.SessionWatcher by polling the
// session_events table, which triggers fill in the same transaction as every
// delete or update of a session.
func (db *DB) WatchSessions(ctx context.Context, h authd.SessionEvents) error {
	const op = "watch sessions"
	var last int64
	if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM session_events`).Scan(&last); err != nil {
		return db.wrap(ctx, op, err)
	}
	h.Subscribed()
	t := time.NewTicker(db.watchPoll)
	defer t.Stop()
	polls := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		rows, err := db.read.QueryContext(ctx, `SELECT seq, hash FROM session_events WHERE seq > ? ORDER BY seq`, last)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return db.wrap(ctx, op, err)
		}
		for rows.Next() {
			var hash []byte
			if err := rows.Scan(&last, &hash); err != nil {
				rows.Close()
				return db.wrap(ctx, op, err)
			}
			h.Invalidate(hash)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return db.wrap(ctx, op, err)
		}
		// Every few seconds, forget events no watcher can still need.
		if polls++; polls%200 == 0 {
			db.write.ExecContext(ctx, `DELETE FROM session_events WHERE at < ?`, micros(time.Now().Add(-time.Minute)))
		}
	}
}
