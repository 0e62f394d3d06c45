package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/authd/authd"
	"github.com/authd/authd/httpapi/pages"
	"github.com/authd/authd/mfa"
)

// The pages of second factors and passkeys (API.md "Pages"): the second
// step of a sign-in (/login/second-factor; for a user whose role requires
// a second factor and who has none, the set-up of a first one, after
// which the sign-in finishes) and the "Security" section of /account. They call the same building blocks as the JSON API of mfa.go
// (the pending sign-in, Accounts.CheckSecondFactor under the login
// throttle, startSession with the factors' amr), so the rules hold the
// same on both. Passkey ceremonies need JavaScript: app.js drives them
// against the JSON API (/v1/passkey/*, /v1/login/webauthn/*,
// /v1/mfa/passkeys/*); every other step here is a form.

// reauthPath is where a change that needs a recent sign-in sends the user.
const reauthPath = pathLogin + "?reauth=1&return=%2Faccount"

// passkeysOn reports whether the server offers passkeys.
func (p *pageHandlers) passkeysOn() bool {
	return p.s.deps.MFA != nil && p.s.deps.MFA.PasskeysEnabled()
}

// pendingOrLeave returns the pending sign-in's user, or answers: a
// signed-in browser goes on to ret, any other goes back to the sign-in
// page (told that its sign-in ran out when it came with a cookie, which is
// cleared).
func (p *pageHandlers) pendingOrLeave(w http.ResponseWriter, r *http.Request, ret string) (*authd.User, bool) {
	_, u, err := p.s.pendingUser(r)
	switch {
	case err == nil:
		return u, true
	case !errors.Is(err, authd.ErrUnauthenticated):
		p.fail(w, r, err)
		return nil, false
	}
	if _, _, err := p.s.fromSession(r.Context(), r); err == nil {
		p.r.SeeOther(w, returnTo(ret))
		return nil, false
	}
	q := url.Values{}
	if ret != "" {
		q.Set("return", ret)
	}
	if _, present := p.s.sessionCookie(r); present {
		p.s.clearSessionCookie(w)
		q.Set("notice", "second-step-expired")
	}
	loc := pathLogin
	if len(q) > 0 {
		loc += "?" + q.Encode()
	}
	p.r.SeeOther(w, loc)
	return nil, false
}

// secondFactorPage builds the second step for u, returning to ret (a
// checked path or ""): the methods u has, or, for a user who has none and
// must set one up first (--require-mfa-role), the set-up (v.Enrol). It
// answers and reports false when u has no second factor left to finish
// with.
func (p *pageHandlers) secondFactorPage(w http.ResponseWriter, r *http.Request, u *authd.User, ret string) (pages.SecondFactorPage, bool) {
	st, err := p.s.deps.MFA.Status(r.Context(), u.ID)
	if err != nil {
		p.fail(w, r, err)
		return pages.SecondFactorPage{}, false
	}
	v := pages.SecondFactorPage{
		Page:  pages.Page{Title: "Confirm it is you", FormTargets: p.returnTargets(r, ret)},
		Email: u.Email, Return: ret, Next: returnTo(ret),
	}
	if p.s.mustEnrol(u, st.Methods()) {
		v.Title = "Set up a second factor"
		v.Enrol, v.EnrolPasskey = true, p.passkeysOn()
		return v, true
	}
	for _, m := range st.Methods() {
		switch m {
		case "totp":
			v.TOTP = true
		case "webauthn":
			v.Passkey = p.passkeysOn()
		case "recovery_code":
			v.Recovery = true
		}
	}
	if !v.TOTP && !v.Passkey && !v.Recovery {
		p.message(w, r, http.StatusConflict, "Sign in again",
			"Your account has no second factor to finish this sign-in with any more. Sign in again.")
		return v, false
	}
	switch {
	case v.TOTP:
		v.Focus = "totp-code"
	case !v.Passkey:
		v.Focus = "recovery-code"
	}
	return v, true
}

// handleSecondFactor serves GET /login/second-factor: the second step of
// a sign-in, with the methods the user has.
func (p *pageHandlers) handleSecondFactor(w http.ResponseWriter, r *http.Request) {
	ret, _ := pages.SafeReturn(r.URL.Query().Get("return"))
	u, ok := p.pendingOrLeave(w, r, ret)
	if !ok {
		return
	}
	v, ok := p.secondFactorPage(w, r, u, ret)
	if !ok {
		return
	}
	p.render(w, r, http.StatusOK, "secondfactor", v)
}

// handleSecondFactorTOTP serves POST /login/second-factor/totp.
func (p *pageHandlers) handleSecondFactorTOTP(w http.ResponseWriter, r *http.Request) {
	p.secondFactorForm(w, r, false)
}

// handleSecondFactorRecovery serves POST /login/second-factor/recovery.
func (p *pageHandlers) handleSecondFactorRecovery(w http.ResponseWriter, r *http.Request) {
	p.secondFactorForm(w, r, true)
}

// secondFactorForm finishes a pending sign-in with an authenticator app's
// code, or a recovery code: checked under the login throttle (wrong codes
// count as wrong passwords, M1), then a new session (a new ID, M4) and a
// 303 to the return path.
func (p *pageHandlers) secondFactorForm(w http.ResponseWriter, r *http.Request, recovery bool) {
	var code, ret string
	if !p.form(w, r, map[string]*string{"code": &code, "return": &ret}) {
		return
	}
	ret, _ = pages.SafeReturn(ret)
	u, ok := p.pendingOrLeave(w, r, ret)
	if !ok {
		return
	}
	v, ok := p.secondFactorPage(w, r, u, ret)
	if !ok {
		return
	}
	if v.Enrol {
		// Nothing to check yet: the user sets up a factor first.
		p.r.SeeOther(w, v.Here())
		return
	}
	form, shown, focus := &v.Code, v.TOTP, "totp-code"
	if recovery {
		form, shown, focus = &v.RecoveryForm, v.Recovery, "recovery-code"
	}
	v.Focus = focus
	refuse := func(status int, msg string) {
		if shown {
			form.SetErr("code", msg)
		} else {
			v.Error = pages.Sentence(msg)
		}
		p.render(w, r, status, "secondfactor", v)
	}
	if strings.TrimSpace(code) == "" {
		refuse(http.StatusBadRequest, "Enter the code")
		return
	}
	_, _, err := p.s.finishWithCode(w, r, u, code, recovery)
	var thr *authd.ThrottledError
	switch {
	case errors.As(err, &thr):
		w.Header().Set("Retry-After", retryAfter(thr.RetryAfter))
		v.Error, v.Focus = pages.TryAgain(thr.RetryAfter), ""
		p.render(w, r, http.StatusTooManyRequests, "secondfactor", v)
		return
	case errors.Is(err, mfa.ErrInvalidCode) && recovery:
		refuse(http.StatusUnauthorized, "That recovery code is not right, or it was used before")
		return
	case errors.Is(err, mfa.ErrInvalidCode):
		refuse(http.StatusUnauthorized, "That code is not right. Enter the code your app shows now; each code works once")
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	loc := returnTo(ret)
	if recovery && ret == "" {
		loc = pathAccount + "?notice=recovery-code-used"
	}
	p.r.SeeOther(w, loc)
}

// recent reports whether sess may change factors, or answers a page that
// asks to sign in again (403) and returns false.
//
// NOTE: every change of a factor needs a recent sign-in (SECURITY M4): a
// session left open on a shared computer must not be enough to add the
// attacker's authenticator or remove the owner's.
func (p *pageHandlers) recent(w http.ResponseWriter, r *http.Request, sess *authd.Session) bool {
	if p.s.isRecent(sess) {
		return true
	}
	p.render(w, r, http.StatusForbidden, "message", pages.MessagePage{
		Page:    pages.Page{Title: "Sign in again", SignedInAs: sess.Email},
		Heading: "Sign in again to continue",
		Text: "Changing how you sign in needs a recent sign-in, so that nobody else can do it on a device you left signed in. " +
			"Sign in again, then make the change. Nothing was changed.",
		Link: reauthPath, LinkText: "Sign in again",
	})
	return false
}

// securityView is the "Security" section of /account; nil when second
// factors are off.
func (p *pageHandlers) securityView(r *http.Request, cur *authd.Session) (*pages.SecurityView, error) {
	if p.s.deps.MFA == nil {
		return nil, nil
	}
	st, err := p.s.deps.MFA.Status(r.Context(), cur.UserID)
	if err != nil {
		return nil, err
	}
	now := p.s.cfg.Now()
	v := &pages.SecurityView{
		Recent: p.s.isRecent(cur), ReauthURL: reauthPath,
		TOTP: st.TOTP, PasskeysEnabled: p.passkeysOn(),
		RecoveryCodesLeft: st.RecoveryCodesLeft, HasFactor: st.TOTP || len(st.Passkeys) > 0,
	}
	for _, k := range st.Passkeys {
		pv := pages.PasskeyView{ID: k.ID, Name: k.Name, Created: pages.NewTime(k.CreatedAt, now)}
		if !k.LastUsedAt.IsZero() {
			t := pages.NewTime(k.LastUsedAt, now)
			pv.LastUsed = &t
		}
		v.Passkeys = append(v.Passkeys, pv)
	}
	return v, nil
}

// renderSecurity answers /account with status after edit has set the
// Security section's state (a set-up in progress, new codes, an error).
func (p *pageHandlers) renderSecurity(w http.ResponseWriter, r *http.Request, cur *authd.Session, status int, edit func(v *pages.AccountPage)) {
	v, err := p.accountPage(r, cur)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if v.Security == nil {
		p.fail(w, r, errors.New("httpapi: security section without second factors"))
		return
	}
	edit(&v)
	p.render(w, r, status, "account", v)
}

// handleTOTPSetupForm serves POST /account/security/totp: a new secret,
// shown as a QR code and as text, with the form that confirms it.
//
// NOTE: mfa gives the QR code as a data: URL of a PNG. This page alone
// allows data: images in its CSP (pages.Page.DataImages); an image cannot
// run script and script-src stays 'self'. The secret is only ever in this
// no-store response, never in a URL.
func (p *pageHandlers) handleTOTPSetupForm(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	if !p.recent(w, r, cur) {
		return
	}
	u, err := p.s.deps.Users.UserByID(r.Context(), cur.UserID)
	if err != nil {
		if errors.Is(err, authd.ErrNotFound) {
			err = authd.ErrUnauthenticated
		}
		p.fail(w, r, err)
		return
	}
	e, err := p.s.deps.MFA.BeginTOTP(r.Context(), u)
	if errors.Is(err, mfa.ErrAlreadyEnrolled) {
		p.renderSecurity(w, r, cur, http.StatusConflict, func(v *pages.AccountPage) {
			v.Security.Error = "An authenticator app is already set up. Remove it first to set up another."
		})
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	setup := totpSetup(e)
	p.renderSecurity(w, r, cur, http.StatusOK, func(v *pages.AccountPage) {
		v.Security.Setup = setup
		v.DataImages = setup.QR != ""
	})
}

// totpSetup is the view of the enrolment e: the QR code and the otpauth
// link only when they pass their checks.
func totpSetup(e mfa.Enrolment) *pages.TOTPSetup {
	setup := &pages.TOTPSetup{Secret: e.Secret, Grouped: pages.GroupSecret(e.Secret)}
	setup.QR, _ = pages.QRImage(e.QR)
	setup.URI, _ = pages.OTPAuthURL(e.URI)
	return setup
}

// handleTOTPConfirmForm serves POST /account/security/totp/confirm: the
// first code turns the app on; with the user's first second factor the
// recovery codes are shown, once.
func (p *pageHandlers) handleTOTPConfirmForm(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	var code string
	if !p.form(w, r, map[string]*string{"code": &code}) {
		return
	}
	if !p.recent(w, r, cur) {
		return
	}
	wrong := func(status int, msg string) {
		p.renderSecurity(w, r, cur, status, func(v *pages.AccountPage) {
			v.Security.Setup = &pages.TOTPSetup{}
			v.Security.Setup.Confirm.SetErr("code", msg)
		})
	}
	if strings.TrimSpace(code) == "" {
		wrong(http.StatusBadRequest, "Enter the code the app shows")
		return
	}
	codes, err := p.s.deps.MFA.ConfirmTOTP(r.Context(), cur.UserID, code)
	switch {
	case errors.Is(err, mfa.ErrInvalidCode):
		wrong(http.StatusBadRequest, "That code is not right. Enter the code the app shows now, or start again")
		return
	case errors.Is(err, mfa.ErrNotEnrolled):
		p.renderSecurity(w, r, cur, http.StatusConflict, func(v *pages.AccountPage) {
			v.Security.Error = "No authenticator app is being set up. Choose “Set up” to start."
		})
		return
	case errors.Is(err, mfa.ErrAlreadyEnrolled):
		p.r.SeeOther(w, pathAccount+"?notice=totp-added#security")
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	if codes == nil {
		p.r.SeeOther(w, pathAccount+"?notice=totp-added#security")
		return
	}
	p.renderSecurity(w, r, cur, http.StatusOK, func(v *pages.AccountPage) {
		v.Notice = pages.NoticeFor("totp-added")
		v.Security.Codes = codes
	})
}

// handleTOTPRemoveForm serves POST /account/security/totp/remove.
func (p *pageHandlers) handleTOTPRemoveForm(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	if !p.recent(w, r, cur) {
		return
	}
	err := p.s.deps.MFA.RemoveTOTP(r.Context(), cur.UserID)
	switch {
	case errors.Is(err, authd.ErrNotFound):
		p.r.SeeOther(w, pathAccount+"?notice=already-removed#security")
	case err != nil:
		p.fail(w, r, err)
	default:
		p.r.SeeOther(w, pathAccount+"?notice=totp-removed#security")
	}
}

// handlePasskeyRemoveForm serves POST /account/security/passkeys/{id}/remove.
// Another user's passkey id reads as already removed.
func (p *pageHandlers) handlePasskeyRemoveForm(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	if !p.recent(w, r, cur) {
		return
	}
	err := p.s.deps.MFA.RemovePasskey(r.Context(), cur.UserID, r.PathValue("id"))
	switch {
	case errors.Is(err, authd.ErrNotFound):
		p.r.SeeOther(w, pathAccount+"?notice=already-removed#security")
	case err != nil:
		p.fail(w, r, err)
	default:
		p.r.SeeOther(w, pathAccount+"?notice=passkey-removed#security")
	}
}

// handleRecoveryCodesForm serves POST /account/security/recovery-codes: a
// new set, shown once; the old set is void.
func (p *pageHandlers) handleRecoveryCodesForm(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	if !p.recent(w, r, cur) {
		return
	}
	codes, err := p.s.deps.MFA.NewRecoveryCodes(r.Context(), cur.UserID)
	switch {
	case errors.Is(err, mfa.ErrNotEnrolled):
		p.renderSecurity(w, r, cur, http.StatusConflict, func(v *pages.AccountPage) {
			v.Security.Error = "Recovery codes come with a second factor: set up an authenticator app or a passkey first."
		})
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	p.renderSecurity(w, r, cur, http.StatusOK, func(v *pages.AccountPage) {
		v.Security.Codes = codes
	})
}

// enrolPending returns the user of the request's pending sign-in and the
// set-up page for it when that user has no second factor and must set one
// up before the sign-in finishes (--require-mfa-role). Anything else is
// answered: no pending sign-in as pendingOrLeave does (a full session goes
// on to ret), a user who has a factor (or needs none) goes back to the
// second step, which asks for what they have.
//
// NOTE: a pending sign-in proves only the password. It may add the first
// factor of a user whose role requires one, and nothing else: a user who
// has a factor must use it, and adding another stays on /account behind a
// recent full sign-in (SECURITY M4).
func (p *pageHandlers) enrolPending(w http.ResponseWriter, r *http.Request, ret string) (*authd.User, pages.SecondFactorPage, bool) {
	u, ok := p.pendingOrLeave(w, r, ret)
	if !ok {
		return nil, pages.SecondFactorPage{}, false
	}
	v, ok := p.secondFactorPage(w, r, u, ret)
	if !ok {
		return nil, v, false
	}
	if !v.Enrol {
		p.r.SeeOther(w, v.Here())
		return nil, v, false
	}
	return u, v, true
}

// handleEnrolTOTPForm serves POST /login/second-factor/enrol/totp: a new
// authenticator app secret for a user who must set up a second factor
// before signing in, shown as on /account (QR code, secret, otpauth link)
// with the form that confirms it. Starting again replaces the secret.
func (p *pageHandlers) handleEnrolTOTPForm(w http.ResponseWriter, r *http.Request) {
	var ret string
	if !p.form(w, r, map[string]*string{"return": &ret}) {
		return
	}
	ret, _ = pages.SafeReturn(ret)
	u, v, ok := p.enrolPending(w, r, ret)
	if !ok {
		return
	}
	e, err := p.s.deps.MFA.BeginTOTP(r.Context(), u)
	if errors.Is(err, mfa.ErrAlreadyEnrolled) {
		p.r.SeeOther(w, v.Here())
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v.Setup = totpSetup(e)
	v.Setup.AtSignIn, v.Setup.Return = true, ret
	v.DataImages = v.Setup.QR != ""
	p.render(w, r, http.StatusOK, "secondfactor", v)
}

// handleEnrolTOTPConfirmForm serves POST
// /login/second-factor/enrol/totp/confirm: the app's first code turns it
// on and finishes the sign-in with both factors (a new session, amr
// pwd+otp+mfa); the recovery codes that come with it are shown once, with
// a link on to the return path.
func (p *pageHandlers) handleEnrolTOTPConfirmForm(w http.ResponseWriter, r *http.Request) {
	var code, ret string
	if !p.form(w, r, map[string]*string{"code": &code, "return": &ret}) {
		return
	}
	ret, _ = pages.SafeReturn(ret)
	u, v, ok := p.enrolPending(w, r, ret)
	if !ok {
		return
	}
	wrong := func(status int, msg string) {
		// The secret is not at hand any more: the form, and "Start again".
		v.Setup = &pages.TOTPSetup{AtSignIn: true, Return: ret}
		v.Setup.Confirm.SetErr("code", msg)
		p.render(w, r, status, "secondfactor", v)
	}
	if strings.TrimSpace(code) == "" {
		wrong(http.StatusBadRequest, "Enter the code the app shows")
		return
	}
	codes, err := p.s.deps.MFA.ConfirmTOTP(r.Context(), u.ID, code)
	switch {
	case errors.Is(err, mfa.ErrInvalidCode):
		wrong(http.StatusBadRequest, "That code is not right. Enter the code the app shows now, or start again")
		return
	case errors.Is(err, mfa.ErrNotEnrolled), errors.Is(err, authd.ErrNotFound):
		v.Error = "No authenticator app is being set up. Choose “Set up an authenticator app” to start."
		p.render(w, r, http.StatusConflict, "secondfactor", v)
		return
	case errors.Is(err, mfa.ErrAlreadyEnrolled):
		p.r.SeeOther(w, v.Here())
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	if _, err := p.s.startSession(w, r, u, amrOf(authd.AMROTP), "password and a second factor set up at sign-in"); err != nil {
		p.fail(w, r, err)
		return
	}
	if len(codes) == 0 {
		p.r.SeeOther(w, v.Next)
		return
	}
	v.Title, v.SignedInAs, v.Codes = "You are signed in", u.Email, codes
	p.render(w, r, http.StatusOK, "secondfactor", v)
}
