package session_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/authd/authd/session"
)

// BenchmarkValidate is the per-request cost of a session: cookie value to
// user (shape check, SHA-256, one store read, expiry check), on SQLite.
// BenchmarkRawSelect is a plain primary-key SELECT of the same row through
// database/sql on the same file, measured in the same run: the floor.
//
//	go test -run '^$' -bench . -benchmem ./session
func BenchmarkValidate(b *testing.B) {
	m, _, _, u := setup(b)
	ctx := context.Background()
	tok, _, err := m.Create(ctx, u, session.Meta{IP: "192.0.2.1", UserAgent: "Mozilla/5.0"})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		m.Create(ctx, u, session.Meta{})
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Lookup(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawSelect(b *testing.B) {
	m, db, _, u := setup(b)
	ctx := context.Background()
	_, s, err := m.Create(ctx, u, session.Meta{IP: "192.0.2.1", UserAgent: "Mozilla/5.0"})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		m.Create(ctx, u, session.Meta{})
	}
	raw, err := sql.Open("sqlite", "file:"+db.Path()+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	// The same columns the store reads, scanned without decoding.
	stmt, err := raw.PrepareContext(ctx, `SELECT id, hash, user_id, email, roles, created_at, last_seen_at,
		expires_at, absolute_expires_at, ip, user_agent FROM sessions WHERE hash = ?`)
	if err != nil {
		b.Fatal(err)
	}
	defer stmt.Close()
	var id, uid, email, roles, ip, ua string
	var hash []byte
	var created, seen, exp, abs int64
	b.ResetTimer()
	for b.Loop() {
		if err := stmt.QueryRowContext(ctx, s.Hash).Scan(&id, &hash, &uid, &email, &roles, &created, &seen, &exp, &abs, &ip, &ua); err != nil {
			b.Fatal(err)
		}
	}
}
