package pages

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Page is what every page has.
type Page struct {
	Title  string
	Notice *Notice
	// SignedInAs is the email shown in the header, with a sign-out button;
	// empty on pages for signed-out visitors.
	SignedInAs string
	// FormTargets are URIs outside authd that a form of the page ends at
	// through redirects (a client's redirect URI); their origins join
	// the page's form-action.
	FormTargets []string
}

// FormTargetSources returns the CSP sources of p.FormTargets: the origin
// of an http(s) URI, the scheme of a private-use one (RFC 8252 §7.1).
func (p Page) FormTargetSources() []string {
	var out []string
	for _, raw := range p.FormTargets {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" {
			continue
		}
		src := u.Scheme + ":"
		if u.Host != "" {
			src = u.Scheme + "://" + u.Host
		}
		// A source is a token of the policy: nothing that could end it.
		if strings.ContainsAny(src, " ;,'\"\r\n") {
			continue
		}
		out = append(out, src)
	}
	return out
}

// Notice is the banner at the top of a page.
type Notice struct {
	Kind string // "info", "success" or "error"
	Text string
}

// notices are the banners a redirect can ask for with ?notice=CODE. NOTE:
// only these fixed texts are ever shown: nothing from the URL reaches the
// page.
var notices = map[string]Notice{
	"ended":                 {"info", "Your session ended. Sign in again."},
	"signed-out":            {"success", "You are signed out."},
	"signed-out-everywhere": {"success", "You are signed out everywhere: every session of your account has ended."},
	"revoked":               {"success", "That session has ended. Its device is signed out."},
	"already-ended":         {"info", "That session had already ended."},
	"others-revoked":        {"success", "Every other session has ended. Only this device is still signed in."},
	"password-changed":      {"success", "Your password is changed. Every other session has ended."},
	"app-revoked":           {"success", "The app is disconnected: it must ask you again, and its access has ended."},
}

// NoticeFor returns the banner for a notice code, or nil for an unknown one.
func NoticeFor(code string) *Notice {
	n, ok := notices[code]
	if !ok {
		return nil
	}
	return &n
}

// Form is the state of one form shown again after a failed post.
type Form struct {
	Email string
	// Error is a message about the whole form (the throttle, closed sign-up).
	Error string
	// Errors maps an input's name to the message shown next to it.
	Errors map[string]string
}

// Err returns the message for the input named field, or "".
func (f Form) Err(field string) string { return f.Errors[field] }

// SetErr records a message for the input named field.
func (f *Form) SetErr(field, msg string) {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	f.Errors[field] = Sentence(msg)
}

// SignInPage is the sign-in and sign-up page.
type SignInPage struct {
	Page
	// Return is the validated same-site path to go to after signing in.
	Return   string
	Signup   bool // whether the sign-up form is shown
	Login    Form
	Register Form
	// Focus names the input that should have the focus ("login-email",
	// "signup-password", ...).
	Focus string
	// Reauth asks a signed-in user to sign in again (an app asked for a
	// fresh sign-in).
	Reauth bool
}

// AccountPage is /account.
type AccountPage struct {
	Page
	UserID   string
	Email    string
	Roles    []string
	Sessions []SessionView
	// Others is how many other sessions are live.
	Others int
	// TokensEnabled shows the access token panel.
	TokensEnabled bool
	Token         *TokenView
	Password      Form
	// Apps are the connected apps (consents); AppsEnabled shows the
	// section.
	AppsEnabled bool
	Apps        []AppView
}

// SessionView is one row of the session list.
type SessionView struct {
	ID       string
	Device   string
	IP       string
	Created  Time
	LastUsed Time
	Current  bool
}

// Time is a moment shown both as a date and as a distance from now.
type Time struct {
	ISO  string // RFC 3339, for <time datetime>
	Text string // "2026-11-26 22:31 UTC"
	Ago  string // "5 minutes ago"
	// Clock is the time of day to the second: "22:46:07 UTC".
	Clock string
}

// NewTime describes t as seen at now.
func NewTime(t, now time.Time) Time {
	t = t.UTC()
	return Time{ISO: t.Format(time.RFC3339), Text: t.Format("2 Jan 2006, 15:04 UTC"), Ago: Ago(t, now), Clock: t.Format("15:04:05 UTC")}
}

// TokenView is a decoded access token.
type TokenView struct {
	Raw    string
	Header string
	Claims string
	// Expires is the expiry time; TTL is the seconds left when the page was
	// made, which the script counts down.
	Expires Time
	TTL     int
}

// MessagePage is a page that only says something: an error, a 404.
type MessagePage struct {
	Page
	Heading  string
	Text     string
	Link     string
	LinkText string
}

// Ago says how long before now t was, in one rounded unit.
func Ago(t, now time.Time) string {
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	unit := func(n int, name string) string {
		if n == 1 {
			return "1 " + name + " ago"
		}
		return fmt.Sprintf("%d %ss ago", n, name)
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return unit(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return unit(int(d/time.Hour), "hour")
	}
	return unit(int(d/(24*time.Hour)), "day")
}

// TryAgain is the throttle's message for a wait of d.
func TryAgain(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	if m <= 1 {
		return "Too many attempts. Try again in 1 minute."
	}
	return fmt.Sprintf("Too many attempts. Try again in %d minutes.", m)
}

// Sentence makes msg read as a sentence: a capital first letter and a full
// stop (the services' messages are written for the JSON API, in lower case).
func Sentence(msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return ""
	}
	r, n := utf8.DecodeRuneInString(msg)
	msg = string(unicode.ToUpper(r)) + msg[n:]
	if !strings.HasSuffix(msg, ".") && !strings.HasSuffix(msg, "!") && !strings.HasSuffix(msg, "?") {
		msg += "."
	}
	return msg
}

// ConsentPage asks the user to let a client sign them in.
type ConsentPage struct {
	Page
	ClientName string
	ClientID   string
	// RedirectHost is where the browser goes back to, shown so that the
	// user sees which site asks.
	RedirectHost string
	Scopes       []Scope
	// Request is the authorization request's query, posted back with the
	// decision; CSRF binds the decision to it and to the session.
	Request string
	CSRF    string
}

// Scope is a scope with the words that explain it.
type Scope struct {
	Name string
	Text string
}

// scopeTexts explain the scopes authd knows.
var scopeTexts = map[string]string{
	"openid":         "Know who you are (your account id)",
	"email":          "See your email address",
	"profile":        "See your basic profile",
	"roles":          "See your roles",
	"offline_access": "Stay signed in when you are away (until you disconnect the app)",
}

// ScopeText returns the scope with its explanation.
func ScopeText(name string) Scope {
	t, ok := scopeTexts[name]
	if !ok {
		t = name
	}
	return Scope{Name: name, Text: t}
}

// LogoutPage asks the user to confirm signing out (RP-initiated logout
// without an id_token_hint).
type LogoutPage struct {
	Page
	ClientName  string
	ClientID    string
	RedirectURI string
	State       string
	CSRF        string
}

// AppView is one connected app on the account page.
type AppView struct {
	ClientID string
	Name     string
	Scopes   []Scope
	Granted  Time
}
