package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/authd/authd/internal/migration"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations in order.
func migrations() ([]migration.Migration, error) {
	return migration.List(migrationFiles, "migrations")
}

// errApplied ends the transaction of a migration another node recorded
// first.
var errApplied = errors.New("migration already applied")

// Migrate brings the schema (in the first schema of the connection's
// search_path) up to date, applying in order every embedded migration not
// yet recorded in schema_migrations. Running it again is a no-op; a
// database whose schema is newer than this program knows is refused.
//
// Nodes may migrate at once, without advisory locks or LOCK TABLE (neither
// of which CockroachDB accepts): each migration runs in its own
// transaction, which first inserts the migration's row into
// schema_migrations (ON CONFLICT DO NOTHING) and only then runs its SQL.
// A second node inserting the same version waits on the primary key until
// the first commits, then inserts nothing and skips the migration; if the
// first rolled back, the second applies it. So every migration is applied
// once, in order, and the schema_migrations row commits with the DDL it
// records. A serialization failure (CockroachDB) reruns the transaction.
//
// On a database whose DDL is not transactional, a migration interrupted
// halfway leaves no row and is run again: every statement of a migration
// is idempotent (IF NOT EXISTS, ON CONFLICT DO NOTHING).
func (db *DB) Migrate(ctx context.Context) error {
	const op = "migrate"
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if err := db.createMigrationsTable(ctx); err != nil {
		return err
	}
	var current int
	if err := db.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return db.wrap(ctx, op, err)
	}
	if current > len(ms) {
		return fmt.Errorf("postgres: %s: database schema version %d is newer than this program's %d; upgrade authd", op, current, len(ms))
	}
	for _, m := range ms[current:] {
		err := db.tx(ctx, op+" "+m.Name, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)
				ON CONFLICT (version) DO NOTHING`, m.Version, m.Name, time.Now())
			if err != nil {
				return db.wrap(ctx, op+": record "+m.Name, err)
			}
			if tag.RowsAffected() == 0 {
				return errApplied
			}
			// No arguments: pgx sends it with the simple protocol, which
			// runs every statement of the file.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return db.wrap(ctx, op+": apply "+m.Name, err)
			}
			return nil
		})
		if err != nil && !errors.Is(err, errApplied) {
			return err
		}
	}
	return nil
}

// createMigrationsTable creates schema_migrations if it does not exist.
// Two sessions creating the same table at once in PostgreSQL can both pass
// IF NOT EXISTS, and the second then fails on the system catalogs' unique
// indexes (23505), with duplicate_table (42P07) or with duplicate_object
// (42710: the table's row type) once the first commits: it is run again,
// and then finds the table.
func (db *DB) createMigrationsTable(ctx context.Context) error {
	const op = "migrate: create schema_migrations"
	var err error
	for range 3 {
		_, err = db.pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer     PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL
		)`)
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || (pe.Code != codeUniqueViolation && pe.Code != "42P07" && pe.Code != "42710" && !retryable(err)) {
			break
		}
	}
	return db.wrap(ctx, op, err)
}
