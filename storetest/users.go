package storetest

import (
	"testing"
	"time"

	"github.com/authd/authd"
)

// RunUserStore runs the UserStore contract against stores made by newStore,
// which must return a fresh, empty store each time it is called.
func RunUserStore(t *testing.T, newStore func(t *testing.T) authd.UserStore) {
	t.Helper()
	us := userSuite{newStore}
	t.Run("CreateUser then UserByID returns every field", us.createThenUserByID)
	t.Run("CreateUser then UserByEmail returns every field", us.createThenUserByEmail)
	t.Run("a user without roles reads back without roles", us.withoutRoles)
	t.Run("users are kept apart", us.keptApart)
	t.Run("CreateUser ErrConflict when the id is taken", us.createConflictOnID)
	t.Run("CreateUser ErrConflict when the email is taken", us.createConflictOnEmail)
	t.Run("email is compared exactly", us.emailComparedExactly)
	t.Run("UserByID ErrNotFound for an unknown id", us.byIDNotFound)
	t.Run("UserByEmail ErrNotFound for an unknown email", us.byEmailNotFound)
	t.Run("SetPasswordHash replaces the hash and UpdatedAt only", us.setPasswordHashOnly)
	t.Run("SetPasswordHash ErrNotFound for an unknown id", us.setPasswordHashNotFound)
	t.Run("SetPasswordHash is idempotent", us.setPasswordHashIdempotent)
	t.Run("SetLocked sets and clears the lock and UpdatedAt only", us.setLockedOnly)
	t.Run("SetLocked ErrNotFound for an unknown id", us.setLockedNotFound)
	t.Run("SetLocked is idempotent", us.setLockedIdempotent)
	t.Run("honours ctx cancellation", us.honoursCancellation)
}

// userSuite is what RunUserStore's subtests share: the constructor of fresh
// stores.
type userSuite struct {
	newStore func(t *testing.T) authd.UserStore
}

// newUser returns an unlocked user with a fresh id and a fresh, verified
// email.
func newUser() *authd.User {
	now := Now()
	return &authd.User{
		ID:            NewID("user"),
		Email:         NewID("u") + "@example.com",
		PasswordHash:  "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		Roles:         []string{"admin", "ops"},
		EmailVerified: true,
		CreatedAt:     now,
		UpdatedAt:     now.Add(time.Second),
	}
}

func (us userSuite) createThenUserByID(t *testing.T) {
	s := us.newStore(t)
	u := newUser()
	u.Locked = true
	mustOK(t, s.CreateUser(t.Context(), u), "CreateUser")
	got, err := s.UserByID(t.Context(), u.ID)
	mustOK(t, err, "UserByID")
	checkUser(t, "UserByID", u, got)
}

func (us userSuite) createThenUserByEmail(t *testing.T) {
	s := us.newStore(t)
	u := newUser()
	u.EmailVerified = false
	mustOK(t, s.CreateUser(t.Context(), u), "CreateUser")
	got, err := s.UserByEmail(t.Context(), u.Email)
	mustOK(t, err, "UserByEmail")
	checkUser(t, "UserByEmail", u, got)
}

func (us userSuite) withoutRoles(t *testing.T) {
	s := us.newStore(t)
	u := newUser()
	u.Roles = nil
	mustOK(t, s.CreateUser(t.Context(), u), "CreateUser")
	got, err := s.UserByID(t.Context(), u.ID)
	mustOK(t, err, "UserByID")
	checkUser(t, "UserByID", u, got)
}

func (us userSuite) keptApart(t *testing.T) {
	s := us.newStore(t)
	a, b := newUser(), newUser()
	b.Roles = []string{"viewer"}
	mustOK(t, s.CreateUser(t.Context(), a), "CreateUser a")
	mustOK(t, s.CreateUser(t.Context(), b), "CreateUser b")
	got, err := s.UserByID(t.Context(), b.ID)
	mustOK(t, err, "UserByID b")
	checkUser(t, "UserByID b", b, got)
	got, err = s.UserByEmail(t.Context(), a.Email)
	mustOK(t, err, "UserByEmail a")
	checkUser(t, "UserByEmail a", a, got)
}

func (us userSuite) createConflictOnID(t *testing.T) {
	s := us.newStore(t)
	u := newUser()
	mustOK(t, s.CreateUser(t.Context(), u), "CreateUser")
	dup := newUser()
	dup.ID = u.ID
	wantErr(t, s.CreateUser(t.Context(), dup), authd.ErrConflict, "CreateUser with a taken id")
	got, err := s.UserByID(t.Context(), u.ID)
	mustOK(t, err, "UserByID")
	checkUser(t, "the first user after the conflict", u, got)
	_, err = s.UserByEmail(t.Context(), dup.Email)
	wantErr(t, err, authd.ErrNotFound, "UserByEmail of the refused user")
}

func (us userSuite) createConflictOnEmail(t *testing.T) {
	s := us.newStore(t)
	u := newUser()
	mustOK(t, s.CreateUser(t.Context(), u), "CreateUser")
	dup := newUser()
	dup.Email = u.Email
	wantErr(t, s.CreateUser(t.Context(), dup), authd.ErrConflict, "CreateUser with a taken email")
	_, err := s.UserByID(t.Context(), dup.ID)
	wantErr(t, err, authd.ErrNotFound, "UserByID of the refused user")
	got, err := s.UserByEmail(t.Context(), u.Email)
	mustOK(t, err, "UserByEmail")
	checkUser(t, "the first user after the conflict", u, got)
}

func (us userSuite) emailComparedExactly(t *testing.T) {
	s := us.newStore(t)
	u := newUser()
	u.Email = NewID("Mixed") + "@Example.COM"
	mustOK(t, s.CreateUser(t.Context(), u), "CreateUser")
	for _, e := range []string{lower(u.Email), u.Email + " ", " " + u.Email, u.Email[:len(u.Email)-1]} {
		if _, err := s.UserByEmail(t.Context(), e); err == nil {
			t.Fatalf("UserByEmail(%q) found the user %q: emails must compare exactly", e, u.Email)
		} else {
			wantErr(t, err, authd.ErrNotFound, "UserByEmail("+e+")")
		}
	}
	// Callers normalise; the store does not. A differently cased email is
	// another email, not a conflict.
	other := newUser()
	other.Email = lower(u.Email)
	mustOK(t, s.CreateUser(t.Context(), other), "CreateUser with the lower-cased email")
	got, err := s.UserByEmail(t.Context(), other.Email)
	mustOK(t, err, "UserByEmail lower-cased")
	checkUser(t, "UserByEmail lower-cased", other, got)
}

func (us userSuite) byIDNotFound(t *testing.T) {
	s := us.newStore(t)
	u := newUser()
	mustOK(t, s.CreateUser(t.Context(), u), "CreateUser")
	for _, id := range []string{NewID("user"), "", u.Email} {
		_, err := s.UserByID(t.Context(), id)
		wantErr(t, err, authd.ErrNotFound, "UserByID("+id+")")
	}
}

func (us userSuite) byEmailNotFound(t *testing.T) {
	s := us.newStore(t)
	u := newUser()
	mustOK(t, s.CreateUser(t.Context(), u), "CreateUser")
	for _, e := range []string{NewID("nobody") + "@example.com", "", u.ID} {
		_, err := s.UserByEmail(t.Context(), e)
		wantErr(t, err, authd.ErrNotFound, "UserByEmail("+e+")")
	}
}

func (us userSuite) setPasswordHashOnly(t *testing.T) {
	s := us.newStore(t)
	u, v := newUser(), newUser()
	mustOK(t, s.CreateUser(t.Context(), u), "CreateUser u")
	mustOK(t, s.CreateUser(t.Context(), v), "CreateUser v")
	at := u.UpdatedAt.Add(time.Hour)
	mustOK(t, s.SetPasswordHash(t.Context(), u.ID, "$argon2id$new", at), "SetPasswordHash")
	want := *u
	want.PasswordHash, want.UpdatedAt = "$argon2id$new", at
	got, err := s.UserByID(t.Context(), u.ID)
	mustOK(t, err, "UserByID")
	checkUser(t, "user after SetPasswordHash", &want, got)
	got, err = s.UserByEmail(t.Context(), u.Email)
	mustOK(t, err, "UserByEmail")
	checkUser(t, "UserByEmail after SetPasswordHash", &want, got)
	got, err = s.UserByID(t.Context(), v.ID)
	mustOK(t, err, "UserByID other user")
	checkUser(t, "the other user", v, got)
}

func (us userSuite) setPasswordHashNotFound(t *testing.T) {
	s := us.newStore(t)
	wantErr(t, s.SetPasswordHash(t.Context(), NewID("user"), "$argon2id$x", Now()), authd.ErrNotFound, "SetPasswordHash")
}

func (us userSuite) setPasswordHashIdempotent(t *testing.T) {
	s := us.newStore(t)
	u := newUser()
	mustOK(t, s.CreateUser(t.Context(), u), "CreateUser")
	at := u.UpdatedAt.Add(time.Minute)
	mustOK(t, s.SetPasswordHash(t.Context(), u.ID, "$argon2id$new", at), "first SetPasswordHash")
	mustOK(t, s.SetPasswordHash(t.Context(), u.ID, "$argon2id$new", at), "second SetPasswordHash")
	want := *u
	want.PasswordHash, want.UpdatedAt = "$argon2id$new", at
	got, err := s.UserByID(t.Context(), u.ID)
	mustOK(t, err, "UserByID")
	checkUser(t, "user after two SetPasswordHash", &want, got)
}

func (us userSuite) setLockedOnly(t *testing.T) {
	s := us.newStore(t)
	u := newUser()
	mustOK(t, s.CreateUser(t.Context(), u), "CreateUser")
	want := *u
	at := u.UpdatedAt.Add(time.Hour)
	mustOK(t, s.SetLocked(t.Context(), u.ID, true, at), "SetLocked true")
	want.Locked, want.UpdatedAt = true, at
	got, err := s.UserByEmail(t.Context(), u.Email)
	mustOK(t, err, "UserByEmail")
	checkUser(t, "user after SetLocked(true)", &want, got)

	at = at.Add(time.Hour)
	mustOK(t, s.SetLocked(t.Context(), u.ID, false, at), "SetLocked false")
	want.Locked, want.UpdatedAt = false, at
	got, err = s.UserByID(t.Context(), u.ID)
	mustOK(t, err, "UserByID")
	checkUser(t, "user after SetLocked(false)", &want, got)
}

func (us userSuite) setLockedNotFound(t *testing.T) {
	s := us.newStore(t)
	wantErr(t, s.SetLocked(t.Context(), NewID("user"), true, Now()), authd.ErrNotFound, "SetLocked")
}

func (us userSuite) setLockedIdempotent(t *testing.T) {
	s := us.newStore(t)
	u := newUser()
	mustOK(t, s.CreateUser(t.Context(), u), "CreateUser")
	at := u.UpdatedAt.Add(time.Minute)
	mustOK(t, s.SetLocked(t.Context(), u.ID, true, at), "first SetLocked")
	mustOK(t, s.SetLocked(t.Context(), u.ID, true, at), "second SetLocked")
	want := *u
	want.Locked, want.UpdatedAt = true, at
	got, err := s.UserByID(t.Context(), u.ID)
	mustOK(t, err, "UserByID")
	checkUser(t, "user after two SetLocked", &want, got)
}

func (us userSuite) honoursCancellation(t *testing.T) {
	s := us.newStore(t)
	u := newUser()
	mustOK(t, s.CreateUser(t.Context(), u), "CreateUser")
	ctx := cancelled(t)
	v := newUser()
	wantCanceled(t, s.CreateUser(ctx, v), "CreateUser")
	_, err := s.UserByID(ctx, u.ID)
	wantCanceled(t, err, "UserByID")
	_, err = s.UserByEmail(ctx, u.Email)
	wantCanceled(t, err, "UserByEmail")
	wantCanceled(t, s.SetPasswordHash(ctx, u.ID, "$argon2id$x", Now()), "SetPasswordHash")
	wantCanceled(t, s.SetLocked(ctx, u.ID, true, Now()), "SetLocked")
	// Nothing the cancelled calls asked for happened.
	_, err = s.UserByID(t.Context(), v.ID)
	wantErr(t, err, authd.ErrNotFound, "UserByID of the user created with a cancelled context")
	got, err := s.UserByID(t.Context(), u.ID)
	mustOK(t, err, "UserByID")
	checkUser(t, "user after cancelled updates", u, got)
}

// lower is strings.ToLower for ASCII, enough for the suite's emails.
func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
