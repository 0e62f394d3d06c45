package postgres

import (
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

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

// SetProbeHeartbeat sets how long the listener of the change probes opened
// from now on waits in silence before it pings its connection, and returns
// a function that restores it.
func SetProbeHeartbeat(d time.Duration) (restore func()) {
	old := probeHeartbeat
	probeHeartbeat = d
	return func() { probeHeartbeat = old }
}
