package storetest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
)

// DirectoryBackend is what RunUserDirectory needs of a store: the
// directory, and every store whose records DeleteUser deletes (or keeps),
// to see them go.
type DirectoryBackend interface {
	authd.UserDirectory
	authd.UserStore
	authd.SessionStore
	authd.RefreshStore
	authd.FactorStore
	authd.ConsentStore
	authd.CodeStore
	authd.SessionClientStore
	authd.LinkStore
	authd.IdentityStore
	authd.Outbox
	authd.AuditLog
	authd.AuditReader
}

// RunUserDirectory runs the UserDirectory contract against stores made by
// newStore, which must return a fresh, empty store each time it is called.
func RunUserDirectory(t *testing.T, newStore func(t *testing.T) DirectoryBackend) {
	t.Helper()
	ds := directorySuite{newStore}
	t.Run("SetEmail sets Email, EmailVerified and UpdatedAt only", ds.setEmailOnly)
	t.Run("SetEmail ErrNotFound for an unknown id", ds.setEmailNotFound)
	t.Run("SetEmail ErrConflict when another user has email", ds.setEmailConflict)
	t.Run("SetEmail is idempotent", ds.setEmailIdempotent)
	t.Run("SetRoles replaces Roles in their order and UpdatedAt only", ds.setRolesOnly)
	t.Run("SetRoles ErrNotFound for an unknown id", ds.setRolesNotFound)
	t.Run("ListUsers returns the users ordered by id with every field", ds.listOrdered)
	t.Run("ListUsers pages by Limit and the next cursor, empty on the last page", ds.listPages)
	t.Run("ListUsers keeps the users whose email contains Query, case-insensitively", ds.listQuery)
	t.Run("ListUsers matches the LIKE wildcards %, _ and backslash in Query as themselves", ds.listQueryLiteral)
	t.Run("ListUsers returns each user that exists for a whole paging exactly once, whatever is inserted or deleted", ds.listWhileChanging)
	t.Run("ListUsers returns an empty slice when none", ds.listEmpty)
	t.Run("ListUsers refuses a malformed cursor with *authd.InvalidError", ds.listMalformedCursor)
	t.Run("ListUsers refuses a Limit outside 1 to 1000 with *authd.InvalidError", ds.listBadLimit)
	t.Run("DeleteUser deletes the user and every record of theirs", ds.deleteEverything)
	t.Run("DeleteUser keeps the audit events and the outbox messages of other kinds", ds.deleteKeeps)
	t.Run("DeleteUser ErrNotFound for an unknown id, and deletes nothing", ds.deleteNotFound)
	t.Run("honours ctx cancellation", ds.honoursCancellation)
}

// directorySuite is what RunUserDirectory's subtests share: the
// constructor of fresh stores, and the helpers over a store as methods.
type directorySuite struct {
	newStore func(t *testing.T) DirectoryBackend
}

func (directorySuite) create(t *testing.T, s authd.UserStore, us ...*authd.User) {
	t.Helper()
	for _, u := range us {
		mustOK(t, s.CreateUser(t.Context(), u), "CreateUser "+u.ID)
	}
}

// byID fails t unless the user reads back as want, by id and by email.
func (directorySuite) byID(t *testing.T, s authd.UserStore, want *authd.User, what string) {
	t.Helper()
	got, err := s.UserByID(t.Context(), want.ID)
	mustOK(t, err, what+": UserByID")
	checkUser(t, what+": UserByID", want, got)
	got, err = s.UserByEmail(t.Context(), want.Email)
	mustOK(t, err, what+": UserByEmail")
	checkUser(t, what+": UserByEmail", want, got)
}

func (directorySuite) list(t *testing.T, s authd.UserDirectory, q authd.UserQuery) ([]*authd.User, string) {
	t.Helper()
	us, next, err := s.ListUsers(t.Context(), q)
	mustOK(t, err, "ListUsers")
	if us == nil {
		t.Fatal("ListUsers returned a nil slice, want a non-nil one")
	}
	if len(us) > q.Limit {
		t.Fatalf("ListUsers returned %d users, over the limit %d", len(us), q.Limit)
	}
	return us, next
}

// all pages through q from its cursor to the last page.
func (ds directorySuite) all(t *testing.T, s authd.UserDirectory, q authd.UserQuery) []*authd.User {
	t.Helper()
	var out []*authd.User
	for range 10000 {
		us, next := ds.list(t, s, q)
		out = append(out, us...)
		if next == "" {
			return out
		}
		q.Cursor = next
	}
	t.Fatal("ListUsers never returned an empty next cursor")
	return nil
}

func userIDs(us []*authd.User) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, u.ID)
	}
	return out
}

// sortedUsers returns us sorted by id.
//
// Reading: "ordered by id" is the order of the ids as the store compares
// them; the suite's ids (NewID: one prefix, then lower-case hex) sort
// alike in byte order and under any collation.
func sortedUsers(us ...*authd.User) []*authd.User {
	out := slices.Clone(us)
	slices.SortFunc(out, func(a, b *authd.User) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// wantUsers fails t unless got is want, in order, every field equal.
func wantUsers(t *testing.T, what string, want, got []*authd.User) {
	t.Helper()
	if !slices.Equal(userIDs(want), userIDs(got)) {
		t.Fatalf("%s: got %q, want %q", what, userIDs(got), userIDs(want))
	}
	for i := range want {
		checkUser(t, fmt.Sprintf("%s: user %d", what, i), want[i], got[i])
	}
}

func (ds directorySuite) setEmailOnly(t *testing.T) {
	s := ds.newStore(t)
	u, v := newUser(), newUser()
	ds.create(t, s, u, v)
	for _, verified := range []bool{false, true} {
		email, at := NewID("new")+"@example.com", u.UpdatedAt.Add(time.Hour)
		old := u.Email
		mustOK(t, s.SetEmail(t.Context(), u.ID, email, verified, at), "SetEmail")
		u.Email, u.EmailVerified, u.UpdatedAt = email, verified, at
		ds.byID(t, s, u, fmt.Sprintf("after SetEmail(verified %v)", verified))
		_, err := s.UserByEmail(t.Context(), old)
		wantErr(t, err, authd.ErrNotFound, "UserByEmail of the address before")
	}
	ds.byID(t, s, v, "the other user")
	// The old address is free for another user.
	w := newUser()
	w.Email = v.Email
	mustOK(t, s.SetEmail(t.Context(), v.ID, NewID("moved")+"@example.com", false, Now()), "SetEmail of the other user")
	ds.create(t, s, w)
}

func (ds directorySuite) setEmailNotFound(t *testing.T) {
	s := ds.newStore(t)
	u := newUser()
	ds.create(t, s, u)
	for _, id := range []string{NewID("user"), "", u.Email} {
		wantErr(t, s.SetEmail(t.Context(), id, NewID("x")+"@example.com", true, Now()), authd.ErrNotFound, "SetEmail("+id+")")
	}
	ds.byID(t, s, u, "the user")
}

func (ds directorySuite) setEmailConflict(t *testing.T) {
	s := ds.newStore(t)
	u, v := newUser(), newUser()
	ds.create(t, s, u, v)
	wantErr(t, s.SetEmail(t.Context(), u.ID, v.Email, true, Now()), authd.ErrConflict, "SetEmail to another user's email")
	ds.byID(t, s, u, "the user after the conflict")
	ds.byID(t, s, v, "the other user after the conflict")
}

func (ds directorySuite) setEmailIdempotent(t *testing.T) {
	s := ds.newStore(t)
	u := newUser()
	ds.create(t, s, u)
	email, at := NewID("new")+"@example.com", u.UpdatedAt.Add(time.Minute)
	mustOK(t, s.SetEmail(t.Context(), u.ID, email, false, at), "first SetEmail")
	mustOK(t, s.SetEmail(t.Context(), u.ID, email, false, at), "second SetEmail")
	u.Email, u.EmailVerified, u.UpdatedAt = email, false, at
	ds.byID(t, s, u, "after two SetEmail")
	// Its own address is no conflict.
	mustOK(t, s.SetEmail(t.Context(), u.ID, email, true, at), "SetEmail verifying the same address")
	u.EmailVerified = true
	ds.byID(t, s, u, "after verifying the same address")
}

func (ds directorySuite) setRolesOnly(t *testing.T) {
	s := ds.newStore(t)
	u, v := newUser(), newUser()
	ds.create(t, s, u, v)
	for i, roles := range [][]string{{"zeta", "admin", "beta"}, nil, {"admin"}, {}} {
		at := u.UpdatedAt.Add(time.Duration(i+1) * time.Minute)
		mustOK(t, s.SetRoles(t.Context(), u.ID, roles, at), "SetRoles")
		u.Roles, u.UpdatedAt = roles, at
		ds.byID(t, s, u, fmt.Sprintf("after SetRoles(%q)", roles))
		mustOK(t, s.SetRoles(t.Context(), u.ID, roles, at), "SetRoles again")
		ds.byID(t, s, u, fmt.Sprintf("after SetRoles(%q) twice", roles))
	}
	ds.byID(t, s, v, "the other user")
}

func (ds directorySuite) setRolesNotFound(t *testing.T) {
	s := ds.newStore(t)
	u := newUser()
	ds.create(t, s, u)
	for _, id := range []string{NewID("user"), "", u.Email} {
		wantErr(t, s.SetRoles(t.Context(), id, []string{"admin"}, Now()), authd.ErrNotFound, "SetRoles("+id+")")
	}
	ds.byID(t, s, u, "the user")
}

func (ds directorySuite) listOrdered(t *testing.T) {
	s := ds.newStore(t)
	var us []*authd.User
	for i := range 9 {
		u := newUser()
		u.EmailVerified, u.Locked = i%2 == 0, i%3 == 0
		if i == 4 {
			u.Roles = nil
		}
		us = append(us, u)
		ds.create(t, s, u)
	}
	got, next := ds.list(t, s, authd.UserQuery{Limit: 1000})
	if next != "" {
		t.Fatalf("ListUsers of every user returned the next cursor %q, want \"\"", next)
	}
	wantUsers(t, "ListUsers", sortedUsers(us...), got)
}

func (ds directorySuite) listPages(t *testing.T) {
	s := ds.newStore(t)
	var us []*authd.User
	for range 7 {
		u := newUser()
		us = append(us, u)
		ds.create(t, s, u)
	}
	want := sortedUsers(us...)
	q := authd.UserQuery{Limit: 3}
	for i, size := range []int{3, 3, 1} {
		got, next := ds.list(t, s, q)
		wantUsers(t, fmt.Sprintf("page %d", i), want[:size], got)
		want = want[size:]
		if last := i == 2; last != (next == "") {
			t.Fatalf("page %d of 3: next cursor %q", i, next)
		}
		q.Cursor = next
	}
	// Reading: "" on the page that holds the last user, also when it is
	// full; a caller never asks for an empty page.
	got, next := ds.list(t, s, authd.UserQuery{Limit: 7})
	if len(got) != 7 || next != "" {
		t.Fatalf("ListUsers with Limit 7 of 7 users: %d users, next cursor %q; want 7 and \"\"", len(got), next)
	}
}

func (ds directorySuite) listQuery(t *testing.T) {
	s := ds.newStore(t)
	tag := strings.TrimPrefix(NewID("q"), "q-")
	alice, bob, carol := newUser(), newUser(), newUser()
	alice.Email = "alice." + tag + "@example.com"
	bob.Email = "bob@" + tag + ".example.org"
	carol.Email = "carol@example.net"
	ds.create(t, s, alice, bob, carol)
	for _, c := range []struct {
		query string
		want  []*authd.User
	}{
		{"", []*authd.User{alice, bob, carol}},
		{tag, []*authd.User{alice, bob}},
		{strings.ToUpper(tag), []*authd.User{alice, bob}},
		{"ALICE", []*authd.User{alice}},
		{"Example.", []*authd.User{alice, bob, carol}},
		{"@example.net", []*authd.User{carol}},
		{".org", []*authd.User{bob}},
		{"carol@example.net", []*authd.User{carol}},
		{"carol@example.netx", nil},
		{"nobody", nil},
	} {
		for _, limit := range []int{1000, 1} {
			got := ds.all(t, s, authd.UserQuery{Query: c.query, Limit: limit})
			wantUsers(t, fmt.Sprintf("ListUsers(Query %q, Limit %d)", c.query, limit), sortedUsers(c.want...), got)
		}
	}
}

func (ds directorySuite) listQueryLiteral(t *testing.T) {
	s := ds.newStore(t)
	pct, under, back, plain := newUser(), newUser(), newUser(), newUser()
	pct.Email = "100%sure@example.com"
	under.Email = "first_last@example.com"
	back.Email = `back\slash@example.com`
	plain.Email = "firstxlast@example.com" // what _ would match as a wildcard
	other := newUser()
	other.Email = "100xsure@example.com" // what % would match as a wildcard
	ds.create(t, s, pct, under, back, plain, other)
	for _, c := range []struct {
		query string
		want  []*authd.User
	}{
		{"%", []*authd.User{pct}},
		{"100%sure", []*authd.User{pct}},
		{"_", []*authd.User{under}},
		{"first_last", []*authd.User{under}},
		{`\`, []*authd.User{back}},
		{`k\s`, []*authd.User{back}},
		{`\%`, nil},
		{`\_`, nil},
		{"%%", nil},
	} {
		got := ds.all(t, s, authd.UserQuery{Query: c.query, Limit: 1000})
		wantUsers(t, fmt.Sprintf("ListUsers(Query %q)", c.query), sortedUsers(c.want...), got)
	}
}

func (ds directorySuite) listWhileChanging(t *testing.T) {
	s := ds.newStore(t)
	var stable []*authd.User
	for range 60 {
		u := newUser()
		stable = append(stable, u)
		ds.create(t, s, u)
	}
	// Users that come and go meanwhile, before, between and after the
	// stable ones in id order.
	var doomed []*authd.User
	for range 30 {
		u := newUser()
		doomed = append(doomed, u)
		ds.create(t, s, u)
	}
	stop := make(chan struct{})
	var changers sync.WaitGroup
	changeErrs := make([]error, 4)
	for i := range changeErrs {
		changers.Go(func() {
			for j := i; j < 400; j += len(changeErrs) {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Microsecond):
				}
				var err error
				if j < len(doomed) {
					err = s.DeleteUser(t.Context(), doomed[j].ID)
				} else {
					err = s.CreateUser(t.Context(), newUser())
				}
				if err != nil {
					changeErrs[i] = err
					return
				}
			}
		})
	}
	const pagers = 3
	got := make([][]*authd.User, pagers)
	errs := make([]error, pagers)
	var wg sync.WaitGroup
	for i := range pagers {
		wg.Go(func() {
			q := authd.UserQuery{Limit: 4 + i}
			for {
				us, next, err := s.ListUsers(t.Context(), q)
				if err != nil {
					errs[i] = err
					return
				}
				got[i] = append(got[i], us...)
				if next == "" {
					return
				}
				q.Cursor = next
				time.Sleep(time.Millisecond) // let the changers in between pages
			}
		})
	}
	wg.Wait()
	close(stop)
	changers.Wait()
	for i, err := range changeErrs {
		mustOK(t, err, fmt.Sprintf("changer %d", i))
	}
	for i := range pagers {
		mustOK(t, errs[i], "ListUsers while users change")
		seen := map[string]int{}
		for j, u := range got[i] {
			seen[u.ID]++
			if seen[u.ID] > 1 {
				t.Fatalf("paging %d returned %s twice", i, u.ID)
			}
			if j > 0 && got[i][j-1].ID >= u.ID {
				t.Fatalf("paging %d: %s after %s, want ids in order", i, u.ID, got[i][j-1].ID)
			}
		}
		for _, u := range stable {
			if seen[u.ID] != 1 {
				t.Fatalf("paging %d returned the stable user %s %d times, want once", i, u.ID, seen[u.ID])
			}
		}
	}
}

func (ds directorySuite) listEmpty(t *testing.T) {
	s := ds.newStore(t)
	got, next := ds.list(t, s, authd.UserQuery{Limit: 10})
	if len(got) != 0 || next != "" {
		t.Fatalf("ListUsers of no user: %d users, next cursor %q", len(got), next)
	}
	ds.create(t, s, newUser())
	got, next = ds.list(t, s, authd.UserQuery{Query: "nobody-" + NewID("x"), Limit: 10})
	if len(got) != 0 || next != "" {
		t.Fatalf("ListUsers that keeps none: %d users, next cursor %q", len(got), next)
	}
}

func (ds directorySuite) listMalformedCursor(t *testing.T) {
	s := ds.newStore(t)
	ds.create(t, s, newUser(), newUser(), newUser())
	_, good := ds.list(t, s, authd.UserQuery{Limit: 1})
	if good == "" {
		t.Fatal("ListUsers with Limit 1 of 3 users returned no next cursor")
	}
	for _, c := range malformedCursors(good) {
		_, _, err := s.ListUsers(t.Context(), authd.UserQuery{Limit: 10, Cursor: c})
		wantInvalid(t, err, fmt.Sprintf("ListUsers(Cursor %q)", c))
	}
}

func (ds directorySuite) listBadLimit(t *testing.T) {
	s := ds.newStore(t)
	ds.create(t, s, newUser())
	for _, n := range []int{0, -1, 1001, math.MinInt, math.MaxInt} {
		_, _, err := s.ListUsers(t.Context(), authd.UserQuery{Limit: n})
		wantInvalid(t, err, fmt.Sprintf("ListUsers(Limit %d)", n))
	}
	for _, n := range []int{1, 1000} {
		ds.list(t, s, authd.UserQuery{Limit: n})
	}
}

// UserRecords is what FillUser wrote: a user and a record of theirs in
// every store DeleteUser clears, and the records it keeps.
type UserRecords struct {
	User        *authd.User
	Session     *authd.Session
	Family      *authd.RefreshFamily
	FamilyToken []byte // the hash of the family's live token
	TOTP        *authd.TOTP
	Recovery    []byte // the hash of a recovery code
	Passkey     *authd.Passkey
	Consent     *authd.Consent
	Code        *authd.AuthCode
	ClientID    string // linked to Session (SessionClientStore)
	Link        *authd.Link
	Mail        *authd.OutboxMessage
	Identity    *authd.Identity // at an upstream provider
	// Kept by DeleteUser: an audit event and a back-channel logout.
	Event  authd.AuditEvent
	Logout *authd.OutboxMessage
}

// FillUser creates a user and a record of theirs in every store
// DeleteUser clears, and an audit event and a back-channel logout message
// naming them, which it keeps. A store's own tests use it to look for
// what DeleteUser leaves behind in their tables.
func FillUser(t *testing.T, s DirectoryBackend) *UserRecords {
	t.Helper()
	ctx := t.Context()
	now := Now()
	r := &UserRecords{User: newUser()}
	u := r.User
	mustOK(t, s.CreateUser(ctx, u), "CreateUser")

	r.Session = newSession(u.ID, now)
	r.Session.Email = u.Email
	mustOK(t, s.CreateSession(ctx, r.Session), "CreateSession")
	r.Family, r.FamilyToken = newFamily(u.ID), NewHash()
	mustOK(t, s.CreateFamily(ctx, r.Family, r.FamilyToken), "CreateFamily")

	r.TOTP = newTOTP()
	r.TOTP.UserID = u.ID
	mustOK(t, s.PutTOTP(ctx, r.TOTP), "PutTOTP")
	r.Recovery = NewHash()
	mustOK(t, s.SetRecoveryCodes(ctx, u.ID, [][]byte{r.Recovery, NewHash()}), "SetRecoveryCodes")
	r.Passkey = newPasskey(u.ID, now)
	mustOK(t, s.AddPasskey(ctx, r.Passkey), "AddPasskey")

	r.Consent = newConsent(u.ID)
	mustOK(t, s.PutConsent(ctx, r.Consent), "PutConsent")
	r.Code = newCode()
	r.Code.UserID, r.Code.SessionID = u.ID, r.Session.ID
	mustOK(t, s.CreateCode(ctx, r.Code), "CreateCode")
	r.ClientID = r.Consent.ClientID
	mustOK(t, s.LinkSessionClient(ctx, r.Session.ID, r.ClientID, u.ID, now.Add(time.Hour)), "LinkSessionClient")

	r.Link = newLink(u.ID, authd.LinkVerifyEmail)
	r.Link.Email = u.Email
	r.Mail = newMail(r.Link)
	mustOK(t, s.IssueLink(ctx, r.Link, []*authd.OutboxMessage{r.Mail}), "IssueLink")
	r.Identity = newIdentity(u.ID, NewID("up"))
	r.Identity.Email = u.Email
	mustOK(t, s.LinkIdentity(ctx, r.Identity), "LinkIdentity")

	r.Event = newEvent(authd.EventLoginSucceeded, now)
	r.Event.UserID, r.Event.SessionID = u.ID, r.Session.ID
	mustOK(t, s.RecordEvent(ctx, r.Event), "RecordEvent")
	r.Logout = newMessage(now)
	r.Logout.UserID, r.Logout.SessionID, r.Logout.ClientID = u.ID, r.Session.ID, r.ClientID
	mustOK(t, s.Enqueue(ctx, r.Logout), "Enqueue")
	return r
}

// checkDeleted fails t unless every record of r that DeleteUser deletes
// is gone, as seen through the interfaces.
func (directorySuite) checkDeleted(t *testing.T, s DirectoryBackend, r *UserRecords) {
	t.Helper()
	ctx := t.Context()
	u := r.User
	_, err := s.UserByID(ctx, u.ID)
	wantErr(t, err, authd.ErrNotFound, "UserByID of the deleted user")
	_, err = s.UserByEmail(ctx, u.Email)
	wantErr(t, err, authd.ErrNotFound, "UserByEmail of the deleted user")
	_, err = s.SessionByHash(ctx, r.Session.Hash)
	wantErr(t, err, authd.ErrNotFound, "SessionByHash of the deleted user's session")
	if ss, err := s.ListSessions(ctx, u.ID, time.Time{}); err != nil || len(ss) != 0 {
		t.Fatalf("ListSessions of the deleted user: %d sessions, %v", len(ss), err)
	}
	_, err = s.FamilyByID(ctx, r.Family.ID)
	wantErr(t, err, authd.ErrNotFound, "FamilyByID of the deleted user's family")
	_, err = s.UpdateFamilyByToken(ctx, r.FamilyToken, func(*authd.RefreshFamily, int) ([]byte, error) { return nil, nil })
	wantErr(t, err, authd.ErrNotFound, "UpdateFamilyByToken of the deleted user's token")
	_, err = s.TOTPOf(ctx, u.ID)
	wantErr(t, err, authd.ErrNotFound, "TOTPOf the deleted user")
	if n, err := s.RecoveryCodesLeft(ctx, u.ID); err != nil || n != 0 {
		t.Fatalf("RecoveryCodesLeft of the deleted user: %d, %v", n, err)
	}
	if ps, err := s.Passkeys(ctx, u.ID); err != nil || len(ps) != 0 {
		t.Fatalf("Passkeys of the deleted user: %d, %v", len(ps), err)
	}
	_, err = s.PasskeyByCredentialID(ctx, r.Passkey.CredentialID)
	wantErr(t, err, authd.ErrNotFound, "PasskeyByCredentialID of the deleted user's passkey")
	_, err = s.ConsentFor(ctx, u.ID, r.Consent.ClientID)
	wantErr(t, err, authd.ErrNotFound, "ConsentFor the deleted user")
	_, err = s.CodeReused(ctx, r.Code.Hash)
	wantErr(t, err, authd.ErrNotFound, "CodeReused of the deleted user's code")
	if cs, err := s.TakeSessionClients(ctx, r.Session.ID); err != nil || len(cs) != 0 {
		t.Fatalf("TakeSessionClients of the deleted user's session: %q, %v", cs, err)
	}
	_, err = s.TakeLink(ctx, r.Link.Hash, allPurposes, Now())
	wantErr(t, err, authd.ErrNotFound, "TakeLink of the deleted user's link")
	_, err = s.IdentityBySubject(ctx, r.Identity.UpstreamID, r.Identity.Subject)
	wantErr(t, err, authd.ErrNotFound, "IdentityBySubject of the deleted user's identity")
	wantIdentities(t, s, u.ID)
}

// checkIntact fails t unless every record of r reads back as written.
func (ds directorySuite) checkIntact(t *testing.T, s DirectoryBackend, r *UserRecords) {
	t.Helper()
	ctx := t.Context()
	ds.byID(t, s, r.User, "the other user")
	got, err := s.SessionByHash(ctx, r.Session.Hash)
	mustOK(t, err, "SessionByHash of the other user's session")
	checkSession(t, "the other user's session", r.Session, got)
	f, err := s.FamilyByID(ctx, r.Family.ID)
	mustOK(t, err, "FamilyByID of the other user's family")
	checkFamily(t, "the other user's family", r.Family, f)
	totp, err := s.TOTPOf(ctx, r.User.ID)
	mustOK(t, err, "TOTPOf the other user")
	checkTOTP(t, "the other user's TOTP", r.TOTP, totp)
	if n, err := s.RecoveryCodesLeft(ctx, r.User.ID); err != nil || n != 2 {
		t.Fatalf("RecoveryCodesLeft of the other user: %d, %v; want 2", n, err)
	}
	p, err := s.PasskeyByCredentialID(ctx, r.Passkey.CredentialID)
	mustOK(t, err, "PasskeyByCredentialID of the other user's passkey")
	checkPasskey(t, "the other user's passkey", r.Passkey, p)
	c, err := s.ConsentFor(ctx, r.User.ID, r.Consent.ClientID)
	mustOK(t, err, "ConsentFor the other user")
	checkConsent(t, "the other user's consent", r.Consent, c)
	_, err = s.CodeReused(ctx, r.Code.Hash)
	mustOK(t, err, "CodeReused of the other user's code")
	if cs, err := s.TakeSessionClients(ctx, r.Session.ID); err != nil || !slices.Equal(cs, []string{r.ClientID}) {
		t.Fatalf("TakeSessionClients of the other user's session: %q, %v; want [%s]", cs, err, r.ClientID)
	}
	l, err := s.TakeLink(ctx, r.Link.Hash, allPurposes, Now())
	mustOK(t, err, "TakeLink of the other user's link")
	checkLink(t, "the other user's link", r.Link, l)
	i, err := s.IdentityBySubject(ctx, r.Identity.UpstreamID, r.Identity.Subject)
	mustOK(t, err, "IdentityBySubject of the other user's identity")
	checkIdentity(t, "the other user's identity", r.Identity, i)
	wantIdentities(t, s, r.User.ID, r.Identity)
}

// claimAll claims every outbox message of kind due within a minute.
func claimAll(t *testing.T, s authd.Outbox, kind string) []string {
	t.Helper()
	ms, err := s.Claim(t.Context(), kind, Now().Add(time.Minute), time.Hour, 1000)
	mustOK(t, err, "Claim")
	return messageIDs(ms)
}

func (ds directorySuite) deleteEverything(t *testing.T) {
	s := ds.newStore(t)
	doomed, other := FillUser(t, s), FillUser(t, s)
	mustOK(t, s.DeleteUser(t.Context(), doomed.User.ID), "DeleteUser")
	ds.checkDeleted(t, s, doomed)
	if got := claimAll(t, s, authd.OutboxMail); !slices.Equal(got, []string{other.Mail.ID}) {
		t.Fatalf("mails after DeleteUser: %q, want the other user's [%s] only", got, other.Mail.ID)
	}
	ds.checkIntact(t, s, other)
	wantErr(t, s.DeleteUser(t.Context(), doomed.User.ID), authd.ErrNotFound, "DeleteUser a second time")
	// The id and email are free again.
	mustOK(t, s.CreateUser(t.Context(), doomed.User), "CreateUser of the deleted user's id and email")
}

func (ds directorySuite) deleteKeeps(t *testing.T) {
	s := ds.newStore(t)
	r := FillUser(t, s)
	mustOK(t, s.DeleteUser(t.Context(), r.User.ID), "DeleteUser")
	es, _, err := s.ListEvents(t.Context(), authd.AuditQuery{UserID: r.User.ID, Limit: 10})
	mustOK(t, err, "ListEvents of the deleted user")
	wantEvents(t, "the deleted user's audit events", []authd.AuditEvent{r.Event}, es)
	if got := claimAll(t, s, authd.OutboxBackchannelLogout); !slices.Equal(got, []string{r.Logout.ID}) {
		t.Fatalf("back-channel logouts after DeleteUser: %q, want [%s]", got, r.Logout.ID)
	}
}

func (ds directorySuite) deleteNotFound(t *testing.T) {
	s := ds.newStore(t)
	r := FillUser(t, s)
	// Records of an id without a user (the stores keep no foreign key):
	// DeleteUser of that id is ErrNotFound and deletes none of them.
	orphanID := NewID("user")
	sess := newSession(orphanID, Now())
	mustOK(t, s.CreateSession(t.Context(), sess), "CreateSession")
	link := newLink(orphanID, authd.LinkRecover)
	mail := newMail(link)
	mustOK(t, s.IssueLink(t.Context(), link, []*authd.OutboxMessage{mail}), "IssueLink")
	ident := newIdentity(orphanID, NewID("up"))
	mustOK(t, s.LinkIdentity(t.Context(), ident), "LinkIdentity")
	for _, id := range []string{orphanID, NewID("user"), "", r.User.Email, r.User.ID[:len(r.User.ID)-1]} {
		wantErr(t, s.DeleteUser(t.Context(), id), authd.ErrNotFound, "DeleteUser("+id+")")
	}
	ds.checkIntact(t, s, r)
	got, err := s.SessionByHash(t.Context(), sess.Hash)
	mustOK(t, err, "SessionByHash of the session without a user")
	checkSession(t, "the session without a user", sess, got)
	l, err := s.TakeLink(t.Context(), link.Hash, allPurposes, Now())
	mustOK(t, err, "TakeLink of the link without a user")
	checkLink(t, "the link without a user", link, l)
	wantIdentities(t, s, orphanID, ident)
	wantSameSet(t, "mails after DeleteUser of unknown ids", []string{r.Mail.ID, mail.ID}, claimAll(t, s, authd.OutboxMail))
}

func (ds directorySuite) honoursCancellation(t *testing.T) {
	s := ds.newStore(t)
	r := FillUser(t, s)
	ctx := cancelled(t)
	wantCanceled(t, s.SetEmail(ctx, r.User.ID, NewID("x")+"@example.com", false, Now()), "SetEmail")
	_, _, err := s.ListUsers(ctx, authd.UserQuery{Limit: 10})
	wantCanceled(t, err, "ListUsers")
	wantCanceled(t, s.DeleteUser(ctx, r.User.ID), "DeleteUser")
	ds.checkIntact(t, s, r)
}

// CheckDeleteUserInvalidates checks, for a store that is also a
// SessionWatcher, that DeleteUser tells the watchers of every session it
// deletes, as DeleteSession does: "h.Invalidate with the hash of every
// session deleted". s and w may be two handles on one store, as two nodes
// are.
func CheckDeleteUserInvalidates(t *testing.T, s DirectoryBackend, w authd.SessionWatcher) {
	t.Helper()
	h := &invalidations{subscribed: make(chan struct{}), seen: map[string]bool{}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.WatchSessions(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-h.subscribed:
	case err := <-done:
		t.Fatalf("WatchSessions: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("WatchSessions never subscribed")
	}
	r := FillUser(t, s)
	second := newSession(r.User.ID, Now())
	mustOK(t, s.CreateSession(t.Context(), second), "CreateSession")
	mustOK(t, s.DeleteUser(t.Context(), r.User.ID), "DeleteUser")
	deadline := time.Now().Add(10 * time.Second)
	for !h.has(r.Session.Hash) || !h.has(second.Hash) {
		if time.Now().After(deadline) {
			t.Fatal("the watcher was not told of the sessions DeleteUser deleted")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// invalidations is an authd.SessionEvents that remembers the hashes.
type invalidations struct {
	subscribed chan struct{}
	once       sync.Once
	mu         sync.Mutex
	seen       map[string]bool
}

func (h *invalidations) Subscribed() { h.once.Do(func() { close(h.subscribed) }) }

func (h *invalidations) Invalidate(hash []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen[string(hash)] = true
}

func (h *invalidations) has(hash []byte) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seen[string(hash)]
}
