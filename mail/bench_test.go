package mail_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/mailtest"
	"github.com/authd/authd/mail"
	"github.com/authd/authd/postgres"
	"github.com/authd/authd/postgres/pgtest"
)

// The outbox's throughput (issue #19, part 5): how many mails a node
// enqueues (render, seal, insert: the work a request does) and how many one
// Sender drains (claim, open, send, delete) per second. The drain is
// measured with a transport that only counts (the outbox alone) and, when
// AUTHD_TEST_MAILPIT is set, through SMTP to a private Mailpit.
//
//	go test -run '^$' -bench Outbox -benchtime 2000x ./mail
//	AUTHD_TEST_POSTGRES=postgres://… AUTHD_TEST_MAILPIT=… go test -run '^$' -bench Outbox -benchtime 2000x ./mail

// countTransport accepts every mail and counts it.
type countTransport struct{ n atomic.Int64 }

func (c *countTransport) Send(context.Context, string, *mail.Message) error {
	c.n.Add(1)
	return nil
}

// benchOutboxes are the stores of the outbox benchmarks: SQLite always,
// PostgreSQL when AUTHD_TEST_POSTGRES is set (pgtest skips otherwise).
func benchOutboxes(b *testing.B, f func(b *testing.B, ob authd.Outbox)) {
	b.Run("sqlite", func(b *testing.B) { f(b, openSQLite(b, filepath.Join(b.TempDir(), "authd.db"))) })
	b.Run("postgres", func(b *testing.B) {
		dsn := pgtest.Schema(b)
		db, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		f(b, db)
	})
}

// enqueueMail renders, seals and enqueues one recovery mail, as a request
// does.
func enqueueMail(b *testing.B, ob authd.Outbox, seal mail.Sealer, i int) {
	to := fmt.Sprintf("user%d@example.com", i)
	m, err := mail.Render(mail.KindRecover, mail.Data{Site: site, To: to, Link: site + "/recover?token=" + fmt.Sprint(i)})
	if err != nil {
		b.Fatal(err)
	}
	om, err := mail.NewOutboxMessage(m, fmt.Sprint("u", i), seal, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	if err := ob.Enqueue(context.Background(), om); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOutboxEnqueue: render, seal and insert one mail (one request's
// share of the work), serially.
func BenchmarkOutboxEnqueue(b *testing.B) {
	benchOutboxes(b, func(b *testing.B, ob authd.Outbox) {
		seal := newSealer(b)
		b.ResetTimer()
		for i := range b.N {
			enqueueMail(b, ob, seal, i)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mails/s")
	})
}

// BenchmarkOutboxDrain: one Sender drains b.N enqueued mails (claims of
// 16, open, send, delete) through a transport that only counts them.
func BenchmarkOutboxDrain(b *testing.B) {
	benchOutboxes(b, func(b *testing.B, ob authd.Outbox) {
		benchDrain(b, ob, &countTransport{})
	})
}

// BenchmarkOutboxMailpit: the same drain through SMTP to a private
// Mailpit (skipped without AUTHD_TEST_MAILPIT).
func BenchmarkOutboxMailpit(b *testing.B) {
	mp := mailtest.Start(b)
	b.Run("sqlite", func(b *testing.B) {
		benchDrain(b, openSQLite(b, filepath.Join(b.TempDir(), "authd.db")), newSMTP(b, mp))
	})
}

func benchDrain(b *testing.B, ob authd.Outbox, tr mail.Transport) {
	seal := newSealer(b)
	for i := range b.N {
		enqueueMail(b, ob, seal, i)
	}
	s := mail.NewSender(ob, tr, seal, mail.SenderConfig{From: mail.DefaultFrom(site), Logger: slog.New(slog.DiscardHandler)})
	b.ResetTimer()
	total := 0
	for total < b.N {
		n, err := s.SendDue(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatalf("%d of %d sent, then none due", total, b.N)
		}
		total += n
	}
	b.StopTimer()
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "mails/s")
}
