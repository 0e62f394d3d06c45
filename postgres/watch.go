package postgres

import (
	"context"
	"encoding/hex"
	"strings"

	"github.com/authd/authd"
)

// WatchSessions implements authd.SessionWatcher with LISTEN/NOTIFY: a
// trigger notifies every change of the sessions table at commit; this holds
// one pooled connection listening until ctx ends or the connection breaks.
func (db *DB) WatchSessions(ctx context.Context, h authd.SessionEvents) error {
	const op = "watch sessions"
	pc, err := db.pool.Acquire(ctx)
	if err != nil {
		return db.wrap(ctx, op, err)
	}
	// The connection is left listening or mid-wait: take it out of the pool
	// for good and close it when done.
	conn := pc.Hijack()
	defer conn.Close(context.Background())
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return db.wrap(ctx, op, err)
	}
	if _, err := conn.Exec(ctx, `LISTEN authd_sessions`); err != nil {
		return db.wrap(ctx, op, err)
	}
	h.Subscribed()
	prefix := schema + ":"
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return db.wrap(ctx, op, err)
		}
		payload, ok := strings.CutPrefix(n.Payload, prefix)
		if !ok {
			continue
		}
		if hash, err := hex.DecodeString(payload); err == nil {
			h.Invalidate(hash)
		}
	}
}
