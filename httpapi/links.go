package httpapi

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/authd/authd"
)

// recoveryAccepted is the one answer to every recovery request.
//
// NOTE: the same status and body for every address, an account's or not
// (SECURITY.md E1).
var recoveryAccepted = map[string]string{
	"status": "accepted",
	"detail": "if an account has this address, a link to set a new password is on its way",
}

func (s *Server) handleRecovery(w http.ResponseWriter, r *http.Request) {
	var email string
	if !s.body(w, r, false, map[string]*string{"email": &email}) {
		return
	}
	if err := s.deps.Accounts.RequestRecovery(r.Context(), email, s.meta(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, recoveryAccepted)
}

func (s *Server) handleRecoveryComplete(w http.ResponseWriter, r *http.Request) {
	var token, pw string
	if !s.body(w, r, false, map[string]*string{"token": &token, "new_password": &pw}) {
		return
	}
	if err := s.deps.Accounts.CompleteRecovery(r.Context(), token, pw, s.meta(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.metrics.sessionsRevoked.Inc()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleVerifyEmail(w http.ResponseWriter, r *http.Request) {
	var token string
	if !s.body(w, r, false, map[string]*string{"token": &token}) {
		return
	}
	u, err := s.deps.Accounts.VerifyEmail(r.Context(), token, s.meta(r))
	if err != nil {
		s.failEmail(w, r, err)
		return
	}
	s.verifiedNow(u)
	w.WriteHeader(http.StatusNoContent)
}

// failEmail answers a failed change of address: a taken address is said
// so (the link's holder owns the account).
func (s *Server) failEmail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, authd.ErrConflict) {
		writeProblemField(w, r, http.StatusConflict, "another account has this address by now; the change was not made", "email")
		return
	}
	s.fail(w, r, err)
}

func (s *Server) handleResendVerification(w http.ResponseWriter, r *http.Request) {
	p, err := s.userPrincipal(r)
	if err != nil {
		s.failAuth(w, r, err)
		return
	}
	if err := s.deps.Accounts.ResendVerification(r.Context(), p.UserID); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "accepted", "detail": "unless the address is verified already, a new link is on its way"})
}

func (s *Server) handleChangeEmail(w http.ResponseWriter, r *http.Request) {
	p, err := s.userPrincipal(r)
	if err != nil {
		s.failAuth(w, r, err)
		return
	}
	var email, current string
	if !s.body(w, r, false, map[string]*string{"new_email": &email, "current_password": &current}) {
		return
	}
	if err := s.deps.Accounts.RequestEmailChange(r.Context(), p.UserID, email, current, s.meta(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "accepted", "detail": "a link to confirm the change is on its way to the new address"})
}

func (s *Server) handleDeleteAccount(w http.ResponseWriter, r *http.Request) {
	p, err := s.userPrincipal(r)
	if err != nil {
		s.failAuth(w, r, err)
		return
	}
	var current string
	if !s.body(w, r, false, map[string]*string{"current_password": &current}) {
		return
	}
	if err := s.deps.Accounts.DeleteAccount(r.Context(), p.UserID, current, s.meta(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.metrics.sessionsRevoked.Inc()
	if p.Auth == "session" {
		s.clearSessionCookie(w)
	}
	w.WriteHeader(http.StatusNoContent)
}

// exportJSON is everything authd holds about a user, secrets excepted
// (no password hash, TOTP secret, recovery code hash or passkey key).
type exportJSON struct {
	ExportedAt time.Time         `json:"exported_at"`
	User       exportUserJSON    `json:"user"`
	Sessions   []sessionJSON     `json:"sessions"`
	Factors    *exportMFAJSON    `json:"second_factors,omitempty"`
	Apps       []exportAppJSON   `json:"connected_apps"`
	Events     []exportEventJSON `json:"audit_events"`
}

type exportUserJSON struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Roles         []string  `json:"roles"`
	Locked        bool      `json:"locked"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

type exportMFAJSON struct {
	TOTP              bool          `json:"totp"`
	Passkeys          []passkeyJSON `json:"passkeys"`
	RecoveryCodesLeft int           `json:"recovery_codes_left"`
}

type exportAppJSON struct {
	ClientID  string    `json:"client_id"`
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	GrantedAt time.Time `json:"granted_at"`
}

type exportEventJSON struct {
	At        time.Time `json:"at"`
	Event     string    `json:"event"`
	SessionID string    `json:"session_id,omitempty"`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	Detail    string    `json:"detail,omitempty"`
}

// exportEventsMax bounds the audit events an export carries; they are the
// newest.
const exportEventsMax = 1000

func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	p, err := s.userPrincipal(r)
	if err != nil {
		s.failAuth(w, r, err)
		return
	}
	out, err := s.export(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="authd-export.json"`)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) export(r *http.Request, p *authd.Principal) (*exportJSON, error) {
	ctx := r.Context()
	u, err := s.deps.Users.UserByID(ctx, p.UserID)
	if errors.Is(err, authd.ErrNotFound) {
		return nil, authd.ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	out := &exportJSON{ExportedAt: s.cfg.Now().UTC(),
		User:     exportUserJSON{u.ID, u.Email, u.EmailVerified, rolesOrEmpty(u.Roles), u.Locked, u.CreatedAt, u.UpdatedAt},
		Sessions: []sessionJSON{}, Apps: []exportAppJSON{}, Events: []exportEventJSON{}}
	ss, err := s.deps.Sessions.List(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	for _, x := range ss {
		out.Sessions = append(out.Sessions, sessionJSON{x.ID, x.CreatedAt, x.LastSeenAt, x.ExpiresAt, x.IP, x.UserAgent, x.ID == p.SessionID})
	}
	if s.deps.MFA != nil {
		st, err := s.deps.MFA.Status(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		f := &exportMFAJSON{TOTP: st.TOTP, Passkeys: []passkeyJSON{}, RecoveryCodesLeft: st.RecoveryCodesLeft}
		for _, k := range st.Passkeys {
			f.Passkeys = append(f.Passkeys, passkeyOut(k))
		}
		out.Factors = f
	}
	if s.deps.OIDC != nil {
		apps, err := s.deps.OIDC.ConnectedApps(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		for _, a := range apps {
			out.Apps = append(out.Apps, exportAppJSON{a.ClientID, a.Name, a.Scopes, a.GrantedAt})
		}
	}
	if s.deps.Audit != nil {
		evs, _, err := s.deps.Audit.ListEvents(ctx, authd.AuditQuery{UserID: u.ID, Limit: exportEventsMax})
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			out.Events = append(out.Events, exportEventJSON{e.At, e.Event, e.SessionID, e.IP, e.UserAgent, e.Detail})
		}
	}
	return out, nil
}

// emailVerified reports whether the user's address email is verified
// (sessions and tokens do not carry it: it changes without a new sign-in).
//
// NOTE: /v1/me must stay a memory-only check, so each node remembers what
// it read: a pair (user, address) seen verified stays verified — the rules
// never unverify an address a user keeps (an administrator's change of
// address makes a new pair and ends the sessions) — and one seen
// unverified is read again after unverifiedTTL. The node that verifies an
// address knows at once (verifiedNow); another node within unverifiedTTL.
func (s *Server) emailVerified(r *http.Request, userID, email string) (bool, error) {
	key := verifiedKey{userID, email}
	now := s.cfg.Now()
	if v, ok := s.verified.get(key, now); ok {
		return v, nil
	}
	u, err := s.deps.Users.UserByID(r.Context(), userID)
	if errors.Is(err, authd.ErrNotFound) {
		return false, authd.ErrUnauthenticated
	}
	if err != nil {
		return false, err
	}
	if u.Email == email {
		s.verified.put(key, u.EmailVerified, now)
	}
	return u.EmailVerified, nil
}

// verifiedNow records that u's address was just verified on this node.
func (s *Server) verifiedNow(u *authd.User) {
	s.verified.put(verifiedKey{u.ID, u.Email}, true, s.cfg.Now())
}

// unverifiedTTL is how long a node trusts an "unverified" it read.
const unverifiedTTL = 5 * time.Second

// verifiedSet is what this node read of (user, address) pairs, bounded:
// when full it starts over.
type verifiedSet struct {
	mu sync.RWMutex
	m  map[verifiedKey]verifiedEntry
}

// verifiedKey is a (user, address) pair; a struct, so that the check on
// every /v1/me builds no string.
type verifiedKey struct{ userID, email string }

type verifiedEntry struct {
	verified bool
	until    time.Time // zero for a verified pair: it stays verified
}

// verifiedSetMax bounds verifiedSet (about 100 bytes an entry).
const verifiedSetMax = 50_000

func (v *verifiedSet) get(k verifiedKey, now time.Time) (verified, ok bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	e, ok := v.m[k]
	if !ok || (!e.verified && now.After(e.until)) {
		return false, false
	}
	return e.verified, true
}

func (v *verifiedSet) put(k verifiedKey, verified bool, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil || len(v.m) >= verifiedSetMax {
		v.m = make(map[verifiedKey]verifiedEntry)
	}
	e := verifiedEntry{verified: verified}
	if !verified {
		e.until = now.Add(unverifiedTTL)
	}
	v.m[k] = e
}
