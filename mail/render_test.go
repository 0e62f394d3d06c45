package mail_test

import (
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/mail"
)

func TestRender(t *testing.T) {
	t.Parallel()
	const link = "https://id.example.com/verify?token=Abc-123_xyz&x=1"
	tests := []struct {
		kind     string
		hasLink  bool
		newEmail bool
		subject  string // a part of the subject
		say      string // a part of both bodies
	}{
		{mail.KindVerify, true, false, "Confirm your email address", "is your email address"},
		{mail.KindChangeEmail, true, true, "Confirm your new email address", "new@example.org"},
		{mail.KindEmailChangeNotice, false, true, "change of your email address", "new@example.org"},
		{mail.KindRecover, true, false, "Reset your password", "reset the password"},
		{mail.KindInvite, true, false, "Your new account", "administrator"},
		{mail.KindPasswordReset, false, false, "was reset", "was just reset"},
	}
	if len(tests) != len(mail.Kinds) {
		t.Fatalf("the table has %d kinds, mail.Kinds %d", len(tests), len(mail.Kinds))
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			d := mail.Data{Site: "https://id.example.com", To: "ann@example.com", Link: link, ExpiresIn: 30 * time.Minute}
			if tt.newEmail {
				d.NewEmail = "new@example.org"
			}
			m, err := mail.Render(tt.kind, d)
			if err != nil {
				t.Fatal(err)
			}
			if m.To != "ann@example.com" {
				t.Errorf("To = %q", m.To)
			}
			if !strings.Contains(m.Subject, tt.subject) || !strings.Contains(m.Subject, "id.example.com") || strings.ContainsAny(m.Subject, "\r\n") {
				t.Errorf("Subject = %q, want one line with %q and the site", m.Subject, tt.subject)
			}
			for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
				if !strings.Contains(body, tt.say) {
					t.Errorf("%s part lacks %q:\n%s", part, tt.say, body)
				}
				if !strings.Contains(body, "id.example.com") {
					t.Errorf("%s part does not name the site", part)
				}
				if strings.Contains(body, "token=") != tt.hasLink {
					t.Errorf("%s part: link present = %v, want %v", part, !tt.hasLink, tt.hasLink)
				}
				if tt.hasLink && !strings.Contains(body, "30 minutes") {
					t.Errorf("%s part does not say how long the link lasts", part)
				}
				if tt.hasLink && !strings.Contains(body, "If this wasn't you, ignore this mail") && !strings.Contains(body, "If you did not expect this, ignore this mail") {
					t.Errorf("%s part does not say to ignore it", part)
				}
				if !tt.hasLink && !strings.Contains(body, "If this wasn't you") {
					t.Errorf("%s part does not say what to do if it wasn't them", part)
				}
				if strings.Contains(body, "{{") || strings.Contains(body, "<no value>") {
					t.Errorf("%s part has template leftovers:\n%s", part, body)
				}
			}
			if tt.hasLink {
				// The text part has the full link on a line of its own.
				if !strings.Contains("\n"+m.Text+"\n", "\n"+link+"\n") {
					t.Errorf("the text part lacks the link on its own line:\n%s", m.Text)
				}
				// The HTML part has it escaped for an attribute.
				if !strings.Contains(m.HTML, `href="https://id.example.com/verify?token=Abc-123_xyz&amp;x=1"`) {
					t.Errorf("the HTML part lacks the escaped link:\n%s", m.HTML)
				}
			}
			for _, bad := range []string{"<img", "<link", "<script", "src=", "url("} {
				if strings.Contains(m.HTML, bad) {
					t.Errorf("the HTML part loads something (%q)", bad)
				}
			}
			if !strings.Contains(m.HTML, `name="viewport"`) {
				t.Error("the HTML part is not made for small screens")
			}
		})
	}
}

func TestRenderEscapes(t *testing.T) {
	t.Parallel()
	m, err := mail.Render(mail.KindChangeEmail, mail.Data{
		Site:     "https://id.example.com",
		To:       `"<b>x</b>"@example.com`,
		NewEmail: `<script>alert(1)</script>@example.org`,
		Link:     "javascript:alert(1)",
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "<script>") || strings.Contains(m.HTML, "<b>x</b>") {
		t.Errorf("the HTML part does not escape:\n%s", m.HTML)
	}
	if !strings.Contains(m.HTML, "&lt;script&gt;") {
		t.Errorf("the HTML part lost the address:\n%s", m.HTML)
	}
	if strings.Contains(m.HTML, `href="javascript:`) {
		t.Errorf("the HTML part links to javascript:\n%s", m.HTML)
	}
	// The text part is text: nothing to escape.
	if !strings.Contains(m.Text, "<script>alert(1)</script>@example.org") {
		t.Errorf("the text part changed the address:\n%s", m.Text)
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	ok := mail.Data{Site: "https://id.example.com", To: "ann@example.com", Link: "https://l", NewEmail: "n@example.com"}
	tests := []struct {
		name string
		kind string
		edit func(*mail.Data)
		want string
	}{
		{"unknown kind", "welcome", nil, `unknown template kind "welcome"`},
		{"empty kind", "", nil, "unknown template kind"},
		{"no recipient", mail.KindVerify, func(d *mail.Data) { d.To = " " }, "no recipient"},
		{"no link", mail.KindRecover, func(d *mail.Data) { d.Link = "" }, "no link"},
		{"no new address", mail.KindChangeEmail, func(d *mail.Data) { d.NewEmail = "" }, "no new address"},
		{"notice without new address", mail.KindEmailChangeNotice, func(d *mail.Data) { d.NewEmail = "" }, "no new address"},
	}
	for _, tt := range tests {
		d := ok
		if tt.edit != nil {
			tt.edit(&d)
		}
		_, err := mail.Render(tt.kind, d)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	// A notice ignores a link it was given.
	m, err := mail.Render(mail.KindPasswordReset, mail.Data{Site: "https://id.example.com", To: "a@example.com", Link: "https://id.example.com/recover?token=x"})
	if err != nil || strings.Contains(m.Text+m.HTML, "token=") {
		t.Fatalf("a notice shows a link: %v\n%s", err, m.Text)
	}
}

func TestHumanDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, ""},
		{-time.Minute, ""},
		{45 * time.Second, "45 seconds"},
		{time.Second, "1 second"},
		{time.Minute, "1 minute"},
		{30 * time.Minute, "30 minutes"},
		{30*time.Minute + 59*time.Second, "30 minutes"},
		{time.Hour, "1 hour"},
		{90 * time.Minute, "1 hour 30 minutes"},
		{2 * time.Hour, "2 hours"},
		{24 * time.Hour, "1 day"},
		{26 * time.Hour, "1 day 2 hours"},
		{24*time.Hour + 5*time.Minute, "1 day"},
		{72 * time.Hour, "3 days"},
	}
	for _, tt := range tests {
		if got := mail.HumanDuration(tt.d); got != tt.want {
			t.Errorf("HumanDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
