package token_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"

	"github.com/authd/authd/sqlite"
)

var cryptoRandRead = rand.Read

// openStore returns a fresh SQLite store in a temporary directory.
func openStore(t testing.TB) storeAll {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
