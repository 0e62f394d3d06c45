package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/authd/authd/internal/redact"
)

// Transport delivers one mail.
type Transport interface {
	// Send delivers m from the address from. An error that IsPermanent
	// reports as permanent means that trying again cannot help.
	Send(ctx context.Context, from string, m *Message) error
}

// permanentError marks an error after which a retry cannot help.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as permanent: the Sender gives the mail up at once
// instead of retrying. For transports; nil stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err, from a Transport, means that trying
// again cannot help: an error marked with Permanent, or an SMTP server's
// permanent refusal (a 5xx reply, such as 550 for an unknown mailbox).
//
// NOTE: go-mail's SendError.IsTemp is false for every error that is not
// a 4xx reply, a broken connection included; a 5xx code is required as
// well, so that a connection lost mid-send is retried, not given up.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var p *permanentError
	if errors.As(err, &p) {
		return true
	}
	var se *gomail.SendError
	return errors.As(err, &se) && !se.IsTemp() && se.ErrorCode()/100 == 5
}

// DefaultSendTimeout bounds one SMTP delivery unless SMTP.Timeout says
// otherwise.
const DefaultSendTimeout = 30 * time.Second

// SMTP delivers mail to one SMTP server, a new connection per mail. It is
// safe for concurrent use.
type SMTP struct {
	host      string
	port      int
	ssl       bool
	user      string
	pass      string
	shown     string // the URL without its password, for messages
	tlsConfig *tls.Config

	// Timeout bounds each send (DefaultSendTimeout when zero); a deadline
	// of the context passed to Send shortens it.
	Timeout time.Duration
}

// smtpURLForm is the form an SMTP URL must have, for error messages.
const smtpURLForm = "smtp://[user:pass@]host[:port] or smtps://[user:pass@]host[:port]"

// NewSMTP returns the transport for the server rawURL names:
//
//   - smtp://[user:pass@]host[:port]: STARTTLS when the server offers it
//     (port 587 by default);
//   - smtps://[user:pass@]host[:port]: TLS from the first byte (port 465
//     by default).
//
// With user:pass it authenticates with the best mechanism both sides
// support. A malformed URL is an error naming what is wrong, with the
// password hidden.
//
// NOTE: a password is never sent over a connection without TLS: on a
// plain smtp:// connection to a server that does not offer STARTTLS,
// go-mail's discovery leaves PLAIN and LOGIN out, so authentication fails
// instead (a server offering a challenge mechanism such as CRAM-MD5 or
// SCRAM still gets one). "STARTTLS when offered" does not stop an active
// attacker who removes the offer; use smtps://, or smtp:// to a server on
// the same host or network, where that matters.
func NewSMTP(rawURL string) (*SMTP, error) {
	if !strings.Contains(rawURL, "://") {
		// Not even shown: without "scheme://", redact.URL cannot tell
		// where a password would be.
		return nil, fmt.Errorf("mail: the SMTP URL is not a URL: it must have the form %s", smtpURLForm)
	}
	shown := redact.URL(rawURL)
	bad := func(format string, args ...any) error {
		return fmt.Errorf("mail: the SMTP URL %s: %s; it must have the form %s", shown, fmt.Sprintf(format, args...), smtpURLForm)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// NOTE: url.Parse's error quotes the URL, password included.
		return nil, bad("it does not parse (a bad port, or a character that must be %%-encoded in the user name or password)")
	}
	s := &SMTP{shown: shown}
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		s.port = gomail.DefaultPortTLS
	case "smtps":
		s.ssl, s.port = true, gomail.DefaultPortSSL
	default:
		return nil, bad("the scheme is %q, not smtp or smtps", u.Scheme)
	}
	switch {
	case u.Opaque != "":
		return nil, bad("no // before the host")
	case u.Hostname() == "":
		return nil, bad("no host")
	case u.Path != "" && u.Path != "/":
		return nil, bad("a path (%s) where none is taken", u.EscapedPath())
	case u.RawQuery != "" || u.ForceQuery:
		return nil, bad("a query where none is taken")
	case u.Fragment != "":
		return nil, bad("a fragment where none is taken")
	}
	s.host = u.Hostname()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, bad("the port %q is not a number from 1 to 65535", p)
		}
		s.port = n
	}
	if u.User != nil {
		s.user = u.User.Username()
		pass, hasPass := u.User.Password()
		switch {
		case s.user == "" && hasPass:
			return nil, bad("a password but no user name")
		case s.user == "":
			return nil, bad("an @ but no user name before it")
		case !hasPass || pass == "":
			return nil, bad("a user name but no password (give both, user:pass@, or neither)")
		}
		s.pass = pass
	}
	return s, nil
}

// String returns the server's URL without its password.
func (s *SMTP) String() string { return s.shown }

// Addr returns the server's host:port.
func (s *SMTP) Addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// ImplicitTLS reports whether the connection is TLS from the first byte
// (smtps://) rather than STARTTLS when offered (smtp://).
func (s *SMTP) ImplicitTLS() bool { return s.ssl }

// Authenticates reports whether the URL holds a user name and password.
func (s *SMTP) Authenticates() bool { return s.user != "" }

// SetTLSConfig sets the TLS configuration (for instance the RootCAs that
// a test server's certificate is signed with). Its ServerName defaults to
// the URL's host. Not safe to call concurrently with Send.
func (s *SMTP) SetTLSConfig(c *tls.Config) {
	c = c.Clone()
	if c.ServerName == "" {
		c.ServerName = s.host
	}
	if c.MinVersion == 0 {
		c.MinVersion = gomail.DefaultTLSMinVersion
	}
	s.tlsConfig = c
}

// Send delivers m from from over a new connection.
//
// NOTE: go-mail sets the connection's deadline to now+timeout when it
// dials and again before the message, so one Send takes at most about
// twice its timeout; the Sender's lease is made longer than that.
func (s *SMTP) Send(ctx context.Context, from string, m *Message) error {
	msg, err := s.build(from, m)
	if err != nil {
		return Permanent(err)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultSendTimeout
	}
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 {
		return fmt.Errorf("mail: send through %s: %w", s.shown, context.DeadlineExceeded)
	}
	opts := []gomail.Option{gomail.WithPort(s.port), gomail.WithTimeout(timeout)}
	if s.ssl {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.tlsConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(s.tlsConfig))
	}
	if s.user != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.user), gomail.WithPassword(s.pass))
	}
	c, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return Permanent(fmt.Errorf("mail: send through %s: %w", s.shown, err))
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		if errors.Is(err, gomail.ErrNoSupportedAuthDiscovered) && !s.ssl {
			return fmt.Errorf("mail: send through %s: %w (without TLS authd sends no password; "+
				"does the server offer STARTTLS? else use smtps://)", s.shown, err)
		}
		return fmt.Errorf("mail: send through %s: %w", s.shown, err)
	}
	return nil
}

// build turns m into go-mail's message.
func (s *SMTP) build(from string, m *Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("mail: the From address %q: %w", from, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("mail: the recipient %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	if m.MessageID != "" {
		domain := "localhost"
		if a, err := mail.ParseAddress(from); err == nil {
			domain = a.Address[strings.LastIndexByte(a.Address, '@')+1:]
		}
		msg.SetMessageIDWithValue(m.MessageID + "@" + domain)
	} else {
		msg.SetMessageID()
	}
	// RFC 3834: a machine wrote this; auto-responders stay quiet.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// LogTransport writes every mail to the log instead of sending it: for
// --dev without --smtp, so that a developer can follow the links.
type LogTransport struct{ Logger *slog.Logger }

// Send logs the whole mail (from, to, subject and the text part, link
// included) at INFO.
func (l LogTransport) Send(ctx context.Context, from string, m *Message) error {
	log := l.Logger
	if log == nil {
		log = slog.Default()
	}
	log.InfoContext(ctx, "mail: not sent (no --smtp); the whole mail follows",
		"from", from, "to", m.To, "subject", m.Subject, "text", m.Text)
	return nil
}

// DefaultFrom returns the default --mail-from for the issuer URL:
// `authd <no-reply@HOST>`, HOST being the issuer's host without its port,
// or localhost when that is an IP address (or the issuer has no host).
func DefaultFrom(issuer string) string {
	host := ""
	if u, err := url.Parse(issuer); err == nil {
		host = strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	}
	if host == "" || net.ParseIP(host) != nil {
		host = "localhost"
	}
	return "authd <no-reply@" + host + ">"
}

// ParseFrom checks a --mail-from value, an address such as
// `authd <no-reply@example.com>` or `no-reply@example.com`, and returns it
// in its canonical form.
func ParseFrom(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("mail: --mail-from %q is not one mail address such as `authd <no-reply@example.com>`: %v", s, err)
	}
	return a.String(), nil
}
