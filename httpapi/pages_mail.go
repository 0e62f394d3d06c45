package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/authd/authd"
	"github.com/authd/authd/account"
	"github.com/authd/authd/httpapi/pages"
	"github.com/authd/authd/mail"
)

// The pages of mailed links and of leaving (API.md "Email: verification
// and recovery", "Pages"): /forgot asks for a link that sets a new
// password, /recover and /verify finish the links a mail carries, and
// /account gains the address (verified or not, resend the link, change
// it), the download of one's data and the deletion of the account. They
// call the same rules as the JSON API of links.go (account.Service's
// RequestRecovery, CompleteRecovery, VerifyEmail, ResendVerification,
// RequestEmailChange, DeleteAccount).
//
// NOTE (SECURITY E1, E3): a GET of /recover or /verify never spends the
// token (mail scanners and link previews fetch links): it shows a form
// that posts the token back in a hidden field, and only the POST uses it.
// The three pages are sent with Referrer-Policy: no-referrer (linkPage),
// and the token is in no URL they link to or load: it travels in the POST
// body from the page on. /forgot says the same, with the same status,
// whether an account has the address or not.

// Paths of the pages of mailed links.
const (
	pathForgot  = "/forgot"
	pathRecover = "/recover"
	pathVerify  = "/verify"
)

// maxLinkToken bounds the token a page takes before the rules look at it:
// a real one is 43 characters; anything far longer is not worth a
// hidden field.
const maxLinkToken = 512

// linkPage runs h as a page of mailed links: every answer, error pages
// and redirects included, is sent with Referrer-Policy: no-referrer.
//
// NOTE: /recover?token=… and /verify?token=… hold the token in their
// address. Under the pages' usual same-origin policy the browser would
// send that address as Referer with each request the page makes to
// authd (its stylesheet, script and icon, the form post), and a proxy or
// CDN in front of authd may log it; under no-referrer it goes nowhere.
// /forgot is the start of the same flow and is sent the same way.
func (p *pageHandlers) linkPage(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pages.WithholdReferrer(w.Header())
		h(w, r)
	}
}

// plausibleToken reports whether token may be a link's token at all; the
// rules decide whether it is a live one.
func plausibleToken(token string) bool {
	return token != "" && len(token) <= maxLinkToken
}

// invalidLink answers a token that is not a live link (bad, spent,
// expired: the same 400), with the way to a new one: /forgot for a
// password reset, /account (its "Resend verification link") for an
// address.
func (p *pageHandlers) invalidLink(w http.ResponseWriter, r *http.Request, recover bool) {
	m := pages.MessagePage{
		Page:    pages.Page{Title: "This link does not work", NoReferrer: true},
		Heading: "This link is invalid, used or expired",
	}
	if recover {
		m.Text = "Each link works once, for a limited time, and only the newest one you asked for works. Ask for a new link to set your password."
		m.Link, m.LinkText = pathForgot, "Ask for a new link"
	} else {
		m.Text = "Each link works once, for a limited time, and only the newest one works. Sign in and choose “Resend verification link” on your account page to get a new one."
		m.Link, m.LinkText = pathAccount+"#email", "Go to your account"
	}
	p.render(w, r, http.StatusBadRequest, "message", m)
}

// forgotPage is /forgot's form.
func (p *pageHandlers) forgotPage() pages.ForgotPage {
	v := pages.ForgotPage{Page: pages.Page{Title: "Forgot your password?", NoReferrer: true}}
	if ttl := p.s.deps.Accounts.LinkTTL(); ttl > 0 {
		v.ExpiresIn = mail.HumanDuration(ttl)
	}
	return v
}

// handleForgot serves GET /forgot: the form that asks for a link. A
// server that cannot send mail says so at once.
func (p *pageHandlers) handleForgot(w http.ResponseWriter, r *http.Request) {
	if !p.s.deps.Accounts.CanMail() {
		p.fail(w, r, authd.ErrMailUnavailable)
		return
	}
	p.render(w, r, http.StatusOK, "forgot", p.forgotPage())
}

// handleForgotForm serves POST /forgot: a link is mailed when an account
// has the address, and the answer is the same page either way (E1). A
// malformed address is shown the form again with the reason.
func (p *pageHandlers) handleForgotForm(w http.ResponseWriter, r *http.Request) {
	var email string
	if !p.form(w, r, map[string]*string{"email": &email}) {
		return
	}
	v := p.forgotPage()
	v.Form.Email = email
	if strings.TrimSpace(email) == "" {
		v.Form.SetErr("email", "Enter your email address")
		p.render(w, r, http.StatusBadRequest, "forgot", v)
		return
	}
	err := p.s.deps.Accounts.RequestRecovery(r.Context(), email, p.s.meta(r))
	var inv *authd.InvalidError
	switch {
	case errors.As(err, &inv):
		v.Form.SetErr("email", inv.Message)
		p.render(w, r, http.StatusBadRequest, "forgot", v)
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	v.Form.Email = account.NormalizeEmail(email)
	v.Title, v.Sent = "Check your mail", true
	p.render(w, r, http.StatusOK, "forgot", v)
}

// recoverPage is /recover's form for token.
func (p *pageHandlers) recoverPage(token string) pages.RecoverPage {
	return pages.RecoverPage{Page: pages.Page{Title: "Set a new password", NoReferrer: true}, Token: token}
}

// handleRecover serves GET /recover?token=…: the new-password form, the
// token in a hidden field. It does not spend the token.
func (p *pageHandlers) handleRecover(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if !plausibleToken(token) {
		p.invalidLink(w, r, true)
		return
	}
	p.render(w, r, http.StatusOK, "recover", p.recoverPage(token))
}

// handleRecoverForm serves POST /recover: the new password is set, every
// session and token family of the user ends (E2), and the browser goes
// to sign in with it. A password the policy refuses shows the form again
// with the reason; the link still works.
func (p *pageHandlers) handleRecoverForm(w http.ResponseWriter, r *http.Request) {
	var token, pw string
	if !p.form(w, r, map[string]*string{"token": &token, "new_password": &pw}) {
		return
	}
	if !plausibleToken(token) {
		p.invalidLink(w, r, true)
		return
	}
	v := p.recoverPage(token)
	if pw == "" {
		v.Form.SetErr("new_password", "Enter a new password")
		p.render(w, r, http.StatusBadRequest, "recover", v)
		return
	}
	err := p.s.deps.Accounts.CompleteRecovery(r.Context(), token, pw, p.s.meta(r))
	var inv *authd.InvalidError
	switch {
	case errors.Is(err, authd.ErrInvalidLink):
		p.invalidLink(w, r, true)
		return
	case errors.As(err, &inv):
		v.Form.SetErr("new_password", inv.Message)
		p.render(w, r, http.StatusBadRequest, "recover", v)
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	p.s.metrics.sessionsRevoked.Inc()
	if _, present := p.s.sessionCookie(r); present {
		// Every session of the user has ended; this browser's may be one.
		p.s.clearSessionCookie(w)
	}
	p.r.SeeOther(w, pathLogin+"?notice=password-reset")
}

// handleVerify serves GET /verify?token=…: a page with a button that
// posts the token. It does not verify anything.
func (p *pageHandlers) handleVerify(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if !plausibleToken(token) {
		p.invalidLink(w, r, false)
		return
	}
	p.render(w, r, http.StatusOK, "verify", pages.VerifyPage{
		Page: pages.Page{Title: "Confirm your address", NoReferrer: true}, Token: token})
}

// handleVerifyForm serves POST /verify: a verification link marks the
// address verified; a change-of-email link moves the account to the new
// address and ends every session of the user.
//
// The rules do not say which of the two the link was. A browser signed
// in as the user tells: after a change its session's address is the old
// one. Any other browser gets words true of both.
func (p *pageHandlers) handleVerifyForm(w http.ResponseWriter, r *http.Request) {
	var token string
	if !p.form(w, r, map[string]*string{"token": &token}) {
		return
	}
	if !plausibleToken(token) {
		p.invalidLink(w, r, false)
		return
	}
	_, before, serr := p.s.fromSession(r.Context(), r)
	u, err := p.s.deps.Accounts.VerifyEmail(r.Context(), token, p.s.meta(r))
	switch {
	case errors.Is(err, authd.ErrInvalidLink):
		p.invalidLink(w, r, false)
		return
	case errors.Is(err, authd.ErrConflict):
		p.render(w, r, http.StatusConflict, "message", pages.MessagePage{
			Page:    pages.Page{Title: "This address is taken", NoReferrer: true},
			Heading: "Another account has this address",
			Text:    "Another account has taken this address since you asked for the change, so your address was not changed: your account keeps the address it had.",
			Link:    pathAccount, LinkText: "Go to your account",
		})
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	p.s.verifiedNow(u)
	m := pages.MessagePage{Page: pages.Page{Title: "Your address is verified", NoReferrer: true}, Heading: "Your address is verified"}
	switch {
	case serr == nil && before.UserID == u.ID && before.Email != u.Email:
		// NOTE: the change ended every session of the user, this one too.
		p.s.clearSessionCookie(w)
		m.Title, m.Heading = "Your address is changed", "Your address is changed"
		m.Text = "Your address is now " + u.Email + ". Every device was signed out: sign in again with it."
		m.Link, m.LinkText = pathLogin, "Sign in"
	case serr == nil && before.UserID == u.ID:
		m.SignedInAs = before.Email
		m.Text = "Your address " + u.Email + " is verified. Thank you."
		m.Link, m.LinkText = pathAccount, "Go to your account"
	default:
		m.Text = "Your account's address is " + u.Email + ", and it is verified. If you have just changed it, every device was signed out: sign in again with it."
		m.Link, m.LinkText = pathLogin, "Sign in"
	}
	p.render(w, r, http.StatusOK, "message", m)
}

// renderAccount answers /account with status after edit has set the
// state of a form.
func (p *pageHandlers) renderAccount(w http.ResponseWriter, r *http.Request, cur *authd.Session, status int, edit func(v *pages.AccountPage)) {
	v, err := p.accountPage(r, cur)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	edit(&v)
	p.render(w, r, status, "account", v)
}

// handleResendForm serves POST /account/email/resend: a new verification
// link, voiding the previous one; a few per --login-window.
func (p *pageHandlers) handleResendForm(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	verified, err := p.s.emailVerified(r, cur.UserID, cur.Email)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if verified {
		p.r.SeeOther(w, pathAccount+"?notice=already-verified#email")
		return
	}
	err = p.s.deps.Accounts.ResendVerification(r.Context(), cur.UserID)
	var thr *authd.ThrottledError
	switch {
	case errors.As(err, &thr):
		w.Header().Set("Retry-After", retryAfter(thr.RetryAfter))
		p.renderAccount(w, r, cur, http.StatusTooManyRequests, func(v *pages.AccountPage) {
			v.Notice = &pages.Notice{Kind: "error", Text: "You asked for several links already. " + strings.TrimPrefix(pages.TryAgain(thr.RetryAfter), "Too many attempts. ")}
		})
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	p.r.SeeOther(w, pathAccount+"?notice=verification-sent#email")
}

// handleChangeEmailForm serves POST /account/email: a link to the new
// address, which changes the account's address when it is used, and a
// notice to the current one. The answer is the account page naming the
// new address.
//
// NOTE: the answer is the same whether the new address has an account
// (the rules send nothing then), so that no one signed in can probe for
// other accounts; the change fails when its link is used.
func (p *pageHandlers) handleChangeEmailForm(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	var email, current string
	if !p.form(w, r, map[string]*string{"new_email": &email, "current_password": &current}) {
		return
	}
	f := pages.Form{Email: email}
	if strings.TrimSpace(email) == "" {
		f.SetErr("new_email", "Enter the new address")
	}
	if current == "" {
		f.SetErr("current_password", "Enter your current password")
	}
	status := http.StatusBadRequest
	if f.Errors == nil {
		err := p.s.deps.Accounts.RequestEmailChange(r.Context(), cur.UserID, email, current, p.s.meta(r))
		var inv *authd.InvalidError
		switch {
		case err == nil:
			to := account.NormalizeEmail(email)
			p.renderAccount(w, r, cur, http.StatusOK, func(v *pages.AccountPage) {
				v.Notice = &pages.Notice{Kind: "success", Text: "We sent a link to " + to + ". Your address changes when you use it; until then it stays " + cur.Email + "."}
			})
			return
		case errors.Is(err, authd.ErrForbidden):
			status = http.StatusForbidden
			f.SetErr("current_password", "Your current password is wrong")
		case errors.As(err, &inv):
			f.SetErr("new_email", inv.Message)
		default:
			p.fail(w, r, err)
			return
		}
	}
	p.renderAccount(w, r, cur, status, func(v *pages.AccountPage) { v.ChangeEmail = f })
}

// handleDeleteForm serves POST /account/delete: with the current password
// and the box ticked, the account and everything of it is deleted, every
// session and token family first; the browser's cookie is cleared.
func (p *pageHandlers) handleDeleteForm(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	var current, confirm string
	if !p.form(w, r, map[string]*string{"current_password": &current, "confirm": &confirm}) {
		return
	}
	var f pages.Form
	if current == "" {
		f.SetErr("current_password", "Enter your current password")
	}
	if confirm != "yes" {
		f.SetErr("confirm", "Tick the box to confirm that your account is deleted for good")
	}
	status := http.StatusBadRequest
	if f.Errors == nil {
		err := p.s.deps.Accounts.DeleteAccount(r.Context(), cur.UserID, current, p.s.meta(r))
		switch {
		case err == nil:
			p.s.metrics.sessionsRevoked.Inc()
			p.s.clearSessionCookie(w)
			w.Header().Set("Clear-Site-Data", `"cookies"`)
			p.r.SeeOther(w, pathLogin+"?notice=account-deleted")
			return
		case errors.Is(err, authd.ErrForbidden):
			status = http.StatusForbidden
			f.SetErr("current_password", "Your current password is wrong")
		default:
			p.fail(w, r, err)
			return
		}
	}
	p.renderAccount(w, r, cur, status, func(v *pages.AccountPage) { v.Delete = f })
}
