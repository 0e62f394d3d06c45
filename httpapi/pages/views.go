package pages

import (
	"fmt"
	"html/template"
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
	// DataImages lets the page show images from data: URLs (the QR code of
	// an authenticator app's enrolment); every other page allows images
	// from authd only.
	DataImages bool
	// NoReferrer sends Referrer-Policy: no-referrer (header and meta tag)
	// instead of same-origin: the pages of mailed links, whose address may
	// hold a token (see the package documentation).
	NoReferrer bool
}

// AllowsDataImages reports whether the page's CSP must allow data: images.
func (p Page) AllowsDataImages() bool { return p.DataImages }

// WithholdsReferrer reports whether the page is sent with
// Referrer-Policy: no-referrer.
func (p Page) WithholdsReferrer() bool { return p.NoReferrer }

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
	"second-step-expired":   {"info", "Your sign-in was not finished in time. Sign in again."},
	"recovery-code-used":    {"info", "You signed in with a recovery code. It is spent now: see how many are left under Security."},
	"totp-added":            {"success", "Your authenticator app is set up. Signing in now asks for its code."},
	"totp-removed":          {"success", "The authenticator app is removed."},
	"passkey-added":         {"success", "Your passkey is added. You can sign in with it."},
	"passkey-removed":       {"success", "The passkey is removed."},
	"already-removed":       {"info", "That was already removed."},
	"password-reset":        {"success", "Your password is set. Sign in with it."},
	"account-deleted":       {"success", "Your account is deleted, with everything authd held about it. You are signed out."},
	"verification-sent":     {"success", "A new link to verify your address is on its way. Check your mail."},
	"already-verified":      {"info", "Your address is verified already."},
	// Sign-in through other providers (the Linked sign-ins section of
	// /account).
	"linked":   {"success", "Your account at the provider is linked: you can sign in with it from now on."},
	"unlinked": {"success", "The sign-in is unlinked: that provider no longer signs you in to this account."},
	// The administration page (/admin).
	"admin-locked":         {"success", "The account is locked: every session and app sign-in of the user has ended, and signing in is refused until it is unlocked."},
	"admin-unlocked":       {"success", "The account is unlocked. The user can sign in again."},
	"admin-sessions-ended": {"success", "Every session and app sign-in of the user has ended."},
	"admin-mfa-reset":      {"success", "The user's second factors are removed: authenticator app, passkeys and recovery codes. They sign in with the password alone until they set one up again."},
	"admin-roles-set":      {"success", "The roles are changed. The user's sessions have ended: the new roles apply from their next sign-in."},
	"admin-user-deleted":   {"success", "The user is deleted, with everything authd held about them."},
	"admin-own-roles":      {"info", "Your roles are changed, which ended your sessions. Sign in again."},
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
	// fresh sign-in, or a change needs a recent one).
	Reauth bool
	// Passkeys offers "Sign in with a passkey" and the browser's passkey
	// autofill; Next is where a passkey sign-in goes (Return or /account).
	Passkeys bool
	Next     string
	// Providers are the upstream providers, one "Sign in with NAME"
	// button each (ordered by id); none when sign-in through other
	// providers is off.
	Providers []Provider
}

// UpstreamStart is the address of the button that signs in with the
// provider id: it carries the page's return path, so that a sign-in that
// came through this page (an app's authorization request) goes on there.
func (v SignInPage) UpstreamStart(id string) string { return UpstreamStart(id, v.Return) }

// Provider is an upstream OpenID Connect provider as a button shows it.
type Provider struct {
	ID   string
	Name string
}

// LinkURL is the address of the provider's "Link NAME" button on
// /account: a signed-in browser's sign-in links the identity, then comes
// back to /account.
func (p Provider) LinkURL() string { return UpstreamStart(p.ID, "/account") }

// UpstreamStart is the address that starts a sign-in (or, for a signed-in
// browser, a link) with the provider id and comes back to ret, a path
// checked by SafeReturn ("" for none: /account).
func UpstreamStart(id, ret string) string {
	u := "/v1/upstream/" + url.PathEscape(id) + "/start"
	if ret != "" {
		u += "?" + url.Values{"return": {ret}}.Encode()
	}
	return u
}

// IdentitiesView is the "Linked sign-ins" section of /account: the
// user's identities at upstream providers, each with an unlink form, and
// a "Link NAME" button for every provider not linked yet.
type IdentitiesView struct {
	Linked []IdentityView
	// Unlinked are the providers the user has no identity at.
	Unlinked []Provider
	// Error is a message about the section (a refused unlink).
	Error string
}

// IdentityView is one linked identity on the account page.
type IdentityView struct {
	// UpstreamID is the provider's id; Name its name (the id when the
	// provider is no longer registered).
	UpstreamID string
	Name       string
	// Email is the address the provider said when the identity was
	// linked ("" when it said none).
	Email  string
	Linked Time
}

// UnlinkAction is the address the identity's unlink form posts to.
func (i IdentityView) UnlinkAction() string {
	return "/account/identities/" + url.PathEscape(i.UpstreamID) + "/unlink"
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
	// Security is the second factors section; nil when second factors are
	// off on this server.
	Security *SecurityView
	// EmailVerified tells whether the user's address is verified.
	EmailVerified bool
	// CanMail is true when the server can send mail: the forms that need
	// it (resend the verification link, change the address) are shown.
	CanMail bool
	// ChangeEmail is the change-of-address form (new_email,
	// current_password); Delete the deletion form (current_password,
	// confirm).
	ChangeEmail Form
	Delete      Form
	// Admin links to the administration page: the session's roles hold
	// admin (the page itself checks again on every request).
	Admin bool
	// Identities is the "Linked sign-ins" section; nil when sign-in
	// through other providers is off on this server.
	Identities *IdentitiesView
}

// SecurityView is the "Security" section of /account: the authenticator
// app, the passkeys and the recovery codes.
type SecurityView struct {
	// Recent is true when the session signed in recently enough to change
	// factors; otherwise the section says to sign in again first.
	Recent bool
	// ReauthURL is where to sign in again (a constant path).
	ReauthURL string
	// Error is a message about the whole section.
	Error string
	TOTP  bool
	// Setup is an authenticator app being set up.
	Setup *TOTPSetup
	// Passkeys are the user's passkeys, oldest first.
	Passkeys        []PasskeyView
	PasskeysEnabled bool
	// RecoveryCodesLeft is how many unused recovery codes the user has.
	RecoveryCodesLeft int
	// HasFactor is true when the user has an authenticator app or a
	// passkey (recovery codes come with one).
	HasFactor bool
	// Codes are new recovery codes, shown once.
	Codes []string
}

// TOTPSetup is an authenticator app enrolment on the account page. After
// a wrong confirmation code the secret is no longer at hand: QR, URI and
// Secret are empty, and the page offers to start again.
type TOTPSetup struct {
	// Secret is the base32 secret for typing in; Grouped is the same in
	// groups of four for reading.
	Secret  string
	Grouped string
	// QR is the QR code as a checked data:image/png URL ("" if none).
	QR template.URL
	// URI is the checked otpauth:// URI, a link for phones ("" if none).
	URI     template.URL
	Confirm Form
	// AtSignIn is a set-up on the second step of a sign-in (a user who
	// must set up a second factor first) rather than on /account: its
	// forms post to /login/second-factor/enrol/totp… and carry Return.
	AtSignIn bool
	// Return is the validated return path of that sign-in ("" for none).
	Return string
}

// PasskeyAdd is the "Add a passkey" box: app.js registers the passkey
// through the JSON API, shows the recovery codes that come with a first
// second factor, and goes on to Next.
type PasskeyAdd struct {
	// Next is where to go afterwards (a checked same-site path);
	// Continue is the text of the link on from the recovery codes.
	Next     string
	Continue string
	// Heading is the heading above the recovery codes.
	Heading string
	// ReauthURL is where to sign in again when the change needs a recent
	// sign-in; Expired is where to start again when a pending sign-in ran
	// out. Either may be "" (a constant path otherwise).
	ReauthURL string
	Expired   string
}

// PasskeyAdd is the section's "Add a passkey" box.
func (v SecurityView) PasskeyAdd() PasskeyAdd {
	return PasskeyAdd{Next: "/account?notice=passkey-added#passkeys", Continue: "I have saved them",
		Heading: "Your passkey is added. Here are your recovery codes", ReauthURL: v.ReauthURL}
}

// PasskeyView is one passkey on the account page.
type PasskeyView struct {
	ID       string
	Name     string
	Created  Time
	LastUsed *Time // nil: never used
}

// SecondFactorPage is the second step of a sign-in.
type SecondFactorPage struct {
	Page
	// Email is the user who signed in with the password.
	Email string
	// Return is the validated return path ("" for /account); Next is where
	// a passkey sign-in goes (Return or /account).
	Return string
	Next   string
	// The methods the user has (and, for passkeys, the server allows).
	TOTP, Passkey, Recovery bool
	// Code is the authenticator app form; RecoveryForm the recovery code
	// form. Error is a message about the whole step (the throttle).
	Code         Form
	RecoveryForm Form
	Error        string
	// Focus names the input that should have the focus.
	Focus string

	// Enrol is true when the user has no second factor and must set one
	// up before this sign-in finishes (their role requires one): the page
	// offers an authenticator app and, with EnrolPasskey, a passkey.
	Enrol        bool
	EnrolPasskey bool
	// Setup is the authenticator app being set up at the sign-in.
	Setup *TOTPSetup
	// Codes are the recovery codes of the factor just set up, shown once
	// after the sign-in finished, with a link on to Next.
	Codes []string
}

// Here is the second step's own address, with the return path.
func (v SecondFactorPage) Here() string {
	if v.Return == "" {
		return "/login/second-factor"
	}
	return "/login/second-factor?" + url.Values{"return": {v.Return}}.Encode()
}

// PasskeyAdd is the "Add a passkey" box of the set-up at sign-in: the
// JSON API finishes the sign-in when the passkey is added.
func (v SecondFactorPage) PasskeyAdd() PasskeyAdd {
	q := url.Values{"notice": {"second-step-expired"}}
	if v.Return != "" {
		q.Set("return", v.Return)
	}
	return PasskeyAdd{Next: v.Next, Continue: "Continue",
		Heading: "Your passkey is added and you are signed in. Here are your recovery codes",
		Expired: "/login?" + q.Encode()}
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

// ForgotPage is /forgot: ask for a link that sets a new password.
type ForgotPage struct {
	Page
	// Form holds the address typed and its error.
	Form Form
	// Sent is the answer to the form: the same for every address, an
	// account's or not (SECURITY E1).
	Sent bool
	// ExpiresIn is how long a link works ("30 minutes"); "" when unknown.
	ExpiresIn string
}

// RecoverPage is /recover: set a new password with a mailed link.
type RecoverPage struct {
	Page
	// Token is the link's token, posted back in a hidden field: it never
	// goes into a URL the page links to or loads.
	Token string
	// Form holds the error of the new password.
	Form Form
}

// VerifyPage is /verify: confirm an address with a mailed link.
type VerifyPage struct {
	Page
	// Token is the link's token, posted back in a hidden field.
	Token string
}

// Minutes says d in whole minutes ("1 minute", "30 minutes"), or in
// hours when it is a whole number of them above one hour.
func Minutes(d time.Duration) string {
	if d >= 2*time.Hour && d%time.Hour == 0 {
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	}
	m := int((d + time.Minute - 1) / time.Minute)
	if m <= 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

// MessagePage is a page that only says something: an error, a 404.
type MessagePage struct {
	Page
	Heading  string
	Text     string
	Link     string
	LinkText string
}

// GroupSecret writes a base32 secret in groups of four characters.
func GroupSecret(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// QRImage returns png, a QR code as a data: URL, as a URL the templates
// put in <img src> unfiltered, or false when it is anything but
// "data:image/png;base64," followed by standard base64.
//
// NOTE: html/template refuses data: URLs in src (it cannot know what they
// hold); this one is an image that package mfa made from the otpauth URI,
// and an <img> never runs script, so it may pass once checked here.
func QRImage(png string) (template.URL, bool) {
	const prefix = "data:image/png;base64,"
	b64, ok := strings.CutPrefix(png, prefix)
	if !ok || b64 == "" || len(png) > 64<<10 {
		return "", false
	}
	for i := 0; i < len(b64); i++ {
		c := b64[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=') {
			return "", false
		}
	}
	return template.URL(png), true
}

// OTPAuthURL returns an otpauth://totp/ URI as a URL for a link (phones
// open it in the authenticator app), or false when it is anything else.
// NOTE: html/template would filter the otpauth: scheme out of an href.
func OTPAuthURL(uri string) (template.URL, bool) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || len(uri) > 2048 {
		return "", false
	}
	for i := 0; i < len(uri); i++ {
		if c := uri[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' {
			return "", false
		}
	}
	return template.URL(uri), true
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

// AdminPage is /admin: the users, a page at a time, with a search.
type AdminPage struct {
	Page
	// Query is the search (a part of the email) the list is for.
	Query string
	Users []AdminUserView
	// Next is the address of the next page ("" on the last); First is
	// the address of the first page when this is a later one ("" on the
	// first).
	Next  string
	First string
	// MFA shows the second factors column (second factors are on).
	MFA bool
}

// AdminUserView is one user as the administration page shows it.
type AdminUserView struct {
	ID            string
	Email         string
	Roles         []string
	Locked        bool
	EmailVerified bool
	TOTP          bool
	Passkeys      int
	Created       Time
	LastSignIn    *Time // nil: never
	// Self is the administrator looking at the page.
	Self bool
}

// Path is the address of the user's page on /admin.
func (u AdminUserView) Path() string { return "/admin/users/" + url.PathEscape(u.ID) }

// Factors names the user's second factors ("Authenticator app, 2
// passkeys"), or "" for none.
func (u AdminUserView) Factors() string {
	var out []string
	if u.TOTP {
		out = append(out, "Authenticator app")
	}
	switch {
	case u.Passkeys == 1:
		out = append(out, "1 passkey")
	case u.Passkeys > 1:
		out = append(out, fmt.Sprintf("%d passkeys", u.Passkeys))
	}
	return strings.Join(out, ", ")
}

// RolesText is the roles as the change-of-roles field shows them.
func (u AdminUserView) RolesText() string { return strings.Join(u.Roles, " ") }

// AdminUserPage is /admin/users/{id}: one user, their live sessions and
// the administrator's actions.
type AdminUserPage struct {
	Page
	User     AdminUserView
	Sessions []SessionView
	// MFA offers "Reset second factors" (second factors are on).
	MFA bool
	// Error is a message about the page's actions (a refused one).
	Error string
	// Roles is the change-of-roles form: RolesInput is what was typed
	// (the current roles at first), its error under "roles".
	Roles      Form
	RolesInput string
	// Delete is the deletion form: Email is the address typed to
	// confirm, its error under "confirm_email".
	Delete Form
}
