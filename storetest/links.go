package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
)

// LinkBackend is what RunLinkStore needs of a store: its links, and the
// users and the outbox they are written with, to see what was written.
type LinkBackend interface {
	authd.LinkStore
	authd.UserStore
	authd.Outbox
}

// RunLinkStore runs the LinkStore contract against stores made by
// newStore, which must return a fresh, empty store each time it is called.
func RunLinkStore(t *testing.T, newStore func(t *testing.T) LinkBackend) {
	t.Helper()
	ls := linkSuite{newStore}
	t.Run("IssueLink then TakeLink returns every field", ls.issueThenTake)
	t.Run("IssueLink deletes every link of l.UserID with l.Purpose", ls.issueReplaces)
	t.Run("IssueLink enqueues each mail as Outbox.Enqueue would", ls.issueEnqueues)
	t.Run("IssueLink ErrConflict when l.Hash exists, and nothing written", ls.issueConflictOnHash)
	t.Run("IssueLink ErrConflict when a mail's ID exists, and nothing written", ls.issueConflictOnMail)
	t.Run("CreateUserWithLink creates the user and issues the link", ls.createUserWithLink)
	t.Run("CreateUserWithLink ErrConflict when u's id or email is taken, and nothing written", ls.createConflictOnUser)
	t.Run("CreateUserWithLink ErrConflict as IssueLink, and no user created", ls.createConflictOnLink)
	t.Run("TakeLink deletes the link: it is used once", ls.takeOnce)
	t.Run("TakeLink ErrNotFound and nothing changed when the Purpose is not one of purposes", ls.takeOtherPurpose)
	t.Run("TakeLink ErrNotFound and nothing changed when ExpiresAt is not after now", ls.takeExpired)
	t.Run("TakeLink ErrNotFound for an unknown hash", ls.takeUnknown)
	t.Run("TakeLink gives the link to at most one of n concurrent calls", ls.takeConcurrently)
	t.Run("DeleteLinksBefore deletes the links whose ExpiresAt is before t and returns how many", ls.deleteBefore)
	t.Run("honours ctx cancellation", ls.honoursCancellation)
}

// linkSuite is what RunLinkStore's subtests share: the constructor of
// fresh stores, and the helpers over a store as methods.
type linkSuite struct {
	newStore func(t *testing.T) LinkBackend
}

// allPurposes are the purposes a caller that accepts any link passes.
var allPurposes = []string{authd.LinkVerifyEmail, authd.LinkChangeEmail, authd.LinkRecover}

// newLink returns a link of userID for purpose with a fresh hash,
// expiring in an hour.
func newLink(userID, purpose string) *authd.Link {
	now := Now()
	return &authd.Link{
		Hash:      NewHash(),
		Purpose:   purpose,
		UserID:    userID,
		Email:     NewID("to") + "@example.com",
		CreatedAt: now,
		ExpiresAt: now.Add(time.Hour),
	}
}

// newMail returns a mail to l's address for l's user, due now.
func newMail(l *authd.Link) *authd.OutboxMessage {
	m := newMessage(Now())
	m.Kind, m.Target, m.UserID, m.SessionID, m.ClientID = authd.OutboxMail, l.Email, l.UserID, "", ""
	m.Body = []byte("Subject: your link\r\n\r\nhttps://id.example.com/l#" + NewID("token"))
	return m
}

func (linkSuite) issue(t *testing.T, s LinkBackend, l *authd.Link, mails ...*authd.OutboxMessage) {
	t.Helper()
	mustOK(t, s.IssueLink(t.Context(), l, mails), "IssueLink")
}

// take takes the link of hash or fails t.
func (linkSuite) take(t *testing.T, s LinkBackend, hash []byte, purposes ...string) *authd.Link {
	t.Helper()
	l, err := s.TakeLink(t.Context(), hash, purposes, Now())
	mustOK(t, err, "TakeLink")
	return l
}

// gone fails t unless the link of hash cannot be taken, for any purpose.
func (linkSuite) gone(t *testing.T, s LinkBackend, hash []byte, what string) {
	t.Helper()
	_, err := s.TakeLink(t.Context(), hash, allPurposes, Now())
	wantErr(t, err, authd.ErrNotFound, what)
}

// mailsAt claims every mail due at now, oldest NextAt first, with a
// lease of a minute.
func (linkSuite) mailsAt(t *testing.T, s authd.Outbox, now time.Time) []*authd.OutboxMessage {
	t.Helper()
	ms, err := s.Claim(t.Context(), authd.OutboxMail, now, time.Minute, 1000)
	mustOK(t, err, "Claim of the mails")
	return ms
}

// mails claims every mail due within a minute.
func (ls linkSuite) mails(t *testing.T, s authd.Outbox) []*authd.OutboxMessage {
	t.Helper()
	return ls.mailsAt(t, s, Now().Add(time.Minute))
}

func (ls linkSuite) issueThenTake(t *testing.T) {
	s := ls.newStore(t)
	for _, p := range allPurposes {
		l := newLink(NewID("user"), p)
		ls.issue(t, s, l)
		checkLink(t, "TakeLink of a "+p+" link", l, ls.take(t, s, l.Hash, p))
	}
}

func (ls linkSuite) issueReplaces(t *testing.T) {
	s := ls.newStore(t)
	user := NewID("user")
	first, second := newLink(user, authd.LinkRecover), newLink(user, authd.LinkRecover)
	ownOther := newLink(user, authd.LinkVerifyEmail)
	othersSame := newLink(NewID("user"), authd.LinkRecover)
	for _, l := range []*authd.Link{first, ownOther, othersSame, second} {
		ls.issue(t, s, l)
	}
	ls.gone(t, s, first.Hash, "TakeLink of the link the second IssueLink replaced")
	checkLink(t, "the newer link", second, ls.take(t, s, second.Hash, authd.LinkRecover))
	checkLink(t, "the user's link of another purpose", ownOther, ls.take(t, s, ownOther.Hash, authd.LinkVerifyEmail))
	checkLink(t, "another user's link of the purpose", othersSame, ls.take(t, s, othersSame.Hash, authd.LinkRecover))
}

func (ls linkSuite) issueEnqueues(t *testing.T) {
	s := ls.newStore(t)
	l := newLink(NewID("user"), authd.LinkVerifyEmail)
	a, b := newMail(l), newMail(l)
	b.NextAt, b.Attempts, b.LastErr = a.NextAt.Add(time.Second), 2, "421 try later"
	ls.issue(t, s, l, a, b)
	none := newLink(NewID("user"), authd.LinkRecover)
	ls.issue(t, s, none) // no mail at all
	now := Now().Add(time.Minute)
	got := ls.mailsAt(t, s, now)
	if len(got) != 2 {
		t.Fatalf("Claim after IssueLink returned %q, want [%s %s]", messageIDs(got), a.ID, b.ID)
	}
	for i, m := range []*authd.OutboxMessage{a, b} {
		checkMessage(t, "mail "+m.ID, claimed(m, now, time.Minute), got[i])
	}
	ls.take(t, s, none.Hash, authd.LinkRecover)
}

func (ls linkSuite) issueConflictOnHash(t *testing.T) {
	s := ls.newStore(t)
	user := NewID("user")
	old := newLink(user, authd.LinkRecover)
	ls.issue(t, s, old)
	for _, dup := range []*authd.Link{
		// Another user's link, and the very link of the user and purpose,
		// which IssueLink would otherwise delete first.
		{Hash: old.Hash, Purpose: authd.LinkVerifyEmail, UserID: NewID("user"), Email: "x@example.com", CreatedAt: Now(), ExpiresAt: Now().Add(time.Hour)},
		{Hash: old.Hash, Purpose: authd.LinkRecover, UserID: user, Email: "y@example.com", CreatedAt: Now(), ExpiresAt: Now().Add(2 * time.Hour)},
	} {
		err := s.IssueLink(t.Context(), dup, []*authd.OutboxMessage{newMail(dup)})
		wantErr(t, err, authd.ErrConflict, "IssueLink with a stored hash")
	}
	if ms := ls.mails(t, s); len(ms) != 0 {
		t.Fatalf("mails enqueued by refused IssueLink calls: %q", messageIDs(ms))
	}
	checkLink(t, "the stored link after the conflicts", old, ls.take(t, s, old.Hash, authd.LinkRecover))
}

func (ls linkSuite) issueConflictOnMail(t *testing.T) {
	s := ls.newStore(t)
	user := NewID("user")
	old := newLink(user, authd.LinkChangeEmail)
	ls.issue(t, s, old)
	taken := newMessage(Now())
	mustOK(t, s.Enqueue(t.Context(), taken), "Enqueue")
	l := newLink(user, authd.LinkChangeEmail)
	fresh, dup := newMail(l), newMail(l)
	dup.ID = taken.ID
	wantErr(t, s.IssueLink(t.Context(), l, []*authd.OutboxMessage{fresh, dup}), authd.ErrConflict, "IssueLink with a taken mail id")
	ls.gone(t, s, l.Hash, "TakeLink of the refused link")
	if ms := ls.mails(t, s); len(ms) != 0 {
		t.Fatalf("mails enqueued by a refused IssueLink: %q", messageIDs(ms))
	}
	checkLink(t, "the user's link after the conflict", old, ls.take(t, s, old.Hash, authd.LinkChangeEmail))
}

func (ls linkSuite) createUserWithLink(t *testing.T) {
	s := ls.newStore(t)
	for _, verified := range []bool{false, true} {
		u := newUser()
		u.EmailVerified = verified
		l := newLink(u.ID, authd.LinkVerifyEmail)
		l.Email = u.Email
		m := newMail(l)
		mustOK(t, s.CreateUserWithLink(t.Context(), u, l, []*authd.OutboxMessage{m}), "CreateUserWithLink")
		got, err := s.UserByID(t.Context(), u.ID)
		mustOK(t, err, "UserByID")
		checkUser(t, "the user CreateUserWithLink created", u, got)
		now := Now().Add(time.Minute)
		ms := ls.mailsAt(t, s, now)
		if len(ms) != 1 {
			t.Fatalf("Claim after CreateUserWithLink returned %q, want [%s]", messageIDs(ms), m.ID)
		}
		checkMessage(t, "the mail", claimed(m, now, time.Minute), ms[0])
		checkLink(t, "the link", l, ls.take(t, s, l.Hash, authd.LinkVerifyEmail))
	}
}

func (ls linkSuite) createConflictOnUser(t *testing.T) {
	s := ls.newStore(t)
	u := newUser()
	mustOK(t, s.CreateUser(t.Context(), u), "CreateUser")
	sameID, sameEmail := newUser(), newUser()
	sameID.ID, sameEmail.Email = u.ID, u.Email
	for _, v := range []*authd.User{sameID, sameEmail} {
		l := newLink(v.ID, authd.LinkVerifyEmail)
		wantErr(t, s.CreateUserWithLink(t.Context(), v, l, []*authd.OutboxMessage{newMail(l)}), authd.ErrConflict,
			"CreateUserWithLink of a taken id or email")
		ls.gone(t, s, l.Hash, "TakeLink of the refused user's link")
	}
	if ms := ls.mails(t, s); len(ms) != 0 {
		t.Fatalf("mails enqueued by refused calls: %q", messageIDs(ms))
	}
	_, err := s.UserByEmail(t.Context(), sameID.Email)
	wantErr(t, err, authd.ErrNotFound, "UserByEmail of the refused user")
	got, err := s.UserByID(t.Context(), u.ID)
	mustOK(t, err, "UserByID")
	checkUser(t, "the first user", u, got)
}

func (ls linkSuite) createConflictOnLink(t *testing.T) {
	s := ls.newStore(t)
	stored := newLink(NewID("user"), authd.LinkRecover)
	ls.issue(t, s, stored)
	taken := newMessage(Now())
	mustOK(t, s.Enqueue(t.Context(), taken), "Enqueue")

	u := newUser()
	l := newLink(u.ID, authd.LinkVerifyEmail)
	l.Hash = stored.Hash
	wantErr(t, s.CreateUserWithLink(t.Context(), u, l, []*authd.OutboxMessage{newMail(l)}), authd.ErrConflict,
		"CreateUserWithLink with a stored hash")
	v := newUser()
	m := newMail(newLink(v.ID, authd.LinkVerifyEmail))
	m.ID = taken.ID
	wantErr(t, s.CreateUserWithLink(t.Context(), v, newLink(v.ID, authd.LinkVerifyEmail), []*authd.OutboxMessage{m}), authd.ErrConflict,
		"CreateUserWithLink with a taken mail id")
	for _, x := range []*authd.User{u, v} {
		_, err := s.UserByID(t.Context(), x.ID)
		wantErr(t, err, authd.ErrNotFound, "UserByID of a user whose link was refused")
		_, err = s.UserByEmail(t.Context(), x.Email)
		wantErr(t, err, authd.ErrNotFound, "UserByEmail of a user whose link was refused")
	}
	if ms := ls.mails(t, s); len(ms) != 0 {
		t.Fatalf("mails enqueued by refused calls: %q", messageIDs(ms))
	}
	checkLink(t, "the stored link", stored, ls.take(t, s, stored.Hash, authd.LinkRecover))
}

func (ls linkSuite) takeOnce(t *testing.T) {
	s := ls.newStore(t)
	l := newLink(NewID("user"), authd.LinkRecover)
	ls.issue(t, s, l)
	checkLink(t, "TakeLink", l, ls.take(t, s, l.Hash, allPurposes...))
	ls.gone(t, s, l.Hash, "a second TakeLink")
}

func (ls linkSuite) takeOtherPurpose(t *testing.T) {
	s := ls.newStore(t)
	l := newLink(NewID("user"), authd.LinkVerifyEmail)
	ls.issue(t, s, l)
	// NOTE: a verification link never resets a password (SECURITY.md E1).
	for _, ps := range [][]string{{authd.LinkRecover}, {authd.LinkRecover, authd.LinkChangeEmail}, nil, {}, {"verify"}, {"VERIFY_EMAIL"}} {
		_, err := s.TakeLink(t.Context(), l.Hash, ps, Now())
		wantErr(t, err, authd.ErrNotFound, fmt.Sprintf("TakeLink of a verify_email link for %q", ps))
	}
	checkLink(t, "TakeLink for its own purpose", l, ls.take(t, s, l.Hash, authd.LinkChangeEmail, authd.LinkVerifyEmail))
}

func (ls linkSuite) takeExpired(t *testing.T) {
	s := ls.newStore(t)
	l := newLink(NewID("user"), authd.LinkRecover)
	ls.issue(t, s, l)
	for _, now := range []time.Time{l.ExpiresAt, l.ExpiresAt.Add(time.Microsecond), l.ExpiresAt.Add(time.Hour)} {
		_, err := s.TakeLink(t.Context(), l.Hash, allPurposes, now)
		wantErr(t, err, authd.ErrNotFound, "TakeLink at "+fmtTime(now)+", not before ExpiresAt")
	}
	got, err := s.TakeLink(t.Context(), l.Hash, allPurposes, l.ExpiresAt.Add(-time.Microsecond))
	mustOK(t, err, "TakeLink just before ExpiresAt")
	checkLink(t, "TakeLink just before ExpiresAt", l, got)
}

func (ls linkSuite) takeUnknown(t *testing.T) {
	s := ls.newStore(t)
	l := newLink(NewID("user"), authd.LinkRecover)
	ls.issue(t, s, l)
	for _, h := range [][]byte{NewHash(), nil, l.Hash[:31], append(slices.Clone(l.Hash), 0)} {
		_, err := s.TakeLink(t.Context(), h, allPurposes, Now())
		wantErr(t, err, authd.ErrNotFound, fmt.Sprintf("TakeLink(%x)", h))
	}
	ls.take(t, s, l.Hash, authd.LinkRecover)
}

func (ls linkSuite) takeConcurrently(t *testing.T) {
	s := ls.newStore(t)
	l := newLink(NewID("user"), authd.LinkRecover)
	ls.issue(t, s, l)
	const n = 16
	got := make([]*authd.Link, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			got[i], errs[i] = s.TakeLink(t.Context(), l.Hash, allPurposes, Now())
		})
	}
	close(start)
	wg.Wait()
	winners := 0
	for i := range n {
		switch {
		case errs[i] == nil:
			winners++
			checkLink(t, "the link taken", l, got[i])
		case !errors.Is(errs[i], authd.ErrNotFound):
			t.Fatalf("TakeLink %d: %v, want the link or ErrNotFound", i, errs[i])
		}
	}
	if winners != 1 {
		t.Fatalf("%d of %d concurrent TakeLink calls got the link, want exactly one", winners, n)
	}
}

func (ls linkSuite) deleteBefore(t *testing.T) {
	s := ls.newStore(t)
	now := Now()
	t0 := now.Add(time.Hour)
	var early, late []*authd.Link
	for i, d := range []time.Duration{-time.Minute, -time.Microsecond, 0, time.Microsecond, time.Minute} {
		l := newLink(NewID("user"), allPurposes[i%len(allPurposes)])
		l.ExpiresAt = t0.Add(d)
		ls.issue(t, s, l)
		if d < 0 {
			early = append(early, l)
		} else {
			late = append(late, l)
		}
	}
	n, err := s.DeleteLinksBefore(t.Context(), t0)
	mustOK(t, err, "DeleteLinksBefore")
	if n != len(early) {
		t.Fatalf("DeleteLinksBefore returned %d, want %d", n, len(early))
	}
	for _, l := range early {
		ls.gone(t, s, l.Hash, "TakeLink of a link DeleteLinksBefore deleted")
	}
	for _, l := range late {
		checkLink(t, "a link expiring at or after t", l, ls.take(t, s, l.Hash, l.Purpose))
	}
	if n, err := s.DeleteLinksBefore(t.Context(), t0); err != nil || n != 0 {
		t.Fatalf("DeleteLinksBefore again: %d, %v; want 0", n, err)
	}
}

func (ls linkSuite) honoursCancellation(t *testing.T) {
	s := ls.newStore(t)
	l := newLink(NewID("user"), authd.LinkRecover)
	ls.issue(t, s, l)
	ctx := cancelled(t)
	m := newLink(NewID("user"), authd.LinkRecover)
	wantCanceled(t, s.IssueLink(ctx, m, []*authd.OutboxMessage{newMail(m)}), "IssueLink")
	u := newUser()
	n := newLink(u.ID, authd.LinkVerifyEmail)
	wantCanceled(t, s.CreateUserWithLink(ctx, u, n, []*authd.OutboxMessage{newMail(n)}), "CreateUserWithLink")
	_, err := s.TakeLink(ctx, l.Hash, allPurposes, Now())
	wantCanceled(t, err, "TakeLink")
	_, err = s.DeleteLinksBefore(ctx, l.ExpiresAt.Add(time.Hour))
	wantCanceled(t, err, "DeleteLinksBefore")
	// Nothing the cancelled calls asked for happened.
	ls.gone(t, s, m.Hash, "TakeLink of the link issued with a cancelled context")
	ls.gone(t, s, n.Hash, "TakeLink of the link created with a cancelled context")
	_, err = s.UserByID(t.Context(), u.ID)
	wantErr(t, err, authd.ErrNotFound, "UserByID of the user created with a cancelled context")
	if ms := ls.mails(t, s); len(ms) != 0 {
		t.Fatalf("mails enqueued with a cancelled context: %q", messageIDs(ms))
	}
	checkLink(t, "the link after the cancelled calls", l, ls.take(t, s, l.Hash, authd.LinkRecover))
}
