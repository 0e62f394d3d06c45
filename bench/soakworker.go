package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync/atomic"
	"time"
)

// ---- the model each worker keeps of its own users

type soakUser struct {
	email, pw string
	sessions  []*soakSession // live
	families  []*soakFamily  // live
}

type soakSession struct {
	c      cred
	tokens []string // access tokens exchanged from this session (sid = the session)
}

type soakFamily struct {
	refresh string
	access  []string // live access tokens of the family (the latest few)
}

// revokedCred is a credential the model says is dead since at.
type revokedCred struct {
	kind string // session, access, refresh
	c    cred   // session or access: the credential; refresh: value is the refresh token
	at   time.Time
}

// soakWorker drives its own users, so that its model is exact: nobody
// else changes them.
type soakWorker struct {
	s       *soaker
	rng     *rand.Rand
	users   []*soakUser
	revoked []revokedCred
	ops     map[string]int

	liveChecked, revokedChecked int
}

func (w *soakWorker) node() *node { return w.s.nodes[w.rng.IntN(len(w.s.nodes))] }

// markRevoked adds a credential to the model's revoked ones, forgetting
// one of the older half when there are too many.
func (w *soakWorker) markRevoked(kind string, c cred, at time.Time) {
	w.revoked = append(w.revoked, revokedCred{kind, c, at})
	if len(w.revoked) > soakRevokedKept {
		i := w.rng.IntN(len(w.revoked) / 2) // drop one of the older half
		w.revoked = slices.Delete(w.revoked, i, i+1)
	}
}

// soakOp is one kind of operation of the mix, drawn by weight. run does
// it for u on n, checks the answer against the model and reports whether
// the operation happened (it may find nothing to do).
type soakOp struct {
	name   string
	weight int
	run    func(w *soakWorker, ctx context.Context, u *soakUser, n *node) bool
}

// loginOp is also what a user without a session does, whatever is drawn.
var loginOp = soakOp{"login", 8, (*soakWorker).login}

// soakOps is the mix (docs/BENCHMARKS.md lists it).
var soakOps = []soakOp{
	{"me", 45, (*soakWorker).me}, {"probe_revoked", 12, (*soakWorker).probeRevokedOne}, loginOp,
	{"password_grant", 4, (*soakWorker).passwordGrant}, {"refresh", 10, (*soakWorker).refresh},
	{"session_token", 4, (*soakWorker).sessionToken}, {"logout", 6, (*soakWorker).logout},
	{"revoke_access", 3, (*soakWorker).revokeAccess}, {"revoke_refresh", 3, (*soakWorker).revokeRefresh},
	{"logout_others", 1, (*soakWorker).logoutOthers}, {"password_change", 1, (*soakWorker).changePassword},
}

// soakOpsWeight is the sum of soakOps' weights.
var soakOpsWeight = func() int {
	total := 0
	for _, o := range soakOps {
		total += o.weight
	}
	return total
}()

// pickOp is the operation that k, drawn from [0, soakOpsWeight), falls on.
func pickOp(k int) soakOp {
	for _, o := range soakOps {
		if k -= o.weight; k < 0 {
			return o
		}
	}
	panic(fmt.Sprintf("bench: pickOp(%d) out of [0, %d)", k, soakOpsWeight))
}

const maxSessionsPerUser, maxAccessPerFamily, maxFamiliesPerUser = 8, 4, 6

// step does one operation, drawn from the mix, for one of w's users on a
// random node.
func (w *soakWorker) step(ctx context.Context) {
	op := pickOp(w.rng.IntN(soakOpsWeight))
	u := w.users[w.rng.IntN(len(w.users))]
	if len(u.sessions) == 0 {
		op = loginOp
	}
	if op.run(w, ctx, u, w.node()) {
		w.ops[op.name]++
	}
}

// me calls GET /v1/me with a live credential: a session, a session's
// token or a family's token.
func (w *soakWorker) me(ctx context.Context, u *soakUser, n *node) bool {
	var c cred
	var what string
	switch k := w.rng.IntN(3); {
	case k == 1 && len(u.families) > 0:
		f := u.families[w.rng.IntN(len(u.families))]
		c, what = bearerCred(f.access[w.rng.IntN(len(f.access))]), "a live refresh family's access token"
	case k == 2 && len(u.sessions[0].tokens) > 0:
		ss := u.sessions[0]
		c, what = bearerCred(ss.tokens[w.rng.IntN(len(ss.tokens))]), "a live session's exchanged token"
	default:
		c, what = u.sessions[w.rng.IntN(len(u.sessions))].c, "a live session"
	}
	st, err := w.s.api.me(ctx, n.base, c)
	w.expect(ctx, st, err, http.StatusOK, &w.s.lost, "GET /v1/me with %s on %s", what, n.name)
	return true
}

// probeRevokedOne probes a credential revoked long enough ago to be
// refused everywhere.
func (w *soakWorker) probeRevokedOne(ctx context.Context, _ *soakUser, n *node) bool {
	if len(w.revoked) == 0 {
		return false
	}
	rc := w.revoked[w.rng.IntN(len(w.revoked))]
	if time.Since(rc.at) < soakSettle {
		return false
	}
	w.probeRevoked(ctx, rc, n)
	return true
}

// login signs in (POST /v1/login), or logs out when u has sessions enough.
func (w *soakWorker) login(ctx context.Context, u *soakUser, n *node) bool {
	if len(u.sessions) >= maxSessionsPerUser {
		return w.logout(ctx, u, w.node())
	}
	c, st, err := w.s.api.login(ctx, n.base, u.email, u.pw)
	if !w.expect(ctx, st, err, http.StatusOK, &w.s.unexpected, "POST /v1/login on %s", n.name) {
		return false
	}
	u.sessions = append(u.sessions, &soakSession{c: c})
	return true
}

// passwordGrant starts a refresh family, or ends one when u has families
// enough.
func (w *soakWorker) passwordGrant(ctx context.Context, u *soakUser, n *node) bool {
	if len(u.families) >= maxFamiliesPerUser {
		return w.revokeRefresh(ctx, u, w.node())
	}
	p, st, err := w.s.api.passwordGrant(ctx, n.base, u.email, u.pw)
	if !w.expect(ctx, st, err, http.StatusOK, &w.s.unexpected, "password grant on %s", n.name) {
		return false
	}
	u.families = append(u.families, &soakFamily{refresh: p.Refresh, access: []string{p.Access}})
	return true
}

// refresh rotates a live family.
func (w *soakWorker) refresh(ctx context.Context, u *soakUser, n *node) bool {
	if len(u.families) == 0 {
		return false
	}
	f := u.families[w.rng.IntN(len(u.families))]
	p, st, err := w.s.api.refresh(ctx, n.base, f.refresh)
	if !w.expect(ctx, st, err, http.StatusOK, &w.s.lost, "refresh of a live family on %s", n.name) {
		return false
	}
	// The spent refresh token is not probed: presenting it again is
	// reuse, which (rightly) kills the family.
	f.refresh = p.Refresh
	f.access = keepLatest(append(f.access, p.Access)) // the oldest: still live, no longer tracked
	return true
}

// sessionToken exchanges a live session for an access token.
func (w *soakWorker) sessionToken(ctx context.Context, u *soakUser, n *node) bool {
	ss := u.sessions[w.rng.IntN(len(u.sessions))]
	tok, st, err := w.s.api.sessionToken(ctx, n.base, ss.c)
	if !w.expect(ctx, st, err, http.StatusOK, &w.s.lost, "POST /v1/session/token with a live session on %s", n.name) {
		return false
	}
	ss.tokens = keepLatest(append(ss.tokens, tok))
	return true
}

// keepLatest keeps the last maxAccessPerFamily tokens of toks.
func keepLatest(toks []string) []string {
	if len(toks) > maxAccessPerFamily {
		return toks[len(toks)-maxAccessPerFamily:]
	}
	return toks
}

// logout ends a session (POST /v1/logout) and with it its tokens.
func (w *soakWorker) logout(ctx context.Context, u *soakUser, n *node) bool {
	i := w.rng.IntN(len(u.sessions))
	ss := u.sessions[i]
	st, err := w.s.api.logout(ctx, n.base, ss.c)
	if !w.expect(ctx, st, err, http.StatusNoContent, &w.s.unexpected, "POST /v1/logout on %s", n.name) {
		return false
	}
	w.endSession(ss, time.Now())
	u.sessions = slices.Delete(u.sessions, i, i+1)
	return true
}

// revokeAccess revokes one access token of a family that has two or more.
func (w *soakWorker) revokeAccess(ctx context.Context, u *soakUser, n *node) bool {
	if len(u.families) == 0 {
		return false
	}
	f := u.families[w.rng.IntN(len(u.families))]
	if len(f.access) < 2 {
		return false // keep one access token per family
	}
	i := w.rng.IntN(len(f.access))
	tok := f.access[i]
	st, err := w.s.api.revoke(ctx, n.base, tok)
	if !w.expect(ctx, st, err, http.StatusOK, &w.s.unexpected, "POST /oauth2/revoke (access token) on %s", n.name) {
		return false
	}
	w.markRevoked("access", bearerCred(tok), time.Now())
	f.access = slices.Delete(f.access, i, i+1)
	return true
}

// revokeRefresh revokes a refresh token, hence its family and its tokens.
func (w *soakWorker) revokeRefresh(ctx context.Context, u *soakUser, n *node) bool {
	if len(u.families) == 0 {
		return false
	}
	i := w.rng.IntN(len(u.families))
	f := u.families[i]
	st, err := w.s.api.revoke(ctx, n.base, f.refresh)
	if !w.expect(ctx, st, err, http.StatusOK, &w.s.unexpected, "POST /oauth2/revoke (refresh token) on %s", n.name) {
		return false
	}
	w.endFamily(f, time.Now())
	u.families = slices.Delete(u.families, i, i+1)
	return true
}

// logoutOthers ends every session of u but one (DELETE /v1/sessions).
func (w *soakWorker) logoutOthers(ctx context.Context, u *soakUser, n *node) bool {
	keep := u.sessions[w.rng.IntN(len(u.sessions))]
	st, _, _, err := w.s.api.call(ctx, "DELETE", n.base+"/v1/sessions", nil, &keep.c)
	if !w.expect(ctx, st, err, http.StatusNoContent, &w.s.unexpected, "DELETE /v1/sessions on %s", n.name) {
		return false
	}
	w.keepOnly(u, keep, time.Now())
	return true
}

// changePassword changes u's password through one session, which ends
// every other session and every refresh family.
func (w *soakWorker) changePassword(ctx context.Context, u *soakUser, n *node) bool {
	keep := u.sessions[w.rng.IntN(len(u.sessions))]
	next := randomPassword()
	st, err := w.s.api.changePassword(ctx, n.base, keep.c, u.pw, next)
	if !w.expect(ctx, st, err, http.StatusNoContent, &w.s.unexpected, "POST /v1/password on %s", n.name) {
		return false
	}
	u.pw = next
	now := time.Now()
	w.keepOnly(u, keep, now)
	for _, f := range u.families {
		w.endFamily(f, now)
	}
	u.families = nil
	return true
}

// keepOnly ends every session of u but keep.
func (w *soakWorker) keepOnly(u *soakUser, keep *soakSession, at time.Time) {
	for _, ss := range u.sessions {
		if ss != keep {
			w.endSession(ss, at)
		}
	}
	u.sessions = []*soakSession{keep}
}

func (w *soakWorker) endSession(ss *soakSession, at time.Time) {
	w.markRevoked("session", ss.c, at)
	for _, t := range ss.tokens {
		w.markRevoked("access", bearerCred(t), at)
	}
}

func (w *soakWorker) endFamily(f *soakFamily, at time.Time) {
	w.markRevoked("refresh", cred{value: f.refresh}, at)
	for _, t := range f.access {
		w.markRevoked("access", bearerCred(t), at)
	}
}

// probeRevoked checks that a revoked credential is refused by n.
func (w *soakWorker) probeRevoked(ctx context.Context, rc revokedCred, n *node) {
	s := w.s
	if rc.kind == "refresh" {
		_, st, err := s.api.refresh(ctx, n.base, rc.c.value)
		if err != nil && st == 0 {
			return // counted by the transport
		}
		if st == http.StatusOK {
			s.note(&s.revokedAccepted, "a revoked refresh token was rotated by %s %s after its revocation", n.name, time.Since(rc.at).Round(time.Millisecond))
		} else if st != http.StatusBadRequest && st < 500 {
			s.note(&s.unexpected, "a revoked refresh token got HTTP %d from %s (want 400)", st, n.name)
		}
		return
	}
	st, err := s.api.me(ctx, n.base, rc.c)
	if err != nil {
		return
	}
	if st == http.StatusOK {
		s.note(&s.revokedAccepted, "a revoked %s was accepted by %s %s after its revocation", rc.kind, n.name, time.Since(rc.at).Round(time.Millisecond))
	} else if st != http.StatusUnauthorized && st < 500 {
		s.note(&s.unexpected, "a revoked %s got HTTP %d from %s (want 401)", rc.kind, st, n.name)
	}
}

// expect checks an answer: a transport error or 5xx is counted by the
// transport; any other wrong status is counted on counter (a live
// credential refused is lost).
func (w *soakWorker) expect(ctx context.Context, st int, err error, want int, counter *atomic.Int64, format string, args ...any) bool {
	if st == want {
		return true
	}
	if ctx.Err() != nil || st == 0 || st >= 500 {
		return false
	}
	w.s.note(counter, "%s: HTTP %d, want %d", fmt.Sprintf(format, args...), st, want)
	return false
}

// finalCheck tries every live credential on every node (it must work) and
// every revoked one (it must not).
func (w *soakWorker) finalCheck(ctx context.Context) {
	for _, u := range w.users {
		for _, n := range w.s.nodes {
			w.checkLive(ctx, u, n)
		}
		// A live family rotates once, on a node of its own.
		for _, f := range u.families {
			n := w.node()
			p, st, err := w.s.api.refresh(ctx, n.base, f.refresh)
			if w.expect(ctx, st, err, http.StatusOK, &w.s.lost, "final check: refresh of a live family on %s", n.name) {
				f.refresh = p.Refresh
			}
			w.liveChecked++
		}
	}
	for _, rc := range w.revoked {
		if rc.kind == "refresh" {
			w.probeRevoked(ctx, rc, w.node()) // a refresh attempt is a write: once
			w.revokedChecked++
			continue
		}
		for _, n := range w.s.nodes {
			w.probeRevoked(ctx, rc, n)
			w.revokedChecked++
		}
	}
}

// checkLive tries every live session and access token of u on n.
func (w *soakWorker) checkLive(ctx context.Context, u *soakUser, n *node) {
	try := func(c cred, what string) {
		st, err := w.s.api.me(ctx, n.base, c)
		w.expect(ctx, st, err, http.StatusOK, &w.s.lost, "final check: %s on %s", what, n.name)
		w.liveChecked++
	}
	for _, ss := range u.sessions {
		try(ss.c, "a live session")
		for _, t := range ss.tokens {
			try(bearerCred(t), "a live session's token")
		}
	}
	for _, f := range u.families {
		for _, t := range f.access {
			try(bearerCred(t), "a live family's access token")
		}
	}
}
