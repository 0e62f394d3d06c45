package mfa_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/authd/authd"
	"github.com/authd/authd/sqlite"
)

// testStore is what the tests need of a store.
type testStore interface {
	authd.FactorStore
	authd.ChallengeStore
	CreateUser(ctx context.Context, u *authd.User) error
}

// newStore returns the real SQLite store in a fresh file, closed when the
// test ends.
func newStore(t testing.TB) testStore {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "authd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
