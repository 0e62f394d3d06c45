package mail_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	gomail "github.com/wneessen/go-mail"

	"github.com/authd/authd/mail"
)

func TestNewSMTP(t *testing.T) {
	t.Parallel()
	good := []struct {
		url      string
		addr     string
		implicit bool
		auth     bool
		shown    string
	}{
		{"smtp://mail.example.com", "mail.example.com:587", false, false, "smtp://mail.example.com"},
		{"smtp://mail.example.com:25", "mail.example.com:25", false, false, ""},
		{"smtp://mail.example.com/", "mail.example.com:587", false, false, ""},
		{"smtps://mail.example.com", "mail.example.com:465", true, false, ""},
		{"SMTPS://mail.example.com:2465", "mail.example.com:2465", true, false, ""},
		{"smtp://ann:s3cret@mail.example.com:2525", "mail.example.com:2525", false, true, "smtp://ann:xxxxx@mail.example.com:2525"},
		{"smtps://ann%40example.com:s3cret%2F%40@mail.example.com", "mail.example.com:465", true, true, "smtps://ann%40example.com:xxxxx@mail.example.com"},
		{"smtp://127.0.0.1:1025", "127.0.0.1:1025", false, false, ""},
		{"smtp://[::1]:1025", "[::1]:1025", false, false, ""},
	}
	for _, tt := range good {
		s, err := mail.NewSMTP(tt.url)
		if err != nil {
			t.Errorf("NewSMTP(%q) = %v", tt.url, err)
			continue
		}
		if s.Addr() != tt.addr || s.ImplicitTLS() != tt.implicit || s.Authenticates() != tt.auth {
			t.Errorf("NewSMTP(%q) = %s implicit TLS %v auth %v; want %s %v %v", tt.url, s.Addr(), s.ImplicitTLS(), s.Authenticates(), tt.addr, tt.implicit, tt.auth)
		}
		if tt.shown != "" && s.String() != tt.shown {
			t.Errorf("NewSMTP(%q).String() = %q, want %q", tt.url, s.String(), tt.shown)
		}
		if strings.Contains(s.String(), "s3cret") {
			t.Errorf("NewSMTP(%q).String() shows the password", tt.url)
		}
	}

	bad := []struct{ url, want string }{
		{"", "not a URL"},
		{"mail.example.com:25", "not a URL"},
		{"ann:s3cret@mail.example.com:25", "not a URL"},
		{"smtp:ann:s3cret@mail.example.com", "not a URL"},
		{"http://ann:s3cret@mail.example.com", `scheme is "http"`},
		{"smtp+tls://mail.example.com", "scheme"},
		{"smtp://ann:s3cret@", "no host"},
		{"smtp://ann:s3cret@:25", "no host"},
		{"smtp://ann:s3cret@mail.example.com:0", "port"},
		{"smtp://ann:s3cret@mail.example.com:65536", "port"},
		{"smtp://ann:s3cret@mail.example.com:abc", "does not parse"},
		{"smtp://ann:s3%zzcret@mail.example.com", "does not parse"},
		{"smtp://ann:s3cret@mail.example.com/relay", "a path"},
		{"smtp://ann:s3cret@mail.example.com?tls=off", "a query"},
		{"smtp://ann:s3cret@mail.example.com#x", "a fragment"},
		{"smtp://ann@mail.example.com", "no password"},
		{"smtp://ann:@mail.example.com", "no password"},
		{"smtp://:s3cret@mail.example.com", "no user name"},
		{"smtp://@mail.example.com", "no user name"},
	}
	for _, tt := range bad {
		_, err := mail.NewSMTP(tt.url)
		if err == nil {
			t.Errorf("NewSMTP(%q) = nil error", tt.url)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.want) {
			t.Errorf("NewSMTP(%q) = %q, want it to say %q", tt.url, msg, tt.want)
		}
		if strings.Contains(msg, "s3") || strings.Contains(msg, "cret") {
			t.Errorf("NewSMTP(%q) = %q shows the password", tt.url, msg)
		}
		if !strings.Contains(msg, "smtp://[user:pass@]host[:port]") {
			t.Errorf("NewSMTP(%q) = %q does not say the form", tt.url, msg)
		}
	}
}

func TestDefaultFrom(t *testing.T) {
	t.Parallel()
	tests := []struct{ issuer, want string }{
		{"https://id.example.com", "authd <no-reply@id.example.com>"},
		{"https://ID.Example.com:8443/auth", "authd <no-reply@id.example.com>"},
		{"https://id.example.com./", "authd <no-reply@id.example.com>"},
		{"http://localhost:8080", "authd <no-reply@localhost>"},
		{"http://127.0.0.1:8080", "authd <no-reply@localhost>"},
		{"http://[::1]:8080", "authd <no-reply@localhost>"},
		{"https://[2001:db8::1]", "authd <no-reply@localhost>"},
		{"", "authd <no-reply@localhost>"},
		{"::not a url", "authd <no-reply@localhost>"},
	}
	for _, tt := range tests {
		got := mail.DefaultFrom(tt.issuer)
		if got != tt.want {
			t.Errorf("DefaultFrom(%q) = %q, want %q", tt.issuer, got, tt.want)
		}
		if _, err := mail.ParseFrom(got); err != nil {
			t.Errorf("ParseFrom(DefaultFrom(%q)) = %v", tt.issuer, err)
		}
	}
}

func TestParseFrom(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"authd <no-reply@example.com>":     `"authd" <no-reply@example.com>`,
		"no-reply@example.com":             "<no-reply@example.com>",
		`"Example, Inc." <id@example.com>`: `"Example, Inc." <id@example.com>`,
	}
	for in, want := range good {
		got, err := mail.ParseFrom(in)
		if err != nil || got != want {
			t.Errorf("ParseFrom(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "authd", "authd <no-reply>", "a@example.com, b@example.com", "<@example.com>", "a@example.com\r\nBcc: x@example.com"} {
		_, err := mail.ParseFrom(in)
		if err == nil || !strings.Contains(err.Error(), "--mail-from") {
			t.Errorf("ParseFrom(%q) err = %v, want one naming --mail-from", in, err)
		}
	}
}

func TestIsPermanent(t *testing.T) {
	t.Parallel()
	if mail.IsPermanent(nil) || mail.IsPermanent(errors.New("x")) || mail.IsPermanent(context.DeadlineExceeded) {
		t.Error("an ordinary error is permanent")
	}
	if !mail.IsPermanent(mail.Permanent(errors.New("x"))) || !mail.IsPermanent(fmt.Errorf("w: %w", mail.Permanent(errors.New("x")))) {
		t.Error("a Permanent error is not")
	}
	if mail.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	// go-mail's SendError without an SMTP code (a broken connection) is
	// not IsTemp, and must not be taken for permanent.
	if mail.IsPermanent(&gomail.SendError{Reason: gomail.ErrWriteContent}) {
		t.Error("a SendError without a 5xx reply is permanent")
	}
}

func TestLogTransport(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	lt := mail.LogTransport{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	var _ mail.Transport = lt
	m, err := mail.Render(mail.KindRecover, mail.Data{Site: "http://localhost:8080", To: "ann@example.com", Link: "http://localhost:8080/recover?token=T0KEN"})
	if err != nil {
		t.Fatal(err)
	}
	if err := lt.Send(context.Background(), "authd <no-reply@localhost>", m); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"level=INFO", "ann@example.com", "token=T0KEN", "Reset your password", "no-reply@localhost"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
}
