// Package mailtest gives tests a Mailpit of their own (an SMTP server that
// keeps every mail and shows it through an HTTP API), started from the
// binary that scripts/test-setup builds from tools/mailpit and names in
// AUTHD_TEST_MAILPIT. Without it tests skip with a message, except under
// CI=true, where they fail.
//
// It talks to Mailpit with net/http and encoding/json only: no Mailpit
// package is a dependency of authd's module.
package mailtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/authd/authd/internal/testenv"
)

// readyClient asks whether Mailpit is up.
var readyClient = &http.Client{Timeout: 2 * time.Second}

// Env names the variable that holds the Mailpit binary's path.
const Env = "AUTHD_TEST_MAILPIT"

// Server is a Mailpit owned by one test, which the test can stop and start
// again on the same ports with the mails it holds.
type Server struct {
	tb       testing.TB
	bin      string
	dir      string
	smtpPort int
	httpPort int
	args     []string
	tls      *tls.Config // for clients, when WithTLS or WithImplicitTLS

	mu     sync.Mutex
	cmd    *exec.Cmd     // nil while stopped
	out    *os.File      // its stdout and stderr
	exited chan struct{} // closed when it has exited
}

// Option configures Start.
type Option func(*config)

type config struct {
	allowRecipients string
	tls             bool
	implicitTLS     bool
	auth            bool
}

// AllowRecipients makes Mailpit refuse, with a permanent 550, every
// recipient that does not match the regular expression re.
func AllowRecipients(re string) Option { return func(c *config) { c.allowRecipients = re } }

// WithTLS gives the SMTP server a certificate for 127.0.0.1 and localhost
// and offers STARTTLS; TLSConfig returns the clients' configuration that
// trusts it.
func WithTLS() Option { return func(c *config) { c.tls = true } }

// WithImplicitTLS is WithTLS with TLS from the first byte (smtps://).
func WithImplicitTLS() Option { return func(c *config) { c.tls, c.implicitTLS = true, true } }

// WithAuth makes the SMTP server offer PLAIN and LOGIN authentication, even
// on a connection without TLS, and accept any user name and password.
func WithAuth() Option { return func(c *config) { c.auth = true } }

// Start starts a Mailpit on free loopback ports, waits until it answers,
// and stops it when tb ends. Plain SMTP without TLS and without
// authentication works unless an Option says otherwise.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	bin := os.Getenv(Env)
	if bin == "" {
		testenv.SkipOrFail(tb, "%s not set: run scripts/test-setup (it builds Mailpit from tools/mailpit and exports %s)", Env, Env)
	}
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() {
		testenv.SkipOrFail(tb, "%s=%s is not a Mailpit binary: run scripts/test-setup to build it", Env, bin)
	}
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir()}
	s.args = []string{
		"--database", filepath.Join(s.dir, "mailpit.db"),
		"--disable-version-check",
		"--smtp-disable-rdns",
		"--max", "100000",
		"--log-file", filepath.Join(s.dir, "mailpit.log"),
	}
	if cfg.allowRecipients != "" {
		s.args = append(s.args, "--smtp-allowed-recipients", cfg.allowRecipients)
	}
	if cfg.tls {
		cert, key, pool := selfSigned(tb, s.dir)
		s.args = append(s.args, "--smtp-tls-cert", cert, "--smtp-tls-key", key)
		if cfg.implicitTLS {
			s.args = append(s.args, "--smtp-require-tls")
		}
		s.tls = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if cfg.auth {
		s.args = append(s.args, "--smtp-auth-accept-any")
		if !cfg.tls {
			s.args = append(s.args, "--smtp-auth-allow-insecure")
		}
	}
	var err error
	for range 5 { // another process may take a port between the pick and the start
		s.smtpPort, s.httpPort = freePort(tb), freePort(tb)
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		tb.Fatalf("mailtest: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// SMTPURL returns the SMTP server's URL, smtp://127.0.0.1:PORT (smtps://
// under WithImplicitTLS).
func (s *Server) SMTPURL() string {
	scheme := "smtp"
	if slices.Contains(s.args, "--smtp-require-tls") {
		scheme = "smtps"
	}
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, s.smtpPort)
}

// SMTPAddr returns the SMTP server's host:port.
func (s *Server) SMTPAddr() string { return fmt.Sprintf("127.0.0.1:%d", s.smtpPort) }

// TLSConfig returns a client configuration that trusts the server's
// certificate (WithTLS, WithImplicitTLS); nil otherwise.
func (s *Server) TLSConfig() *tls.Config { return s.tls.Clone() }

// HTTPURL returns the base URL of Mailpit's web UI and API.
func (s *Server) HTTPURL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.httpPort) }

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	args := append([]string{
		"--smtp", s.SMTPAddr(),
		"--listen", fmt.Sprintf("127.0.0.1:%d", s.httpPort),
	}, s.args...)
	cmd := exec.Command(s.bin, args...)
	out, err := os.OpenFile(filepath.Join(s.dir, "mailpit.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	ready := func() bool {
		c, err := net.DialTimeout("tcp", s.SMTPAddr(), time.Second)
		if err != nil {
			return false
		}
		c.Close()
		resp, err := readyClient.Get(s.HTTPURL() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	deadline := time.Now().Add(30 * time.Second)
	for !ready() {
		select {
		case <-exited:
			out.Close()
			return fmt.Errorf("mailpit exited before answering (%v):\n%s", waitErr, s.logs())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			out.Close()
			return fmt.Errorf("mailpit did not answer within 30 s:\n%s", s.logs())
		}
	}
	s.cmd, s.out, s.exited = cmd, out, exited
	return nil
}

// logs returns the end of Mailpit's output and log, for failure messages.
func (s *Server) logs() string {
	var b []byte
	for _, name := range []string{"mailpit.out", "mailpit.log"} {
		if data, err := os.ReadFile(filepath.Join(s.dir, name)); err == nil {
			b = append(b, data...)
		}
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Stop stops the server (the mails it holds stay, for Restart). Stopping a
// stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.out.Close()
	s.cmd, s.out, s.exited = nil, nil, nil
}

// Restart starts the stopped server again, on the same ports and with the
// same mails.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	var err error
	for range 50 { // a port may still be held briefly by the old process
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.tb.Fatalf("mailtest: restart: %v", err)
}

// Address is a mail address as Mailpit shows it.
type Address struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// Mail is one mail Mailpit received.
type Mail struct {
	ID        string    `json:"ID"`        // Mailpit's id
	MessageID string    `json:"MessageID"` // the Message-ID header, without <>
	From      Address   `json:"From"`
	To        []Address `json:"To"`
	Subject   string    `json:"Subject"`
	Text      string    `json:"Text"` // the text/plain part
	HTML      string    `json:"HTML"` // the text/html part
	// Headers holds every header, by its canonical name.
	Headers map[string][]string `json:"-"`
}

// ToAddresses returns the recipients' addresses.
func (m Mail) ToAddresses() []string {
	out := make([]string, len(m.To))
	for i, a := range m.To {
		out[i] = a.Address
	}
	return out
}

// Header returns the first value of the header name ("" when absent).
func (m Mail) Header(name string) string {
	for k, v := range m.Headers {
		if len(v) > 0 && strings.EqualFold(k, name) {
			return v[0]
		}
	}
	return ""
}

// Messages returns every mail the server holds, newest first, with their
// parts and headers.
func (s *Server) Messages(tb testing.TB) []Mail {
	tb.Helper()
	ms, err := s.messages()
	if err != nil {
		tb.Fatalf("mailtest: %v", err)
	}
	return ms
}

func (s *Server) messages() ([]Mail, error) {
	var list struct {
		Total    int `json:"total"`
		Messages []struct {
			ID string `json:"ID"`
		} `json:"messages"`
	}
	var ids []string
	for {
		if err := s.getJSON(fmt.Sprintf("/api/v1/messages?start=%d&limit=500", len(ids)), &list); err != nil {
			return nil, err
		}
		for _, m := range list.Messages {
			ids = append(ids, m.ID)
		}
		if len(list.Messages) == 0 || len(ids) >= list.Total {
			break
		}
	}
	out := make([]Mail, 0, len(ids))
	for _, id := range ids {
		var m Mail
		if err := s.getJSON("/api/v1/message/"+id, &m); err != nil {
			return nil, err
		}
		if err := s.getJSON("/api/v1/message/"+id+"/headers", &m.Headers); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// WaitFor waits until the server holds at least n mails to the address to
// and returns them all (newest first); it fails tb when timeout passes
// first.
func (s *Server) WaitFor(tb testing.TB, to string, n int, timeout time.Duration) []Mail {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ms, err := s.messages()
		if err != nil {
			tb.Fatalf("mailtest: %v", err)
		}
		var got []Mail
		for _, m := range ms {
			for _, a := range m.To {
				if strings.EqualFold(a.Address, to) {
					got = append(got, m)
					break
				}
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			tb.Fatalf("mailtest: %d mails to %s after %s, want %d (the server holds %d mails in all)", len(got), to, timeout, n, len(ms))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Clear deletes every mail the server holds.
func (s *Server) Clear(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, s.HTTPURL()+"/api/v1/messages", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("mailtest: clear: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
		tb.Fatalf("mailtest: clear: %s: %s", resp.Status, body)
	}
}

func (s *Server) getJSON(path string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.HTTPURL()+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %.500s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("mailtest: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and localhost
// and its key to dir, and returns their paths and a pool that trusts it.
func selfSigned(tb testing.TB, dir string) (certPath, keyPath string, pool *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mailtest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certPath, keyPath, pool
}
