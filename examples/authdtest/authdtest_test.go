package authdtest

import (
	"fmt"
	"slices"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

// TestServeArgs: Start runs authd with the password grant on (its
// PasswordGrant helper needs it; authd has it off by default), and
// Options.Args come last so that they can turn it off again.
func TestServeArgs(t *testing.T) {
	tests := []struct {
		name string
		opt  Options
		want []string // in this order, not necessarily adjacent
	}{
		{"defaults", Options{}, []string{"serve", "--addr", "127.0.0.1:1", "--db", "sqlite:x.db", "--dev", "--issuer", "http://127.0.0.1:1", "--password-grant"}},
		{"audiences and alg", Options{Audiences: []string{"orders", "billing"}, Alg: "ES256"},
			[]string{"--password-grant", "--audience", "orders", "--audience", "billing", "--jwt-alg", "ES256"}},
		{"args last", Options{Args: []string{"--password-grant=false"}}, []string{"--password-grant", "--password-grant=false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := serveArgs("127.0.0.1:1", "sqlite:x.db", tt.opt)
			i := 0
			for _, a := range got {
				if i < len(tt.want) && a == tt.want[i] {
					i++
				}
			}
			if i != len(tt.want) {
				t.Fatalf("serveArgs = %v, want %v in this order", got, tt.want)
			}
			if tt.opt.Args == nil && slices.Contains(got, "--password-grant=false") {
				t.Fatalf("serveArgs = %v turns the password grant off", got)
			}
		})
	}
}

// fatalTB records Fatalf instead of ending the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
}

// TestBuildNeedsMain: without Main nothing would remove the binary, so
// Build refuses to build.
func TestBuildNeedsMain(t *testing.T) {
	mainRunning = false
	defer func() { mainRunning = true }()
	tb := &fatalTB{TB: t}
	if p := Build(tb, "github.com/authd/authd/cmd/authd"); p != "" || tb.msg == "" {
		t.Fatalf("Build without Main: %q, %q; want a refusal", p, tb.msg)
	}
	if buildDir != "" {
		t.Fatalf("Build without Main made %s", buildDir)
	}
}

// TestClientArgs: RegisterClient passes each field as its flag, and the
// secret only through stdin.
func TestClientArgs(t *testing.T) {
	got := clientArgs("sqlite:x.db", Client{
		ID: "webapp", Secret: "s3cret", Name: "Web app",
		RedirectURIs:           []string{"http://127.0.0.1:1/callback"},
		PostLogoutRedirectURIs: []string{"http://127.0.0.1:1/"},
		BackchannelLogoutURI:   "http://127.0.0.1:1/backchannel-logout",
		Scopes:                 []string{"openid", "email"},
	})
	want := []string{"client", "add", "--db", "sqlite:x.db", "--id", "webapp", "--secret-stdin", "--name", "Web app",
		"--redirect-uri", "http://127.0.0.1:1/callback", "--post-logout-redirect-uri", "http://127.0.0.1:1/",
		"--backchannel-logout-uri", "http://127.0.0.1:1/backchannel-logout", "--scope", "openid", "--scope", "email"}
	if !slices.Equal(got, want) {
		t.Fatalf("clientArgs = %q\nwant %q", got, want)
	}
	if slices.Contains(got, "s3cret") {
		t.Fatal("the secret is on the command line")
	}
	public := clientArgs("sqlite:x.db", Client{ID: "spa", FirstParty: true})
	if want := []string{"client", "add", "--db", "sqlite:x.db", "--id", "spa", "--first-party"}; !slices.Equal(public, want) {
		t.Fatalf("clientArgs = %q, want %q", public, want)
	}
}
