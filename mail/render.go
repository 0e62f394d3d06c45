package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"
)

// Message is one rendered mail.
type Message struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	// MessageID, when set, is the left part of the mail's Message-ID
	// header (the right part is the From address's domain). The Sender
	// sets it to the outbox message's id, so that the rare second
	// delivery of one mail (a node dying mid-send) carries the same
	// Message-ID as the first. Not part of the sealed body.
	MessageID string `json:"-"`
}

// Template kinds.
const (
	KindVerify            = "verify"              // link to confirm the address (registration, resend)
	KindChangeEmail       = "change_email"        // to the NEW address: link to confirm the change
	KindEmailChangeNotice = "email_change_notice" // to the OLD address: no link; which new address was requested, what to do if it wasn't them
	KindRecover           = "recover"             // password reset link
	KindInvite            = "invite"              // an administrator created your account: link to set a password
	KindPasswordReset     = "password_reset"      // notice (no link): your password was reset
)

// Kinds lists every template kind.
var Kinds = []string{KindVerify, KindChangeEmail, KindEmailChangeNotice, KindRecover, KindInvite, KindPasswordReset}

// kindSpec says what a kind needs of Data.
type kindSpec struct {
	link     bool // Data.Link is required (and shown)
	newEmail bool // Data.NewEmail is required
}

var specs = map[string]kindSpec{
	KindVerify:            {link: true},
	KindChangeEmail:       {link: true, newEmail: true},
	KindEmailChangeNotice: {newEmail: true},
	KindRecover:           {link: true},
	KindInvite:            {link: true},
	KindPasswordReset:     {},
}

// Data fills a template.
type Data struct {
	Site      string        // the issuer URL, e.g. https://id.example.com (shown as the site's name/host)
	To        string        // recipient address
	Link      string        // the link, "" for notices
	NewEmail  string        // for change mails
	ExpiresIn time.Duration // the link's lifetime, rendered human-readable ("30 minutes")
}

//go:embed templates
var templateFS embed.FS

// templates holds the parsed text and HTML template of each kind.
var templates = func() map[string]*kindTemplates {
	out := make(map[string]*kindTemplates, len(specs))
	for kind := range specs {
		out[kind] = &kindTemplates{
			text: texttemplate.Must(texttemplate.New("layout.txt").Option("missingkey=error").
				ParseFS(templateFS, "templates/layout.txt", "templates/"+kind+".txt")),
			html: htmltemplate.Must(htmltemplate.New("layout.html").Option("missingkey=error").
				ParseFS(templateFS, "templates/layout.html", "templates/"+kind+".html")),
		}
	}
	return out
}()

type kindTemplates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// view is what the templates see.
type view struct {
	Subject   string
	SiteName  string // the issuer's host, e.g. id.example.com
	SiteURL   string // the issuer URL
	To        string
	Link      string
	NewEmail  string
	ExpiresIn string // "" when unknown
}

// button is the argument of the HTML layout's "button" template.
type button struct{ Link, Label string }

// Button returns the link button of the HTML part, labelled label.
func (v view) Button(label string) button { return button{v.Link, label} }

// Render renders the mail of kind for d: a subject, a text part and an
// HTML part from the embedded templates. An unknown kind is an error, and
// so is a missing recipient, a missing link for a kind that carries one,
// and a missing new address for the change mails.
//
// NOTE: the HTML part goes through html/template, so an address or a
// link is escaped for its context (a link with a javascript: scheme
// becomes "#ZgotmplZ"); it loads nothing from elsewhere (no images, no
// stylesheets: inline styles only), so opening the mail tells no one
// anything. The text part holds the full link on a line of its own, for
// mail readers that show text only.
func Render(kind string, d Data) (*Message, error) {
	spec, ok := specs[kind]
	if !ok {
		return nil, fmt.Errorf("mail: unknown template kind %q", kind)
	}
	switch {
	case strings.TrimSpace(d.To) == "":
		return nil, fmt.Errorf("mail: render %s: no recipient", kind)
	case spec.link && d.Link == "":
		return nil, fmt.Errorf("mail: render %s: no link", kind)
	case spec.newEmail && d.NewEmail == "":
		return nil, fmt.Errorf("mail: render %s: no new address", kind)
	}
	v := view{SiteName: siteName(d.Site), SiteURL: d.Site, To: d.To, NewEmail: d.NewEmail, ExpiresIn: HumanDuration(d.ExpiresIn)}
	if spec.link {
		v.Link = d.Link
	}
	t := templates[kind]
	var subject, text, html bytes.Buffer
	if err := t.text.ExecuteTemplate(&subject, "subject", v); err != nil {
		return nil, fmt.Errorf("mail: render %s: %w", kind, err)
	}
	v.Subject = strings.Join(strings.Fields(subject.String()), " ") // one line, whatever the template
	if err := t.text.Execute(&text, v); err != nil {
		return nil, fmt.Errorf("mail: render %s: %w", kind, err)
	}
	if err := t.html.Execute(&html, v); err != nil {
		return nil, fmt.Errorf("mail: render %s: %w", kind, err)
	}
	return &Message{To: d.To, Subject: v.Subject, Text: text.String(), HTML: html.String()}, nil
}

// siteName is what the mails call the site: the issuer's host (with its
// port, if any), or the issuer as given when it has none.
func siteName(site string) string {
	if u, err := url.Parse(site); err == nil && u.Host != "" {
		return u.Host
	}
	return site
}

// HumanDuration renders d for a reader: "30 minutes", "1 hour",
// "1 hour 30 minutes", "2 days"; at most two units, rounded down to the
// minute (seconds under a minute). "" for d <= 0.
func HumanDuration(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	if d < time.Minute {
		return plural(int(d/time.Second), "second")
	}
	units := []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}}
	var parts []string
	for _, u := range units {
		if n := int(d / u.size); n > 0 {
			parts = append(parts, plural(n, u.name))
			d -= time.Duration(n) * u.size
		} else if len(parts) > 0 {
			break // "1 day 5 minutes" says too little to be worth it: "1 day"
		}
		if len(parts) == 2 {
			break
		}
	}
	return strings.Join(parts, " ")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
