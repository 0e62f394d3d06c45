package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/mfa"
)

// Second factors and passkeys (API.md "Second factors and passkeys"): the
// second step of a pending sign-in, sign-in with a passkey alone, and the
// user's own factors under /v1/mfa. The rules are package mfa's; the
// throttle is package account's.

// reauthType is the problem type of a change that needs a recent sign-in.
const reauthType = "https://authd.dev/problems/reauthentication-required"

// pendingUser returns the request's pending sign-in (password done,
// second factor due) and its user. Anything else — no cookie, a full
// session, an expired or unknown one, a locked or deleted user — is
// authd.ErrUnauthenticated; a store failure is returned as it is.
func (s *Server) pendingUser(r *http.Request) (*authd.Session, *authd.User, error) {
	v, ok := s.sessionCookie(r)
	if !ok {
		return nil, nil, authd.ErrUnauthenticated
	}
	p, err := s.deps.Sessions.LookupPending(r.Context(), v)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.deps.Users.UserByID(r.Context(), p.UserID)
	switch {
	case errors.Is(err, authd.ErrNotFound) || err == nil && u.Locked:
		return nil, nil, authd.ErrUnauthenticated
	case err != nil:
		return nil, nil, err
	}
	return p, u, nil
}

// pending is pendingUser for the JSON API: it answers the failure (401,
// 503) and returns false.
func (s *Server) pending(w http.ResponseWriter, r *http.Request) (*authd.Session, *authd.User, bool) {
	p, u, err := s.pendingUser(r)
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false
	}
	return p, u, true
}

// finishWithCode finishes u's pending sign-in with an authenticator app's
// code, or with a recovery code when recovery is true: checked under the
// login throttle (wrong codes count as wrong passwords, M1), then a new
// session (a new ID, M4). It returns the session and, for a recovery code,
// how many are left. Both the JSON API and the second-step page use it.
func (s *Server) finishWithCode(w http.ResponseWriter, r *http.Request, u *authd.User, code string, recovery bool) (*authd.Session, int, error) {
	ctx := r.Context()
	left := 0
	err := s.deps.Accounts.CheckSecondFactor(ctx, u, s.meta(r), func() error {
		if !recovery {
			return s.deps.MFA.CheckTOTP(ctx, u.ID, code)
		}
		var err error
		left, err = s.deps.MFA.UseRecoveryCode(ctx, u.ID, code)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	detail := "password and authenticator app"
	if recovery {
		detail = "password and recovery code"
	}
	sess, err := s.startSession(w, r, u, amrOf(authd.AMROTP), detail)
	return sess, left, err
}

// signedIn answers a finished sign-in as /v1/login does, plus extra.
func (s *Server) signedIn(w http.ResponseWriter, u *authd.User, sess *authd.Session, extra map[string]any) {
	out := map[string]any{
		"user":    userJSON{u.ID, u.Email, rolesOrEmpty(u.Roles)},
		"session": map[string]time.Time{"expires_at": sess.ExpiresAt},
	}
	for k, v := range extra {
		out[k] = v
	}
	writeJSON(w, http.StatusOK, out)
}

// codeBody reads {"code"} (JSON or a form).
func (s *Server) codeBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	var code string
	if !s.body(w, r, true, map[string]*string{"code": &code}) {
		return "", false
	}
	if code == "" {
		writeProblemField(w, r, http.StatusBadRequest, "code is required", "code")
		return "", false
	}
	return code, true
}

// failFactor answers a refused second factor: a wrong code or credential
// is 401, the throttle 429, a store 503.
func (s *Server) failFactor(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, mfa.ErrInvalidCode), errors.Is(err, mfa.ErrInvalidCredential), errors.Is(err, mfa.ErrCounterRegressed):
		writeProblem(w, r, http.StatusUnauthorized, "the code or passkey is not right")
	case errors.Is(err, mfa.ErrNotEnrolled):
		writeProblem(w, r, http.StatusConflict, "that second factor is not set up for this account")
	case errors.Is(err, mfa.ErrNoRPID):
		writeProblem(w, r, http.StatusServiceUnavailable, "passkeys are off: the WebAuthn relying-party id cannot be an IP address; start authd with --webauthn-rp-id (use localhost in development)")
	default:
		s.fail(w, r, err)
	}
}

// mustEnrol reports whether u, who has the second-factor methods methods,
// must set one up before signing in (--require-mfa-role).
func (s *Server) mustEnrol(u *authd.User, methods []string) bool {
	if len(methods) > 0 {
		return false
	}
	for _, role := range u.Roles {
		if slices.Contains(s.cfg.RequireMFARoles, role) {
			return true
		}
	}
	return false
}

// withEnrolment is withSession for the requests that set up a second
// factor: it also takes the pending sign-in of a user who must enrol one
// before signing in (--require-mfa-role). The handler sees the pending
// sign-in (sess.Pending) and finishes the sign-in when the factor is set
// up (enrolled).
//
// NOTE: such a pending sign-in has proved the password a moment ago (it
// lives 5 minutes), so it may add the first factor, and nothing else.
func (s *Server) withEnrolment(h func(w http.ResponseWriter, r *http.Request, sess *authd.Session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, sess, err := s.fromSession(r.Context(), r)
		if err == nil {
			h(w, r, sess)
			return
		}
		if !errors.Is(err, authd.ErrUnauthenticated) {
			s.failAuth(w, r, err)
			return
		}
		p, u, perr := s.pendingUser(r)
		if perr != nil {
			s.failAuth(w, r, perr)
			return
		}
		st, serr := s.deps.MFA.Status(r.Context(), u.ID)
		if serr != nil {
			s.fail(w, r, serr)
			return
		}
		if !s.mustEnrol(u, st.Methods()) {
			s.failAuth(w, r, authd.ErrUnauthenticated)
			return
		}
		h(w, r, p)
	}
}

// enrolled finishes the sign-in of a pending user who just set up their
// first factor (method: otp or hwk) and adds the new session to out.
func (s *Server) enrolled(w http.ResponseWriter, r *http.Request, sess *authd.Session, method string, out map[string]any) bool {
	if !sess.Pending {
		return true
	}
	u := s.user(w, r, sess)
	if u == nil {
		return false
	}
	full, err := s.startSession(w, r, u, amrOf(method), "password and a second factor set up at sign-in")
	if err != nil {
		s.fail(w, r, err)
		return false
	}
	out["user"] = userJSON{u.ID, u.Email, rolesOrEmpty(u.Roles)}
	out["session"] = map[string]time.Time{"expires_at": full.ExpiresAt}
	return true
}

// amrOf is the authentication methods of a password sign-in finished with
// the second factor method.
func amrOf(method string) []string {
	return []string{authd.AMRPassword, method, authd.AMRMFA}
}

// handleLoginTOTP serves POST /v1/login/totp.
func (s *Server) handleLoginTOTP(w http.ResponseWriter, r *http.Request) {
	s.loginWithCode(w, r, false)
}

// handleLoginRecovery serves POST /v1/login/recovery.
func (s *Server) handleLoginRecovery(w http.ResponseWriter, r *http.Request) {
	s.loginWithCode(w, r, true)
}

// loginWithCode answers POST /v1/login/totp and /v1/login/recovery.
func (s *Server) loginWithCode(w http.ResponseWriter, r *http.Request, recovery bool) {
	_, u, ok := s.pending(w, r)
	if !ok {
		return
	}
	code, ok := s.codeBody(w, r)
	if !ok {
		return
	}
	sess, left, err := s.finishWithCode(w, r, u, code, recovery)
	if err != nil {
		s.failFactor(w, r, err)
		return
	}
	var extra map[string]any
	if recovery {
		extra = map[string]any{"recovery_codes_left": left}
	}
	s.signedIn(w, u, sess, extra)
}

// rawJSON reads a bounded JSON object body (strict: no duplicate members,
// nothing after it) and returns it raw, or answers the problem.
func (s *Server) rawJSON(w http.ResponseWriter, r *http.Request, empty bool) ([]byte, bool) {
	var raw []byte
	if empty && r.ContentLength == 0 {
		return []byte("{}"), true
	}
	err := decodeBodyRaw(w, r, &raw)
	if err == nil {
		return raw, true
	}
	var eb *errBody
	if errors.As(err, &eb) {
		writeProblem(w, r, eb.status, eb.detail)
		return nil, false
	}
	s.fail(w, r, err)
	return nil, false
}

// handleLoginWebAuthnBegin serves POST /v1/login/webauthn/begin.
func (s *Server) handleLoginWebAuthnBegin(w http.ResponseWriter, r *http.Request) {
	_, u, ok := s.pending(w, r)
	if !ok {
		return
	}
	if _, ok := s.rawJSON(w, r, true); !ok {
		return
	}
	opts, err := s.deps.MFA.BeginLogin(r.Context(), u)
	if err != nil {
		s.failFactor(w, r, err)
		return
	}
	writeRawJSON(w, opts)
}

// handleLoginWebAuthnFinish serves POST /v1/login/webauthn/finish.
func (s *Server) handleLoginWebAuthnFinish(w http.ResponseWriter, r *http.Request) {
	_, u, ok := s.pending(w, r)
	if !ok {
		return
	}
	body, ok := s.rawJSON(w, r, false)
	if !ok {
		return
	}
	a, err := s.deps.MFA.FinishLogin(r.Context(), u, body)
	if err == nil && a.UserID != u.ID {
		err = mfa.ErrInvalidCredential
	}
	if err != nil {
		s.failFactor(w, r, err)
		return
	}
	amr := amrOf(authd.AMRHardware)
	if a.UserVerified {
		amr = append(amr, authd.AMRUser)
	}
	sess, err := s.startSession(w, r, u, amr, "password and passkey")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.signedIn(w, u, sess, nil)
}

// handlePasskeyBegin serves POST /v1/passkey/begin: sign-in with a
// discoverable passkey alone.
func (s *Server) handlePasskeyBegin(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.rawJSON(w, r, true); !ok {
		return
	}
	opts, err := s.deps.MFA.BeginLogin(r.Context(), nil)
	if err != nil {
		s.failFactor(w, r, err)
		return
	}
	writeRawJSON(w, opts)
}

// handlePasskeyFinish serves POST /v1/passkey/finish.
//
// NOTE: a passkey with user verification is two factors in one (something
// held, and the PIN or biometric that unlocked it): amr hwk+user, aal2.
// Without user verification it is one (hwk, aal1).
func (s *Server) handlePasskeyFinish(w http.ResponseWriter, r *http.Request) {
	body, ok := s.rawJSON(w, r, false)
	if !ok {
		return
	}
	a, err := s.deps.MFA.FinishLogin(r.Context(), nil, body)
	if err != nil {
		s.failFactor(w, r, err)
		return
	}
	u, err := s.deps.Users.UserByID(r.Context(), a.UserID)
	switch {
	case errors.Is(err, authd.ErrNotFound) || err == nil && u.Locked:
		s.failFactor(w, r, mfa.ErrInvalidCredential)
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	if err := s.deps.Accounts.CheckVerified(r.Context(), u); err != nil {
		s.fail(w, r, err)
		return
	}
	amr := []string{authd.AMRHardware}
	if a.UserVerified {
		amr = append(amr, authd.AMRUser)
	}
	sess, err := s.startSession(w, r, u, amr, "passkey")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.signedIn(w, u, sess, nil)
}

// isRecent reports whether sess signed in within --reauth-window (0: any
// session is).
func (s *Server) isRecent(sess *authd.Session) bool {
	return s.cfg.ReauthWindow <= 0 || s.cfg.Now().Sub(sess.CreatedAt) <= s.cfg.ReauthWindow
}

// recent reports whether sess signed in within the reauthentication
// window, or answers 403 with the problem type reauthentication-required.
//
// NOTE: every change of a factor needs a recent sign-in (SECURITY M4,
// NIST SP 800-63B §4.2.3): a session left open on a shared computer must
// not be enough to add the attacker's authenticator.
func (s *Server) recent(w http.ResponseWriter, r *http.Request, sess *authd.Session) bool {
	if s.isRecent(sess) {
		return true
	}
	p := problem{Type: reauthType, Title: "Reauthentication required", Status: http.StatusForbidden,
		Detail: "this change needs a recent sign-in: sign in again, then retry", RequestID: requestID(r.Context())}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusForbidden)
	_ = json.NewEncoder(w).Encode(p)
	return false
}

type passkeyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func passkeyOut(p *authd.Passkey) passkeyJSON {
	out := passkeyJSON{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt}
	if !p.LastUsedAt.IsZero() {
		t := p.LastUsedAt
		out.LastUsedAt = &t
	}
	return out
}

// handleMFA serves GET /v1/mfa.
func (s *Server) handleMFA(w http.ResponseWriter, r *http.Request, sess *authd.Session) {
	st, err := s.deps.MFA.Status(r.Context(), sess.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	keys := make([]passkeyJSON, 0, len(st.Passkeys))
	for _, p := range st.Passkeys {
		keys = append(keys, passkeyOut(p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"totp": st.TOTP, "passkeys": keys, "recovery_codes_left": st.RecoveryCodesLeft})
}

// user returns the session's user, or answers and returns nil.
func (s *Server) user(w http.ResponseWriter, r *http.Request, sess *authd.Session) *authd.User {
	u, err := s.deps.Users.UserByID(r.Context(), sess.UserID)
	if err != nil {
		if errors.Is(err, authd.ErrNotFound) {
			err = authd.ErrUnauthenticated
		}
		s.fail(w, r, err)
		return nil
	}
	return u
}

// handleTOTPBegin serves POST /v1/mfa/totp.
func (s *Server) handleTOTPBegin(w http.ResponseWriter, r *http.Request, sess *authd.Session) {
	if !s.recent(w, r, sess) {
		return
	}
	u := s.user(w, r, sess)
	if u == nil {
		return
	}
	e, err := s.deps.MFA.BeginTOTP(r.Context(), u)
	if errors.Is(err, mfa.ErrAlreadyEnrolled) {
		writeProblem(w, r, http.StatusConflict, "an authenticator app is already set up: remove it first")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"secret": e.Secret, "otpauth_uri": e.URI})
}

// handleTOTPConfirm serves POST /v1/mfa/totp/confirm.
func (s *Server) handleTOTPConfirm(w http.ResponseWriter, r *http.Request, sess *authd.Session) {
	if !s.recent(w, r, sess) {
		return
	}
	code, ok := s.codeBody(w, r)
	if !ok {
		return
	}
	codes, err := s.deps.MFA.ConfirmTOTP(r.Context(), sess.UserID, code)
	switch {
	case errors.Is(err, mfa.ErrNotEnrolled):
		writeProblem(w, r, http.StatusConflict, "no authenticator app is being set up: start with POST /v1/mfa/totp")
		return
	case errors.Is(err, mfa.ErrInvalidCode):
		writeProblemField(w, r, http.StatusBadRequest, "the code is not right: enter the code the app shows now", "code")
		return
	case errors.Is(err, authd.ErrNotFound):
		writeProblem(w, r, http.StatusConflict, "no authenticator app is being set up: start with POST /v1/mfa/totp")
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	s.factorAdded(w, r, sess, authd.AMROTP, http.StatusOK, map[string]any{}, codes)
}

// factorAdded answers the set-up of a second factor (method: otp or hwk)
// with out, the recovery codes when it was the first factor, and the new
// session when it finished an enrolment at sign-in.
func (s *Server) factorAdded(w http.ResponseWriter, r *http.Request, sess *authd.Session, method string, status int, out map[string]any, codes []string) {
	if codes != nil {
		out["recovery_codes"] = codes
	}
	if !s.enrolled(w, r, sess, method, out) {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, out)
}

// handleTOTPDelete serves DELETE /v1/mfa/totp.
func (s *Server) handleTOTPDelete(w http.ResponseWriter, r *http.Request, sess *authd.Session) {
	if !s.recent(w, r, sess) {
		return
	}
	if err := s.deps.MFA.RemoveTOTP(r.Context(), sess.UserID); err != nil {
		s.failFactor(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handlePasskeyRegisterBegin serves POST /v1/mfa/passkeys/begin.
func (s *Server) handlePasskeyRegisterBegin(w http.ResponseWriter, r *http.Request, sess *authd.Session) {
	if !s.recent(w, r, sess) {
		return
	}
	if _, ok := s.rawJSON(w, r, true); !ok {
		return
	}
	u := s.user(w, r, sess)
	if u == nil {
		return
	}
	opts, err := s.deps.MFA.BeginRegistration(r.Context(), u)
	if err != nil {
		s.failFactor(w, r, err)
		return
	}
	writeRawJSON(w, opts)
}

// handlePasskeyRegisterFinish serves POST /v1/mfa/passkeys/finish
// {"name","credential"}.
func (s *Server) handlePasskeyRegisterFinish(w http.ResponseWriter, r *http.Request, sess *authd.Session) {
	if !s.recent(w, r, sess) {
		return
	}
	body, ok := s.rawJSON(w, r, false)
	if !ok {
		return
	}
	var in map[string]json.RawMessage
	var name string
	if json.Unmarshal(body, &in) != nil || in["credential"] == nil || in["name"] != nil && json.Unmarshal(in["name"], &name) != nil {
		writeProblem(w, r, http.StatusBadRequest, `the body must be {"name": string, "credential": the PublicKeyCredential}`)
		return
	}
	u := s.user(w, r, sess)
	if u == nil {
		return
	}
	p, codes, err := s.deps.MFA.FinishRegistration(r.Context(), u, name, in["credential"])
	if err != nil {
		if errors.Is(err, mfa.ErrInvalidCredential) {
			writeProblem(w, r, http.StatusBadRequest, "the passkey could not be registered: its answer does not match this request; try again")
			return
		}
		s.failFactor(w, r, err)
		return
	}
	s.factorAdded(w, r, sess, authd.AMRHardware, http.StatusCreated, map[string]any{"id": p.ID, "name": p.Name, "created_at": p.CreatedAt}, codes)
}

// handlePasskeyDelete serves DELETE /v1/mfa/passkeys/{id}.
func (s *Server) handlePasskeyDelete(w http.ResponseWriter, r *http.Request, sess *authd.Session) {
	if !s.recent(w, r, sess) {
		return
	}
	if err := s.deps.MFA.RemovePasskey(r.Context(), sess.UserID, r.PathValue("id")); err != nil {
		s.failFactor(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleRecoveryCodes serves POST /v1/mfa/recovery-codes.
func (s *Server) handleRecoveryCodes(w http.ResponseWriter, r *http.Request, sess *authd.Session) {
	if !s.recent(w, r, sess) {
		return
	}
	st, err := s.deps.MFA.Status(r.Context(), sess.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(slices.DeleteFunc(st.Methods(), func(m string) bool { return m == "recovery_code" })) == 0 {
		writeProblem(w, r, http.StatusConflict, "recovery codes come with a second factor: set up an authenticator app or a passkey first")
		return
	}
	codes, err := s.deps.MFA.NewRecoveryCodes(r.Context(), sess.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"recovery_codes": codes})
}

func writeRawJSON(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
