package token_test

import (
	"crypto/rand"
	"testing"
)

var cryptoRandRead = rand.Read

// openStore returns a fresh store. TEMPORARY: in memory until sqlite exists.
func openStore(t testing.TB) storeAll { return newMemStore() }
