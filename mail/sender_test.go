package mail_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/mailtest"
	"github.com/authd/authd/mail"
	"github.com/authd/authd/postgres"
	"github.com/authd/authd/postgres/pgtest"
	"github.com/authd/authd/sqlite"
)

const site = "https://id.example.com"

// clock is the Senders' injected clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Millisecond)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// logBuffer is a goroutine-safe log destination.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func openSQLite(t testing.TB, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newSMTP(t testing.TB, mp *mailtest.Server) *mail.SMTP {
	t.Helper()
	tr, err := mail.NewSMTP(mp.SMTPURL())
	if err != nil {
		t.Fatal(err)
	}
	tr.Timeout = 10 * time.Second
	return tr
}

// enqueue renders a recovery mail to to, with a link naming to, and puts
// it in ob.
func enqueue(t testing.TB, ob authd.Outbox, s mail.Sealer, to string, now time.Time) *authd.OutboxMessage {
	t.Helper()
	m, err := mail.Render(mail.KindRecover, mail.Data{Site: site, To: to, Link: site + "/recover?token=tok-" + to, ExpiresIn: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	om, err := mail.NewOutboxMessage(m, "user-"+to, s, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Enqueue(context.Background(), om); err != nil {
		t.Fatal(err)
	}
	return om
}

// outboxLen claims (and so leases) every message due by at, to count
// what the outbox holds.
func outboxLen(t testing.TB, ob authd.Outbox, at time.Time) []*authd.OutboxMessage {
	t.Helper()
	ms, err := ob.Claim(context.Background(), authd.OutboxMail, at, time.Minute, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestSendEndToEnd(t *testing.T) {
	t.Parallel()
	mp := mailtest.Start(t)
	db := openSQLite(t, filepath.Join(t.TempDir(), "authd.db"))
	seal := newSealer(t)
	clk := newClock()
	var logs logBuffer
	s := mail.NewSender(db, newSMTP(t, mp), seal, mail.SenderConfig{From: mail.DefaultFrom(site), Now: clk.Now, Logger: logs.logger()})

	om := enqueue(t, db, seal, "ann@example.com", clk.Now())
	sent, err := s.SendDue(context.Background())
	if sent != 1 || err != nil {
		t.Fatalf("SendDue = %d, %v; want 1, nil", sent, err)
	}
	got := mp.WaitFor(t, "ann@example.com", 1, 10*time.Second)
	if len(got) != 1 {
		t.Fatalf("%d mails, want 1", len(got))
	}
	g := got[0]
	link := site + "/recover?token=tok-ann@example.com"
	if g.From.Address != "no-reply@id.example.com" || g.From.Name != "authd" {
		t.Errorf("From = %+v", g.From)
	}
	if g.Subject != "Reset your password at id.example.com" {
		t.Errorf("Subject = %q", g.Subject)
	}
	if !strings.Contains(strings.ReplaceAll(g.Text, "\r\n", "\n"), "\n"+link+"\n") {
		t.Errorf("the text part lacks the link on its own line:\n%s", g.Text)
	}
	if !strings.Contains(g.HTML, `href="`+link+`"`) || !strings.Contains(g.HTML, "Choose a new password") {
		t.Errorf("the HTML part lacks the link:\n%s", g.HTML)
	}
	if g.MessageID != om.ID+"@id.example.com" {
		t.Errorf("Message-ID = %q, want the outbox id %s@id.example.com", g.MessageID, om.ID)
	}
	if g.Header("Auto-Submitted") != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", g.Header("Auto-Submitted"))
	}
	if ct := g.Header("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("Content-Type = %q, want multipart/alternative", ct)
	}
	// Sent mail leaves the outbox: no link is left in the database.
	if left := outboxLen(t, db, clk.Now().Add(24*time.Hour)); len(left) != 0 {
		t.Fatalf("%d messages left in the outbox", len(left))
	}
	// Nothing more is due.
	if sent, err := s.SendDue(context.Background()); sent != 0 || err != nil {
		t.Fatalf("second SendDue = %d, %v", sent, err)
	}
	// The log never holds the link.
	if out := logs.String(); strings.Contains(out, "token=") || !strings.Contains(out, "mail: sent") {
		t.Errorf("log:\n%s", out)
	}
}

func TestSendOutage(t *testing.T) {
	t.Parallel()
	mp := mailtest.Start(t)
	db := openSQLite(t, filepath.Join(t.TempDir(), "authd.db"))
	seal := newSealer(t)
	clk := newClock()
	var logs logBuffer
	s := mail.NewSender(db, newSMTP(t, mp), seal, mail.SenderConfig{From: mail.DefaultFrom(site), Now: clk.Now, Logger: logs.logger()})

	mp.Stop()
	om := enqueue(t, db, seal, "bob@example.com", clk.Now())
	sent, err := s.SendDue(context.Background())
	if sent != 0 || err == nil || mail.IsPermanent(err) {
		t.Fatalf("SendDue during the outage = %d, %v; want 0 and a temporary error", sent, err)
	}
	// Rescheduled, not due now, due after the longest first delay.
	if due := outboxLen(t, db, clk.Now()); len(due) != 0 {
		t.Fatalf("%d messages due right after the failure, want 0", len(due))
	}
	if sent, err := s.SendDue(context.Background()); sent != 0 || err != nil {
		t.Fatalf("SendDue before the retry is due = %d, %v; want 0, nil", sent, err)
	}
	clk.Add(mail.RetryDelay(1))
	due := outboxLen(t, db, clk.Now())
	if len(due) != 1 || due[0].ID != om.ID || due[0].Attempts != 2 || due[0].LastErr == "" {
		t.Fatalf("after the delay the outbox holds %+v; want the message, attempt 2, with its error", due)
	}
	if !strings.Contains(logs.String(), "will retry") {
		t.Errorf("the failure was not logged:\n%s", logs.String())
	}

	mp.Restart()
	clk.Add(2 * time.Minute) // past outboxLen's lease
	sent, err = s.SendDue(context.Background())
	if sent != 1 || err != nil {
		t.Fatalf("SendDue after the outage = %d, %v; want 1, nil", sent, err)
	}
	clk.Add(time.Hour)
	if sent, err := s.SendDue(context.Background()); sent != 0 || err != nil {
		t.Fatalf("SendDue once delivered = %d, %v", sent, err)
	}
	if got := mp.WaitFor(t, "bob@example.com", 1, 10*time.Second); len(got) != 1 {
		t.Fatalf("%d mails, want exactly 1", len(got))
	}
	if got := mp.Messages(t); len(got) != 1 {
		t.Fatalf("Mailpit holds %d mails, want exactly 1", len(got))
	}
}

// sendAll has each of senders run SendDue until, together, they have
// sent n mails; it fails t if that takes a minute.
func sendAll(t *testing.T, senders []*mail.Sender, n int) int64 {
	t.Helper()
	var total atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(time.Minute)
	for _, s := range senders {
		wg.Go(func() {
			for total.Load() < int64(n) && time.Now().Before(deadline) {
				sent, err := s.SendDue(context.Background())
				if err != nil {
					t.Errorf("SendDue: %v", err)
					return
				}
				if total.Add(int64(sent)); sent == 0 {
					time.Sleep(5 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	return total.Load()
}

// checkOnce checks that mp holds exactly one mail to each of the n
// addresses user%02d@example.com, and nothing else.
func checkOnce(t *testing.T, mp *mailtest.Server, n int) {
	t.Helper()
	got := mp.Messages(t)
	if len(got) != n {
		t.Errorf("Mailpit holds %d mails, want %d", len(got), n)
	}
	seen := map[string]int{}
	ids := map[string]bool{}
	for _, m := range got {
		for _, a := range m.ToAddresses() {
			seen[a]++
		}
		ids[m.MessageID] = true
	}
	for i := range n {
		if to := fmt.Sprintf("user%02d@example.com", i); seen[to] != 1 {
			t.Errorf("%s got %d mails, want 1", to, seen[to])
		}
	}
	if len(ids) != len(got) {
		t.Errorf("%d Message-IDs for %d mails", len(ids), len(got))
	}
}

func testSenders(t *testing.T, open func() authd.Outbox) {
	const n, nodes = 50, 4
	mp := mailtest.Start(t)
	seal := newSealer(t)
	clk := newClock()
	first := open()
	for i := range n {
		enqueue(t, first, seal, fmt.Sprintf("user%02d@example.com", i), clk.Now())
	}
	senders := make([]*mail.Sender, nodes)
	for i := range senders {
		ob := first
		if i > 0 {
			ob = open() // each node its own connection to the store
		}
		senders[i] = mail.NewSender(ob, newSMTP(t, mp), seal, mail.SenderConfig{
			From: mail.DefaultFrom(site), Now: clk.Now, Batch: 4, Logger: slog.New(slog.DiscardHandler),
		})
	}
	if total := sendAll(t, senders, n); total != n {
		t.Fatalf("the senders report %d mails sent, want %d", total, n)
	}
	checkOnce(t, mp, n)
	if left := outboxLen(t, first, clk.Now().Add(24*time.Hour)); len(left) != 0 {
		t.Fatalf("%d messages left in the outbox", len(left))
	}
}

func TestSendersSQLite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "authd.db")
	testSenders(t, func() authd.Outbox { return openSQLite(t, path) })
}

func TestSendersPostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	testSenders(t, func() authd.Outbox {
		db, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestSendPermanentFailure(t *testing.T) {
	t.Parallel()
	mp := mailtest.Start(t, mailtest.AllowRecipients(`@example\.com$`))
	db := openSQLite(t, filepath.Join(t.TempDir(), "authd.db"))
	seal := newSealer(t)
	clk := newClock()
	var logs logBuffer
	s := mail.NewSender(db, newSMTP(t, mp), seal, mail.SenderConfig{From: mail.DefaultFrom(site), Now: clk.Now, Logger: logs.logger()})

	bad := enqueue(t, db, seal, "nobody@refused.test", clk.Now())
	enqueue(t, db, seal, "ann@example.com", clk.Now())
	sent, err := s.SendDue(context.Background())
	if sent != 1 || err == nil || !mail.IsPermanent(err) || !strings.Contains(err.Error(), "550") {
		t.Fatalf("SendDue = %d, %v; want 1 and a permanent 550", sent, err)
	}
	// Given up at once: deleted, logged at ERROR with its id and target.
	if left := outboxLen(t, db, clk.Now().Add(24*time.Hour)); len(left) != 0 {
		t.Fatalf("%d messages left in the outbox, want 0", len(left))
	}
	out := logs.String()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, bad.ID) || !strings.Contains(out, "nobody@refused.test") {
		t.Errorf("the give-up is not logged at ERROR with id and target:\n%s", out)
	}
	mp.WaitFor(t, "ann@example.com", 1, 10*time.Second)
	if got := mp.Messages(t); len(got) != 1 {
		t.Fatalf("Mailpit holds %d mails, want 1", len(got))
	}
}

// countingTransport counts sends and answers err.
type countingTransport struct {
	n   atomic.Int32
	err error
}

func (c *countingTransport) Send(context.Context, string, *mail.Message) error {
	c.n.Add(1)
	return c.err
}

func TestSendGivesUp(t *testing.T) {
	t.Parallel()
	seal := newSealer(t)
	t.Run("body does not open", func(t *testing.T) {
		t.Parallel()
		db := openSQLite(t, filepath.Join(t.TempDir(), "authd.db"))
		clk := newClock()
		var logs logBuffer
		tr := &countingTransport{}
		s := mail.NewSender(db, tr, seal, mail.SenderConfig{From: "a@example.com", Now: clk.Now, Logger: logs.logger()})
		om := enqueue(t, db, newSealer(t), "ann@example.com", clk.Now()) // another key
		if sent, err := s.SendDue(context.Background()); sent != 0 || err == nil {
			t.Fatalf("SendDue = %d, %v", sent, err)
		}
		if tr.n.Load() != 0 || len(outboxLen(t, db, clk.Now().Add(time.Hour))) != 0 {
			t.Fatal("a body that does not open was sent or kept")
		}
		if out := logs.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, om.ID) {
			t.Errorf("log:\n%s", out)
		}
	})
	t.Run("too old", func(t *testing.T) {
		t.Parallel()
		db := openSQLite(t, filepath.Join(t.TempDir(), "authd.db"))
		clk := newClock()
		var logs logBuffer
		tr := &countingTransport{err: errors.New("451 try later")}
		s := mail.NewSender(db, tr, seal, mail.SenderConfig{From: "a@example.com", Now: clk.Now, MaxAge: time.Hour, Logger: logs.logger()})
		om := enqueue(t, db, seal, "ann@example.com", clk.Now())
		for tries := 1; ; tries++ {
			_, err := s.SendDue(context.Background())
			if err == nil {
				t.Fatal("SendDue: nil error from a failing transport")
			}
			if strings.Contains(logs.String(), "given up") {
				break
			}
			if tries > 20 {
				t.Fatal("not given up after 20 tries")
			}
			clk.Add(RetryDelayMax)
		}
		if left := outboxLen(t, db, clk.Now().Add(24*time.Hour)); len(left) != 0 {
			t.Fatalf("%d messages left in the outbox", len(left))
		}
		out := logs.String()
		if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, om.ID) || !strings.Contains(out, "ann@example.com") {
			t.Errorf("log:\n%s", out)
		}
		if n := tr.n.Load(); n < 2 {
			t.Errorf("%d tries, want several", n)
		}
	})
}

// RetryDelayMax is the longest retry delay.
var RetryDelayMax = mail.RetryDelay(100)

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	want := []time.Duration{5 * time.Second, 5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 320 * time.Second, 10 * time.Minute, 10 * time.Minute}
	for n, w := range want {
		if got := mail.RetryDelay(n); got != w {
			t.Errorf("RetryDelay(%d) = %v, want %v", n, got, w)
		}
	}
	for _, n := range []int{1000, 1 << 40} {
		if got := mail.RetryDelay(n); got != 10*time.Minute {
			t.Errorf("RetryDelay(%d) = %v", n, got)
		}
	}
}

func TestRunWake(t *testing.T) {
	t.Parallel()
	mp := mailtest.Start(t)
	db := openSQLite(t, filepath.Join(t.TempDir(), "authd.db"))
	seal := newSealer(t)
	s := mail.NewSender(db, newSMTP(t, mp), seal, mail.SenderConfig{From: mail.DefaultFrom(site), Poll: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	// Poll is an hour: only Wake can make these leave.
	for i := range 3 {
		enqueue(t, db, seal, fmt.Sprintf("user%02d@example.com", i), time.Now())
		s.Wake()
		s.Wake() // never blocks
		mp.WaitFor(t, fmt.Sprintf("user%02d@example.com", i), 1, 10*time.Second)
	}
	checkOnce(t, mp, 3)
}

func TestSMTPSecurity(t *testing.T) {
	t.Parallel()
	m, err := mail.Render(mail.KindVerify, mail.Data{Site: site, To: "ann@example.com", Link: site + "/verify?token=x"})
	if err != nil {
		t.Fatal(err)
	}
	from := mail.DefaultFrom(site)
	send := func(t *testing.T, url string, mp *mailtest.Server) error {
		t.Helper()
		tr, err := mail.NewSMTP(url)
		if err != nil {
			t.Fatal(err)
		}
		tr.Timeout = 10 * time.Second
		if c := mp.TLSConfig(); c != nil {
			tr.SetTLSConfig(c)
		}
		return tr.Send(context.Background(), from, m)
	}
	withAuth := func(u string) string { return strings.Replace(u, "://", "://ann:s3cret@", 1) }

	t.Run("STARTTLS and authentication", func(t *testing.T) {
		t.Parallel()
		mp := mailtest.Start(t, mailtest.WithTLS(), mailtest.WithAuth())
		if err := send(t, withAuth(mp.SMTPURL()), mp); err != nil {
			t.Fatal(err)
		}
		mp.WaitFor(t, "ann@example.com", 1, 10*time.Second)
	})
	t.Run("implicit TLS and authentication", func(t *testing.T) {
		t.Parallel()
		mp := mailtest.Start(t, mailtest.WithImplicitTLS(), mailtest.WithAuth())
		if !strings.HasPrefix(mp.SMTPURL(), "smtps://") {
			t.Fatalf("SMTPURL = %s", mp.SMTPURL())
		}
		if err := send(t, withAuth(mp.SMTPURL()), mp); err != nil {
			t.Fatal(err)
		}
		mp.WaitFor(t, "ann@example.com", 1, 10*time.Second)
	})
	t.Run("no password without TLS", func(t *testing.T) {
		t.Parallel()
		mp := mailtest.Start(t, mailtest.WithAuth()) // offers PLAIN and LOGIN in the clear
		err := send(t, withAuth(mp.SMTPURL()), mp)
		if err == nil {
			t.Fatal("a password was sent over a connection without TLS")
		}
		t.Logf("refused as it should be: %v", err)
		if strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("the error shows the password: %v", err)
		}
		if got := mp.Messages(t); len(got) != 0 {
			t.Fatalf("%d mails arrived", len(got))
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		t.Parallel()
		mp := mailtest.Start(t, mailtest.WithTLS())
		tr, err := mail.NewSMTP(mp.SMTPURL()) // the system's roots: the test certificate is not among them
		if err != nil {
			t.Fatal(err)
		}
		tr.Timeout = 10 * time.Second
		if err := tr.Send(context.Background(), from, m); err == nil || mail.IsPermanent(err) {
			t.Fatalf("Send to a server with an untrusted certificate = %v, want a temporary error", err)
		}
		if got := mp.Messages(t); len(got) != 0 {
			t.Fatalf("%d mails arrived", len(got))
		}
	})
	t.Run("bad recipient is permanent", func(t *testing.T) {
		t.Parallel()
		tr, err := mail.NewSMTP("smtp://127.0.0.1:1")
		if err != nil {
			t.Fatal(err)
		}
		bad := *m
		bad.To = "not an address"
		if err := tr.Send(context.Background(), from, &bad); !mail.IsPermanent(err) {
			t.Fatalf("Send to a malformed address = %v, want a permanent error", err)
		}
	})
}
