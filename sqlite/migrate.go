package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in order. Their names are
// NNNN_description.sql; versions start at 1 and have no gaps.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 4 || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", base)
		}
		b, err := migrationFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: want version %04d (versions have no gaps or duplicates)", m.name, i+1)
		}
	}
	return ms, nil
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
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return db.wrap(ctx, fmt.Sprintf("%s: apply %s", op, m.name), err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, micros(time.Now())); err != nil {
				return db.wrap(ctx, fmt.Sprintf("%s: record %s", op, m.name), err)
			}
		}
		return nil
	})
}
