package httpapi

import "net/http"

// routes lists every route authd serves.
func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/register", s.handleRegister)
	mux.HandleFunc("POST /v1/login", s.handleLogin)
	mux.HandleFunc("POST /v1/logout", s.handleLogout)
	mux.HandleFunc("GET /v1/me", s.handleMe)
	mux.HandleFunc("GET /v1/sessions", s.withSession(s.handleSessions))
	mux.HandleFunc("DELETE /v1/sessions/{id}", s.withSession(s.handleRevokeSession))
	mux.HandleFunc("DELETE /v1/sessions", s.withSession(s.handleRevokeOthers))
	mux.HandleFunc("POST /v1/password", s.withSession(s.handlePassword))
	mux.HandleFunc("GET /v1/authz", s.handleAuthz)
	// Mail links, and leaving (links.go).
	mux.HandleFunc("POST /v1/recovery", s.handleRecovery)
	mux.HandleFunc("POST /v1/recovery/complete", s.handleRecoveryComplete)
	mux.HandleFunc("POST /v1/email/verify", s.handleVerifyEmail)
	mux.HandleFunc("POST /v1/email/verify/resend", s.handleResendVerification)
	mux.HandleFunc("POST /v1/email", s.handleChangeEmail)
	mux.HandleFunc("DELETE /v1/account", s.handleDeleteAccount)
	mux.HandleFunc("GET /v1/account/export", s.handleExport)
	if s.deps.Directory != nil {
		// Administration (admin.go): every route checks its caller (D1).
		mux.HandleFunc("GET /admin/v1/users", s.withAdmin(s.handleAdminUsers))
		mux.HandleFunc("POST /admin/v1/users", s.withAdmin(s.handleAdminCreateUser))
		mux.HandleFunc("GET /admin/v1/users/{id}", s.withAdmin(s.handleAdminUser))
		mux.HandleFunc("PATCH /admin/v1/users/{id}", s.withAdmin(s.handleAdminPatchUser))
		mux.HandleFunc("DELETE /admin/v1/users/{id}", s.withAdmin(s.handleAdminDeleteUser))
		mux.HandleFunc("DELETE /admin/v1/users/{id}/sessions", s.withAdmin(s.handleAdminEndSessions))
		mux.HandleFunc("DELETE /admin/v1/users/{id}/mfa", s.withAdmin(s.handleAdminResetMFA))
		mux.HandleFunc("GET /admin/v1/audit", s.withAdmin(s.handleAdminAudit))
		if s.deps.Upstreams != nil {
			mux.HandleFunc("GET /admin/v1/upstreams", s.withAdmin(s.handleAdminUpstreams))
			mux.HandleFunc("POST /admin/v1/upstreams", s.withAdmin(s.handleAdminCreateUpstream))
			mux.HandleFunc("DELETE /admin/v1/upstreams/{id}", s.withAdmin(s.handleAdminDeleteUpstream))
		}
		if s.deps.Registry != nil {
			mux.HandleFunc("GET /admin/v1/clients", s.withAdmin(s.handleAdminClients))
			mux.HandleFunc("POST /admin/v1/clients", s.withAdmin(s.handleAdminCreateClient))
			mux.HandleFunc("DELETE /admin/v1/clients/{id}", s.withAdmin(s.handleAdminDeleteClient))
		}
	}
	if s.deps.MFA != nil {
		// Second factors and passkeys (mfa.go).
		mux.HandleFunc("POST /v1/login/totp", s.handleLoginTOTP)
		mux.HandleFunc("POST /v1/login/recovery", s.handleLoginRecovery)
		mux.HandleFunc("POST /v1/login/webauthn/begin", s.handleLoginWebAuthnBegin)
		mux.HandleFunc("POST /v1/login/webauthn/finish", s.handleLoginWebAuthnFinish)
		mux.HandleFunc("POST /v1/passkey/begin", s.handlePasskeyBegin)
		mux.HandleFunc("POST /v1/passkey/finish", s.handlePasskeyFinish)
		mux.HandleFunc("GET /v1/mfa", s.withEnrolment(s.handleMFA))
		mux.HandleFunc("POST /v1/mfa/totp", s.withEnrolment(s.handleTOTPBegin))
		mux.HandleFunc("POST /v1/mfa/totp/confirm", s.withEnrolment(s.handleTOTPConfirm))
		mux.HandleFunc("DELETE /v1/mfa/totp", s.withSession(s.handleTOTPDelete))
		mux.HandleFunc("POST /v1/mfa/passkeys/begin", s.withEnrolment(s.handlePasskeyRegisterBegin))
		mux.HandleFunc("POST /v1/mfa/passkeys/finish", s.withEnrolment(s.handlePasskeyRegisterFinish))
		mux.HandleFunc("DELETE /v1/mfa/passkeys/{id}", s.withSession(s.handlePasskeyDelete))
		mux.HandleFunc("POST /v1/mfa/recovery-codes", s.withSession(s.handleRecoveryCodes))
	}

	if s.deps.Tokens != nil {
		mux.HandleFunc("POST /v1/session/token", s.withSession(s.handleSessionToken))
		mux.HandleFunc("GET /v1/revocations", s.handleRevocations)
		mux.HandleFunc("POST /oauth2/token", s.handleToken)
		mux.HandleFunc("POST /oauth2/revoke", s.handleRevoke)
		mux.HandleFunc("POST /oauth2/introspect", s.handleIntrospect)
		mux.HandleFunc("GET /.well-known/jwks.json", s.handleJWKS)
		mux.HandleFunc("GET /.well-known/openid-configuration", s.handleMetadata)
		mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.handleMetadata)
	}

	// ---- Pages (issue #5): server-rendered HTML; handlers in pages.go,
	// templates, assets and security headers in package pages. Every state
	// change is a POST answered by a 303 (Post/Redirect/Get).
	pg := s.newPages()
	s.pages = pg
	if s.deps.Upstreams != nil {
		// Sign-in through other providers (upstream.go): browser
		// navigations, answered with pages.
		mux.HandleFunc("GET /v1/upstream/{id}/start", pg.handleUpstreamStart)
		mux.HandleFunc("GET /v1/upstream/{id}/callback", pg.handleUpstreamCallback)
		mux.HandleFunc("GET /v1/identities", s.handleIdentities)
		mux.HandleFunc("DELETE /v1/identities/{upstream}", s.handleUnlink)
	}
	mux.HandleFunc("GET /{$}", pg.handleSignIn)
	mux.HandleFunc("GET /login", pg.handleSignIn)
	mux.HandleFunc("POST /login", pg.handleLoginForm)
	mux.HandleFunc("POST /signup", pg.handleSignupForm)
	mux.HandleFunc("POST /logout", pg.handleLogoutForm)
	mux.HandleFunc("GET /account", pg.withSession(pg.handleAccount))
	mux.HandleFunc("POST /account/sessions/{id}/revoke", pg.withSession(pg.handleRevokeForm))
	mux.HandleFunc("POST /account/sessions/revoke-others", pg.withSession(pg.handleRevokeOthersForm))
	mux.HandleFunc("POST /account/signout-everywhere", pg.withSession(pg.handleSignOutEverywhere))
	mux.HandleFunc("POST /account/password", pg.withSession(pg.handlePasswordForm))
	if s.deps.Tokens != nil {
		mux.HandleFunc("POST /account/token", pg.withSession(pg.handleTokenForm))
	}
	// Mailed links and leaving (pages_mail.go): a new password through
	// /forgot and /recover, /verify for an address, and on /account the
	// address, its change and the deletion of the account. The pages of
	// mailed links are sent with Referrer-Policy: no-referrer (linkPage).
	mux.HandleFunc("GET "+pathForgot, pg.linkPage(pg.handleForgot))
	mux.HandleFunc("POST "+pathForgot, pg.linkPage(pg.handleForgotForm))
	mux.HandleFunc("GET "+pathRecover, pg.linkPage(pg.handleRecover))
	mux.HandleFunc("POST "+pathRecover, pg.linkPage(pg.handleRecoverForm))
	mux.HandleFunc("GET "+pathVerify, pg.linkPage(pg.handleVerify))
	mux.HandleFunc("POST "+pathVerify, pg.linkPage(pg.handleVerifyForm))
	mux.HandleFunc("POST /account/email", pg.withSession(pg.handleChangeEmailForm))
	mux.HandleFunc("POST /account/email/resend", pg.withSession(pg.handleResendForm))
	mux.HandleFunc("POST /account/delete", pg.withSession(pg.handleDeleteForm))
	if s.deps.OIDC != nil {
		// The authorization server's browser side (authorize.go).
		mux.HandleFunc("GET /oauth2/authorize", pg.handleAuthorize)
		mux.HandleFunc("POST /oauth2/authorize", pg.handleAuthorize)
		mux.HandleFunc("POST /oauth2/consent", pg.withSession(pg.handleConsent))
		mux.HandleFunc("GET /oauth2/logout", pg.handleEndSession)
		mux.HandleFunc("POST /oauth2/logout", pg.handleEndSessionForm)
		mux.HandleFunc("GET /oauth2/userinfo", s.handleUserInfo)
		mux.HandleFunc("POST /oauth2/userinfo", s.handleUserInfo)
		mux.HandleFunc("POST /account/apps/revoke", pg.withSession(pg.handleRevokeAppForm))
		mux.HandleFunc("GET /account/apps/revoke", pg.redirect(pathAccount))
		mux.HandleFunc("GET /oauth2/consent", pg.redirect(pathAccount))
	}
	if s.deps.MFA != nil {
		// Second factors and passkeys (pages_mfa.go): the second step of
		// a sign-in and the Security section of /account. Passkeys are
		// driven by app.js against the JSON API above.
		mux.HandleFunc("GET "+pathSecondFactor, pg.handleSecondFactor)
		mux.HandleFunc("POST /login/second-factor/totp", pg.handleSecondFactorTOTP)
		mux.HandleFunc("POST /login/second-factor/recovery", pg.handleSecondFactorRecovery)
		mux.HandleFunc("POST /login/second-factor/enrol/totp", pg.handleEnrolTOTPForm)
		mux.HandleFunc("POST /login/second-factor/enrol/totp/confirm", pg.handleEnrolTOTPConfirmForm)
		mux.HandleFunc("POST /account/security/totp", pg.withSession(pg.handleTOTPSetupForm))
		mux.HandleFunc("POST /account/security/totp/confirm", pg.withSession(pg.handleTOTPConfirmForm))
		mux.HandleFunc("POST /account/security/totp/remove", pg.withSession(pg.handleTOTPRemoveForm))
		mux.HandleFunc("POST /account/security/passkeys/{id}/remove", pg.withSession(pg.handlePasskeyRemoveForm))
		mux.HandleFunc("POST /account/security/recovery-codes", pg.withSession(pg.handleRecoveryCodesForm))
		for path, to := range map[string]string{
			"/login/second-factor/totp":               pathSecondFactor,
			"/login/second-factor/recovery":           pathSecondFactor,
			"/login/second-factor/enrol/totp":         pathSecondFactor,
			"/login/second-factor/enrol/totp/confirm": pathSecondFactor,
			"/account/security/totp":                  pathAccount,
			"/account/security/totp/confirm":          pathAccount,
			"/account/security/totp/remove":           pathAccount,
			"/account/security/passkeys/{id}/remove":  pathAccount,
			"/account/security/recovery-codes":        pathAccount,
		} {
			mux.HandleFunc("GET "+path, pg.redirect(to))
		}
	}
	if s.deps.Upstreams != nil {
		// Sign-in through other providers (pages_upstream.go): the
		// buttons are links to /v1/upstream/{id}/start above; /account
		// lists the linked sign-ins, each unlinked by a POST.
		mux.HandleFunc("POST /account/identities/{upstream}/unlink", pg.withSession(pg.handleUnlinkForm))
	}
	if pg.adminPages() {
		// Administration (pages_admin.go): every handler, GET and POST,
		// checks the administrator itself (D1); every action is a POST,
		// and a GET of an action's URL redirects to the user's page.
		mux.HandleFunc("GET "+pathAdmin, pg.withAdmin(pg.handleAdmin))
		mux.HandleFunc("GET /admin/{$}", pg.redirect(pathAdmin))
		mux.HandleFunc("GET /admin/users/{id}", pg.withAdmin(pg.handleAdminUser))
		for action, h := range map[string]adminPageHandler{
			"lock":            pg.handleAdminLock,
			"unlock":          pg.handleAdminUnlock,
			"sessions/revoke": pg.handleAdminEndSessions,
			"mfa/reset":       pg.handleAdminResetMFA,
			"roles":           pg.handleAdminRoles,
			"delete":          pg.handleAdminDelete,
		} {
			mux.HandleFunc("POST /admin/users/{id}/"+action, pg.withAdmin(h))
			mux.HandleFunc("GET /admin/users/{id}/"+action, pg.adminRedirect)
		}
	}
	// A browser GET on a URL that a form posts to (a bookmark, a reload
	// after the POST, a typed address) goes to the page that has the form;
	// it never changes state (C2) and never shows raw JSON.
	for path, to := range map[string]string{
		"/signup":                               pathLogin,
		"/logout":                               pathAccount,
		"/account/sessions/{id}/revoke":         pathAccount,
		"/account/sessions/revoke-others":       pathAccount,
		"/account/signout-everywhere":           pathAccount,
		"/account/password":                     pathAccount,
		"/account/token":                        pathAccount,
		"/account/email":                        pathAccount,
		"/account/email/resend":                 pathAccount,
		"/account/delete":                       pathAccount,
		"/account/identities/{upstream}/unlink": pathAccount,
	} {
		mux.HandleFunc("GET "+path, pg.redirect(to))
	}
	mux.HandleFunc("GET /assets/{name}", pg.handleAsset)
	// ---- end of pages

	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.Handle("GET /metrics", s.metrics.handler)
}
