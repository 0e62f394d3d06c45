package mail_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/mail"
	"github.com/authd/authd/mfa"
)

// *mfa.Sealer is what cmd/authd gives the mail package.
var _ mail.Sealer = (*mfa.Sealer)(nil)

func newSealer(t testing.TB) *mfa.Sealer {
	t.Helper()
	key := make([]byte, mfa.KeySize)
	rand.Read(key)
	s, err := mfa.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewOutboxMessage(t *testing.T) {
	t.Parallel()
	s := newSealer(t)
	m, err := mail.Render(mail.KindRecover, mail.Data{Site: "https://id.example.com", To: "ann@example.com", Link: "https://id.example.com/recover?token=L1NK"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	om, err := mail.NewOutboxMessage(m, "u1", s, now)
	if err != nil {
		t.Fatal(err)
	}
	if om.ID == "" || om.Kind != authd.OutboxMail || om.Target != "ann@example.com" || om.UserID != "u1" ||
		!om.CreatedAt.Equal(now) || !om.NextAt.Equal(now) || om.Attempts != 0 {
		t.Fatalf("row = %+v", om)
	}
	if bytes.Contains(om.Body, []byte("L1NK")) || bytes.Contains(om.Body, []byte("ann@")) {
		t.Fatal("the body is not sealed")
	}
	got, err := mail.OpenOutboxMessage(om, s)
	if err != nil {
		t.Fatal(err)
	}
	want := *m
	want.MessageID = om.ID
	if *got != want {
		t.Fatalf("opened %+v, want %+v", got, want)
	}

	other, _ := mail.NewOutboxMessage(m, "u1", s, now)
	if other.ID == om.ID {
		t.Fatal("two rows share an id")
	}
	// A body moved to another row, changed, or sealed under another key
	// does not open.
	moved := *other
	moved.Body = om.Body
	changed := *om
	changed.Body = bytes.Clone(om.Body)
	changed.Body[len(changed.Body)-1] ^= 1
	for name, row := range map[string]*authd.OutboxMessage{"moved": &moved, "changed": &changed} {
		if _, err := mail.OpenOutboxMessage(row, s); err == nil || !errors.Is(err, mfa.ErrSealed) {
			t.Errorf("%s body: err = %v, want ErrSealed", name, err)
		}
	}
	if _, err := mail.OpenOutboxMessage(om, newSealer(t)); err == nil {
		t.Error("another key opens the body")
	}

	for _, bad := range []*mail.Message{nil, {Subject: "x"}} {
		if _, err := mail.NewOutboxMessage(bad, "u1", s, now); err == nil || !strings.Contains(err.Error(), "recipient") {
			t.Errorf("NewOutboxMessage(%+v) err = %v", bad, err)
		}
	}
	if _, err := mail.NewOutboxMessage(m, "u1", nil, now); err == nil {
		t.Error("NewOutboxMessage without a sealer: nil error")
	}
}
