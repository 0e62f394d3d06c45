package postgres

import "github.com/jackc/pgx/v5/pgxpool"

// PoolOf exposes the pool of db to the black-box tests and benchmarks
// (reading audit_events back, the raw-query benchmark).
func PoolOf(db *DB) *pgxpool.Pool { return db.pool }

// MigrationCount is the number of embedded migrations.
func MigrationCount() int {
	ms, err := migrations()
	if err != nil {
		panic(err)
	}
	return len(ms)
}
