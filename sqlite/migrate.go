package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"github.com/authd/authd/internal/migration"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations in order.
func migrations() ([]migration.Migration, error) {
	return migration.List(migrationFiles, "migrations")
}

// Migrate brings the schema up to date: it applies, in order, every
// embedded migration not yet recorded in schema_migrations, all in one
// BEGIN IMMEDIATE transaction. Two processes migrating at once are
// serialised by SQLite's write lock: the second waits (up to BusyTimeout),
// then finds nothing left to do. Running it again is a no-op. A database
// whose schema is newer than this program knows is refused.
func (db *DB) Migrate(ctx context.Context) error {
	const op = "migrate"
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return db.tx(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL
		) STRICT`); err != nil {
			return db.wrap(ctx, op, err)
		}
		var current int
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return db.wrap(ctx, op, err)
		}
		if current > len(ms) {
			return fmt.Errorf("sqlite: %s: database schema version %d is newer than this program's %d; upgrade authd", op, current, len(ms))
		}
		for _, m := range ms[current:] {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return db.wrap(ctx, fmt.Sprintf("%s: apply %s", op, m.Name), err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, micros(time.Now())); err != nil {
				return db.wrap(ctx, fmt.Sprintf("%s: record %s", op, m.Name), err)
			}
		}
		return nil
	})
}
