package mailtest_test

import (
	"fmt"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/mailtest"
)

func send(t *testing.T, s *mailtest.Server, to, subject string) error {
	t.Helper()
	msg := fmt.Sprintf("From: a@example.com\r\nTo: %s\r\nSubject: %s\r\nX-Test: yes\r\nContent-Type: text/plain\r\n\r\nhello\r\n", to, subject)
	return smtp.SendMail(s.SMTPAddr(), nil, "a@example.com", []string{to}, []byte(msg))
}

func TestServer(t *testing.T) {
	t.Parallel()
	s := mailtest.Start(t)
	if !strings.HasPrefix(s.SMTPURL(), "smtp://127.0.0.1:") {
		t.Fatalf("SMTPURL = %q", s.SMTPURL())
	}
	if err := send(t, s, "bob@example.com", "one"); err != nil {
		t.Fatal(err)
	}
	got := s.WaitFor(t, "bob@example.com", 1, 10*time.Second)
	if len(got) != 1 || got[0].Subject != "one" || got[0].From.Address != "a@example.com" ||
		got[0].Header("X-Test") != "yes" || !strings.Contains(got[0].Text, "hello") {
		t.Fatalf("got %+v", got)
	}

	// Mails survive a restart on the same ports.
	s.Stop()
	if err := send(t, s, "bob@example.com", "lost"); err == nil {
		t.Fatal("a stopped server took a mail")
	}
	s.Restart()
	if err := send(t, s, "bob@example.com", "two"); err != nil {
		t.Fatal(err)
	}
	if got := s.WaitFor(t, "bob@example.com", 2, 10*time.Second); len(got) != 2 {
		t.Fatalf("%d mails after restart, want 2", len(got))
	}
	s.Clear(t)
	if got := s.Messages(t); len(got) != 0 {
		t.Fatalf("%d mails after Clear", len(got))
	}
}

func TestAllowRecipients(t *testing.T) {
	t.Parallel()
	s := mailtest.Start(t, mailtest.AllowRecipients(`@example\.com$`))
	err := send(t, s, "bob@rejected.test", "no")
	if err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("send to a refused recipient: %v, want a 550", err)
	}
	if err := send(t, s, "bob@example.com", "yes"); err != nil {
		t.Fatal(err)
	}
	s.WaitFor(t, "bob@example.com", 1, 10*time.Second)
}
