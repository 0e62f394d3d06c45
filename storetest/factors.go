package storetest

import (
	"bytes"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
)

// RunFactorStore runs the FactorStore contract against stores made by
// newStore, which must return a fresh, empty store each time it is called.
func RunFactorStore(t *testing.T, newStore func(t *testing.T) authd.FactorStore) {
	t.Helper()
	fs := factorSuite{newStore}
	t.Run("PutTOTP inserts t, as TOTPOf returns it", fs.putTOTPThenTOTPOf)
	t.Run("PutTOTP replaces the user's TOTP: a new enrolment starts over", fs.putTOTPReplaces)
	t.Run("TOTPOf ErrNotFound when the user has none", fs.totpOfNotFound)
	t.Run("ConfirmTOTP sets Confirmed and LastStep to step", fs.confirmTOTP)
	t.Run("ConfirmTOTP ErrNotFound when the user has no TOTP", fs.confirmTOTPNotFound)
	t.Run("UseTOTPStep sets LastStep to step and reports true when the TOTP is confirmed and LastStep is below step", fs.useTOTPStep)
	t.Run("UseTOTPStep changes nothing and reports false when LastStep is not below step", fs.useTOTPStepNotAbove)
	t.Run("UseTOTPStep changes nothing and reports false when the TOTP is not confirmed", fs.useTOTPStepUnconfirmed)
	t.Run("UseTOTPStep gives true to at most one of n concurrent calls with one step", fs.useTOTPStepConcurrently)
	t.Run("UseTOTPStep ErrNotFound when there is no TOTP", fs.useTOTPStepNotFound)
	t.Run("DeleteTOTP deletes the user's TOTP", fs.deleteTOTP)
	t.Run("DeleteTOTP ErrNotFound when there is none", fs.deleteTOTPNotFound)
	t.Run("SetRecoveryCodes replaces the user's recovery codes with hashes", fs.setRecoveryCodesReplaces)
	t.Run("SetRecoveryCodes with nil or empty leaves none", fs.setRecoveryCodesNone)
	t.Run("UseRecoveryCode deletes the user's code and reports whether it was there", fs.useRecoveryCode)
	t.Run("UseRecoveryCode gives true to at most one of n concurrent calls", fs.useRecoveryCodeConcurrently)
	t.Run("RecoveryCodesLeft returns how many recovery codes the user has", fs.recoveryCodesLeft)
	t.Run("AddPasskey inserts p, as Passkeys and PasskeyByCredentialID return it", fs.addPasskeyThenRead)
	t.Run("AddPasskey ErrConflict when p.ID exists", fs.addPasskeyConflictOnID)
	t.Run("AddPasskey ErrConflict when p.CredentialID exists", fs.addPasskeyConflictOnCredentialID)
	t.Run("Passkeys returns the user's passkeys, oldest first", fs.passkeysOldestFirst)
	t.Run("Passkeys returns an empty slice when there are none", fs.passkeysEmpty)
	t.Run("PasskeyByCredentialID ErrNotFound when there is none", fs.passkeyByCredentialIDNotFound)
	t.Run("UsePasskey with count above SignCount sets SignCount and LastUsedAt and reports true", fs.usePasskeyCountUp)
	t.Run("UsePasskey with count and SignCount both zero sets LastUsedAt and reports true", fs.usePasskeyBothZero)
	t.Run("UsePasskey changes nothing and reports false when the counter did not go up", fs.usePasskeyCountNotUp)
	t.Run("UsePasskey gives true to at most one of n concurrent calls with one count", fs.usePasskeyConcurrently)
	t.Run("UsePasskey ErrNotFound for an unknown id", fs.usePasskeyNotFound)
	t.Run("RenamePasskey sets the name of the user's passkey", fs.renamePasskey)
	t.Run("RenamePasskey ErrNotFound when no such passkey is the user's", fs.renamePasskeyNotFound)
	t.Run("DeletePasskey deletes the user's passkey", fs.deletePasskey)
	t.Run("DeletePasskey ErrNotFound when no such passkey is the user's", fs.deletePasskeyNotFound)
	t.Run("DeleteFactors deletes every second factor of the user and is idempotent", fs.deleteFactors)
	t.Run("honours ctx cancellation", fs.honoursCancellation)
}

// factorSuite is what RunFactorStore's subtests share: the constructor of
// fresh stores, and the helpers over a store as methods.
type factorSuite struct {
	newStore func(t *testing.T) authd.FactorStore
}

// concurrency is how many calls the concurrency subtests make at once.
const concurrency = 20

// newTOTP returns an unconfirmed TOTP of a new user, with a random sealed
// secret whose first byte is zero (stores that treat it as a C string
// are caught).
func newTOTP() *authd.TOTP {
	return &authd.TOTP{
		UserID:    NewID("user"),
		Sealed:    NewHash(),
		CreatedAt: Now(),
	}
}

// newPasskey returns a passkey of userID created at created, never used.
func newPasskey(userID string, created time.Time) *authd.Passkey {
	return &authd.Passkey{
		ID:           NewID("pk"),
		UserID:       userID,
		Name:         "YubiKey 5C",
		CredentialID: NewHash(),
		Credential:   append(NewHash(), NewHash()...),
		CreatedAt:    created,
	}
}

func (factorSuite) putTOTP(t *testing.T, s authd.FactorStore, x *authd.TOTP) {
	t.Helper()
	mustOK(t, s.PutTOTP(t.Context(), x), "PutTOTP")
}

func (factorSuite) totpOf(t *testing.T, s authd.FactorStore, userID string) *authd.TOTP {
	t.Helper()
	got, err := s.TOTPOf(t.Context(), userID)
	mustOK(t, err, "TOTPOf")
	return got
}

// confirmed puts x confirmed at step.
func (fs factorSuite) confirmed(t *testing.T, s authd.FactorStore, x *authd.TOTP, step int64) {
	t.Helper()
	fs.putTOTP(t, s, x)
	mustOK(t, s.ConfirmTOTP(t.Context(), x.UserID, step), "ConfirmTOTP")
	x.Confirmed, x.LastStep = true, step
}

func (fs factorSuite) useStep(t *testing.T, s authd.FactorStore, userID string, step int64) bool {
	t.Helper()
	ok, err := s.UseTOTPStep(t.Context(), userID, step)
	mustOK(t, err, fmt.Sprintf("UseTOTPStep(%d)", step))
	return ok
}

func (factorSuite) left(t *testing.T, s authd.FactorStore, userID string) int {
	t.Helper()
	n, err := s.RecoveryCodesLeft(t.Context(), userID)
	mustOK(t, err, "RecoveryCodesLeft")
	return n
}

func (factorSuite) useCode(t *testing.T, s authd.FactorStore, userID string, hash []byte) bool {
	t.Helper()
	ok, err := s.UseRecoveryCode(t.Context(), userID, hash)
	mustOK(t, err, "UseRecoveryCode")
	return ok
}

func (factorSuite) addPasskey(t *testing.T, s authd.FactorStore, ps ...*authd.Passkey) {
	t.Helper()
	for _, p := range ps {
		mustOK(t, s.AddPasskey(t.Context(), p), "AddPasskey "+p.ID)
	}
}

func (factorSuite) passkey(t *testing.T, s authd.FactorStore, p *authd.Passkey) *authd.Passkey {
	t.Helper()
	got, err := s.PasskeyByCredentialID(t.Context(), p.CredentialID)
	mustOK(t, err, "PasskeyByCredentialID "+p.ID)
	return got
}

// passkeys fails t unless the user's passkeys are want, in order.
func (factorSuite) passkeys(t *testing.T, s authd.FactorStore, userID string, want ...*authd.Passkey) {
	t.Helper()
	got, err := s.Passkeys(t.Context(), userID)
	mustOK(t, err, "Passkeys")
	if len(got) != len(want) {
		t.Fatalf("Passkeys: got %s, want %s", passkeyIDs(got), passkeyIDs(want))
	}
	for i := range want {
		checkPasskey(t, fmt.Sprintf("Passkeys[%d]", i), want[i], got[i])
	}
}

func (fs factorSuite) usePasskey(t *testing.T, s authd.FactorStore, id string, count uint32, at time.Time) bool {
	t.Helper()
	ok, err := s.UsePasskey(t.Context(), id, count, at)
	mustOK(t, err, fmt.Sprintf("UsePasskey(%d)", count))
	return ok
}

// codes returns n fresh recovery code hashes.
func codes(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = NewHash()
	}
	return out
}

func (fs factorSuite) putTOTPThenTOTPOf(t *testing.T) {
	s := fs.newStore(t)
	a, b := newTOTP(), newTOTP()
	b.Confirmed, b.LastStep = true, 59_333_333
	fs.putTOTP(t, s, a)
	fs.putTOTP(t, s, b)
	checkTOTP(t, "TOTPOf a", a, fs.totpOf(t, s, a.UserID))
	checkTOTP(t, "TOTPOf b", b, fs.totpOf(t, s, b.UserID))
}

func (fs factorSuite) putTOTPReplaces(t *testing.T) {
	// Reading: "replaces" is every field, Confirmed and LastStep
	// included: the new enrolment is stored as given.
	s := fs.newStore(t)
	old := newTOTP()
	fs.confirmed(t, s, old, 1000)
	other := newTOTP()
	fs.confirmed(t, s, other, 7)
	fresh := newTOTP()
	fresh.UserID, fresh.CreatedAt = old.UserID, old.CreatedAt.Add(time.Hour)
	fs.putTOTP(t, s, fresh)
	checkTOTP(t, "TOTPOf after a new enrolment", fresh, fs.totpOf(t, s, old.UserID))
	checkTOTP(t, "the other user's TOTP", other, fs.totpOf(t, s, other.UserID))
	if fs.useStep(t, s, old.UserID, 2000) {
		t.Fatal("UseTOTPStep of the new, unconfirmed enrolment: true")
	}
}

func (fs factorSuite) totpOfNotFound(t *testing.T) {
	s := fs.newStore(t)
	x := newTOTP()
	fs.putTOTP(t, s, x)
	for _, id := range []string{NewID("user"), "", x.UserID + "x", x.UserID[:len(x.UserID)-1]} {
		_, err := s.TOTPOf(t.Context(), id)
		wantErr(t, err, authd.ErrNotFound, fmt.Sprintf("TOTPOf(%q)", id))
	}
}

func (fs factorSuite) confirmTOTP(t *testing.T) {
	// Reading: ConfirmTOTP sets LastStep to step whatever it was: the
	// confirmation is the first code accepted.
	s := fs.newStore(t)
	x, other := newTOTP(), newTOTP()
	x.LastStep = 50
	fs.putTOTP(t, s, x)
	fs.putTOTP(t, s, other)
	mustOK(t, s.ConfirmTOTP(t.Context(), x.UserID, 40), "ConfirmTOTP")
	want := *x
	want.Confirmed, want.LastStep = true, 40
	checkTOTP(t, "TOTPOf after ConfirmTOTP", &want, fs.totpOf(t, s, x.UserID))
	checkTOTP(t, "the other user's TOTP", other, fs.totpOf(t, s, other.UserID))
}

func (fs factorSuite) confirmTOTPNotFound(t *testing.T) {
	s := fs.newStore(t)
	x := newTOTP()
	fs.putTOTP(t, s, x)
	wantErr(t, s.ConfirmTOTP(t.Context(), NewID("user"), 1), authd.ErrNotFound, "ConfirmTOTP of a user without TOTP")
	checkTOTP(t, "the existing TOTP", x, fs.totpOf(t, s, x.UserID))
}

func (fs factorSuite) useTOTPStep(t *testing.T) {
	s := fs.newStore(t)
	x, other := newTOTP(), newTOTP()
	fs.confirmed(t, s, x, 100)
	fs.confirmed(t, s, other, 100)
	for _, step := range []int64{101, 103, math.MaxInt64} {
		if !fs.useStep(t, s, x.UserID, step) {
			t.Fatalf("UseTOTPStep(%d) after step %d: false", step, x.LastStep)
		}
		x.LastStep = step
		checkTOTP(t, fmt.Sprintf("TOTPOf after UseTOTPStep(%d)", step), x, fs.totpOf(t, s, x.UserID))
	}
	checkTOTP(t, "the other user's TOTP", other, fs.totpOf(t, s, other.UserID))
}

func (fs factorSuite) useTOTPStepNotAbove(t *testing.T) {
	s := fs.newStore(t)
	x := newTOTP()
	fs.confirmed(t, s, x, 100)
	for _, step := range []int64{100, 99, 0, -1} {
		if fs.useStep(t, s, x.UserID, step) {
			t.Fatalf("UseTOTPStep(%d) after step 100: true", step)
		}
		checkTOTP(t, fmt.Sprintf("TOTPOf after UseTOTPStep(%d)", step), x, fs.totpOf(t, s, x.UserID))
	}
	if !fs.useStep(t, s, x.UserID, 101) {
		t.Fatal("UseTOTPStep(101) after the refusals: false")
	}
	if fs.useStep(t, s, x.UserID, 101) {
		t.Fatal("UseTOTPStep(101) a second time: true (a code accepted twice)")
	}
}

func (fs factorSuite) useTOTPStepUnconfirmed(t *testing.T) {
	s := fs.newStore(t)
	x := newTOTP()
	x.LastStep = 5
	fs.putTOTP(t, s, x)
	if fs.useStep(t, s, x.UserID, 1000) {
		t.Fatal("UseTOTPStep of an unconfirmed TOTP: true")
	}
	checkTOTP(t, "the unconfirmed TOTP", x, fs.totpOf(t, s, x.UserID))
}

func (fs factorSuite) useTOTPStepConcurrently(t *testing.T) {
	// Reading: "at most one is true" of calls that each could succeed
	// alone is exactly one: the first to run takes the step (a store
	// that refused them all would not be atomic, only broken).
	s := fs.newStore(t)
	x := newTOTP()
	fs.confirmed(t, s, x, 100)
	wins := race(t, concurrency, func(int) (bool, error) { return s.UseTOTPStep(t.Context(), x.UserID, 101) })
	if wins != 1 {
		t.Fatalf("%d of %d concurrent UseTOTPStep(101) reported true, want exactly 1", wins, concurrency)
	}
	x.LastStep = 101
	checkTOTP(t, "TOTPOf after the race", x, fs.totpOf(t, s, x.UserID))
}

func (fs factorSuite) useTOTPStepNotFound(t *testing.T) {
	s := fs.newStore(t)
	x := newTOTP()
	fs.confirmed(t, s, x, 1)
	ok, err := s.UseTOTPStep(t.Context(), NewID("user"), 2)
	wantErr(t, err, authd.ErrNotFound, "UseTOTPStep of a user without TOTP")
	if ok {
		t.Fatal("UseTOTPStep of a user without TOTP: true")
	}
}

func (fs factorSuite) deleteTOTP(t *testing.T) {
	s := fs.newStore(t)
	x, other := newTOTP(), newTOTP()
	fs.confirmed(t, s, x, 10)
	fs.putTOTP(t, s, other)
	mustOK(t, s.DeleteTOTP(t.Context(), x.UserID), "DeleteTOTP")
	_, err := s.TOTPOf(t.Context(), x.UserID)
	wantErr(t, err, authd.ErrNotFound, "TOTPOf after DeleteTOTP")
	_, err = s.UseTOTPStep(t.Context(), x.UserID, 11)
	wantErr(t, err, authd.ErrNotFound, "UseTOTPStep after DeleteTOTP")
	checkTOTP(t, "the other user's TOTP", other, fs.totpOf(t, s, other.UserID))
	// The user may enrol again.
	again := newTOTP()
	again.UserID = x.UserID
	fs.putTOTP(t, s, again)
	checkTOTP(t, "TOTPOf after enrolling again", again, fs.totpOf(t, s, x.UserID))
}

func (fs factorSuite) deleteTOTPNotFound(t *testing.T) {
	s := fs.newStore(t)
	x := newTOTP()
	fs.putTOTP(t, s, x)
	wantErr(t, s.DeleteTOTP(t.Context(), NewID("user")), authd.ErrNotFound, "DeleteTOTP of a user without TOTP")
	mustOK(t, s.DeleteTOTP(t.Context(), x.UserID), "DeleteTOTP")
	wantErr(t, s.DeleteTOTP(t.Context(), x.UserID), authd.ErrNotFound, "DeleteTOTP a second time")
}

func (fs factorSuite) setRecoveryCodesReplaces(t *testing.T) {
	s := fs.newStore(t)
	user, other := NewID("user"), NewID("user")
	first, second, theirs := codes(10), codes(10), codes(3)
	mustOK(t, s.SetRecoveryCodes(t.Context(), user, first), "SetRecoveryCodes")
	mustOK(t, s.SetRecoveryCodes(t.Context(), other, theirs), "SetRecoveryCodes of the other user")
	if n := fs.left(t, s, user); n != 10 {
		t.Fatalf("RecoveryCodesLeft after setting 10: %d", n)
	}
	mustOK(t, s.SetRecoveryCodes(t.Context(), user, second), "SetRecoveryCodes again")
	if n := fs.left(t, s, user); n != 10 {
		t.Fatalf("RecoveryCodesLeft after replacing 10 with 10: %d", n)
	}
	if fs.useCode(t, s, user, first[0]) {
		t.Fatal("UseRecoveryCode of a replaced code: true")
	}
	if !fs.useCode(t, s, user, second[0]) {
		t.Fatal("UseRecoveryCode of a new code: false")
	}
	if n := fs.left(t, s, other); n != 3 {
		t.Fatalf("RecoveryCodesLeft of the other user: %d, want 3", n)
	}
}

func (fs factorSuite) setRecoveryCodesNone(t *testing.T) {
	s := fs.newStore(t)
	user := NewID("user")
	for name, hashes := range map[string][][]byte{"nil": nil, "empty": {}} {
		c := codes(4)
		mustOK(t, s.SetRecoveryCodes(t.Context(), user, c), "SetRecoveryCodes")
		mustOK(t, s.SetRecoveryCodes(t.Context(), user, hashes), "SetRecoveryCodes("+name+")")
		if n := fs.left(t, s, user); n != 0 {
			t.Fatalf("RecoveryCodesLeft after SetRecoveryCodes(%s): %d, want 0", name, n)
		}
		if fs.useCode(t, s, user, c[0]) {
			t.Fatalf("UseRecoveryCode after SetRecoveryCodes(%s): true", name)
		}
	}
}

func (fs factorSuite) useRecoveryCode(t *testing.T) {
	// Reading: another user's code is not "the user's code": false, and
	// it stays the other user's.
	s := fs.newStore(t)
	user, other := NewID("user"), NewID("user")
	c, theirs := codes(3), codes(1)
	mustOK(t, s.SetRecoveryCodes(t.Context(), user, c), "SetRecoveryCodes")
	mustOK(t, s.SetRecoveryCodes(t.Context(), other, theirs), "SetRecoveryCodes of the other user")
	near := bytes.Clone(c[1])
	near[31] ^= 1
	for name, h := range map[string][]byte{
		"unknown":             NewHash(),
		"one bit off":         near,
		"prefix":              c[1][:16],
		"nil":                 nil,
		"another user's code": theirs[0],
	} {
		if fs.useCode(t, s, user, h) {
			t.Fatalf("UseRecoveryCode(%s): true", name)
		}
	}
	if n := fs.left(t, s, user); n != 3 {
		t.Fatalf("RecoveryCodesLeft after the misses: %d, want 3", n)
	}
	if !fs.useCode(t, s, user, c[1]) {
		t.Fatal("UseRecoveryCode of a code: false")
	}
	if fs.useCode(t, s, user, c[1]) {
		t.Fatal("UseRecoveryCode of a used code: true")
	}
	if n := fs.left(t, s, user); n != 2 {
		t.Fatalf("RecoveryCodesLeft after one use: %d, want 2", n)
	}
	if n := fs.left(t, s, other); n != 1 {
		t.Fatalf("RecoveryCodesLeft of the other user: %d, want 1", n)
	}
}

func (fs factorSuite) useRecoveryCodeConcurrently(t *testing.T) {
	// Reading: at most one, and since the code is there, exactly one.
	s := fs.newStore(t)
	user := NewID("user")
	c := codes(2)
	mustOK(t, s.SetRecoveryCodes(t.Context(), user, c), "SetRecoveryCodes")
	wins := race(t, concurrency, func(int) (bool, error) { return s.UseRecoveryCode(t.Context(), user, c[0]) })
	if wins != 1 {
		t.Fatalf("%d of %d concurrent UseRecoveryCode of one code reported true, want exactly 1", wins, concurrency)
	}
	if n := fs.left(t, s, user); n != 1 {
		t.Fatalf("RecoveryCodesLeft after the race: %d, want 1", n)
	}
}

func (fs factorSuite) recoveryCodesLeft(t *testing.T) {
	s := fs.newStore(t)
	user := NewID("user")
	if n := fs.left(t, s, user); n != 0 {
		t.Fatalf("RecoveryCodesLeft of a user without codes: %d", n)
	}
	c := codes(10)
	mustOK(t, s.SetRecoveryCodes(t.Context(), user, c), "SetRecoveryCodes")
	for i, h := range c {
		if !fs.useCode(t, s, user, h) {
			t.Fatalf("UseRecoveryCode %d: false", i)
		}
		if n := fs.left(t, s, user); n != len(c)-1-i {
			t.Fatalf("RecoveryCodesLeft after %d uses: %d, want %d", i+1, n, len(c)-1-i)
		}
	}
}

func (fs factorSuite) addPasskeyThenRead(t *testing.T) {
	s := fs.newStore(t)
	user := NewID("user")
	a := newPasskey(user, Now())
	b := newPasskey(user, Now().Add(time.Second))
	b.Name, b.SignCount, b.LastUsedAt = "", math.MaxUint32, Now().Add(time.Minute)
	fs.addPasskey(t, s, a, b)
	checkPasskey(t, "PasskeyByCredentialID a", a, fs.passkey(t, s, a))
	checkPasskey(t, "PasskeyByCredentialID b", b, fs.passkey(t, s, b))
	fs.passkeys(t, s, user, a, b)
}

func (fs factorSuite) addPasskeyConflictOnID(t *testing.T) {
	s := fs.newStore(t)
	p := newPasskey(NewID("user"), Now())
	fs.addPasskey(t, s, p)
	dup := newPasskey(NewID("user"), Now())
	dup.ID = p.ID
	wantErr(t, s.AddPasskey(t.Context(), dup), authd.ErrConflict, "AddPasskey with an existing id")
	_, err := s.PasskeyByCredentialID(t.Context(), dup.CredentialID)
	wantErr(t, err, authd.ErrNotFound, "PasskeyByCredentialID of the refused passkey")
	fs.passkeys(t, s, dup.UserID)
	checkPasskey(t, "the first passkey after the conflict", p, fs.passkey(t, s, p))
}

func (fs factorSuite) addPasskeyConflictOnCredentialID(t *testing.T) {
	// The credential id is the authenticator's: two accounts cannot hold
	// one credential.
	s := fs.newStore(t)
	p := newPasskey(NewID("user"), Now())
	fs.addPasskey(t, s, p)
	for _, user := range []string{p.UserID, NewID("user")} {
		dup := newPasskey(user, Now())
		dup.CredentialID = bytes.Clone(p.CredentialID)
		wantErr(t, s.AddPasskey(t.Context(), dup), authd.ErrConflict, "AddPasskey with an existing credential id")
		wantErr(t, s.RenamePasskey(t.Context(), user, dup.ID, "x"), authd.ErrNotFound, "RenamePasskey of the refused passkey")
	}
	checkPasskey(t, "the first passkey after the conflicts", p, fs.passkey(t, s, p))
	fs.passkeys(t, s, p.UserID, p)
}

func (fs factorSuite) passkeysOldestFirst(t *testing.T) {
	s := fs.newStore(t)
	user, other := NewID("user"), NewID("user")
	t0 := Now()
	// Added out of order so that insertion order is not the answer.
	mid := newPasskey(user, t0.Add(2*time.Minute))
	old := newPasskey(user, t0.Add(1*time.Minute))
	newest := newPasskey(user, t0.Add(3*time.Minute))
	elsewhere := newPasskey(other, t0)
	fs.addPasskey(t, s, mid, elsewhere, newest, old)
	fs.passkeys(t, s, user, old, mid, newest)
	fs.passkeys(t, s, other, elsewhere)
}

func (fs factorSuite) passkeysEmpty(t *testing.T) {
	s := fs.newStore(t)
	p := newPasskey(NewID("user"), Now())
	fs.addPasskey(t, s, p)
	for name, user := range map[string]string{"unknown user": NewID("user"), "empty user id": ""} {
		got, err := s.Passkeys(t.Context(), user)
		mustOK(t, err, "Passkeys "+name)
		if got == nil || len(got) != 0 {
			t.Fatalf("Passkeys of %s: got %#v, want a non-nil empty slice", name, got)
		}
	}
	mustOK(t, s.DeletePasskey(t.Context(), p.UserID, p.ID), "DeletePasskey")
	got, err := s.Passkeys(t.Context(), p.UserID)
	mustOK(t, err, "Passkeys after deleting the only one")
	if got == nil || len(got) != 0 {
		t.Fatalf("Passkeys after deleting the only one: got %#v, want a non-nil empty slice", got)
	}
}

func (fs factorSuite) passkeyByCredentialIDNotFound(t *testing.T) {
	s := fs.newStore(t)
	p := newPasskey(NewID("user"), Now())
	fs.addPasskey(t, s, p)
	near := bytes.Clone(p.CredentialID)
	near[31] ^= 1
	for name, id := range map[string][]byte{
		"unknown":     NewHash(),
		"nil":         nil,
		"empty":       {},
		"one bit off": near,
		"prefix":      p.CredentialID[:16],
		"public id":   []byte(p.ID),
	} {
		got, err := s.PasskeyByCredentialID(t.Context(), id)
		if err == nil {
			t.Fatalf("PasskeyByCredentialID(%s) returned passkey %s", name, got.ID)
		}
		wantErr(t, err, authd.ErrNotFound, "PasskeyByCredentialID("+name+")")
	}
}

func (fs factorSuite) usePasskeyCountUp(t *testing.T) {
	s := fs.newStore(t)
	p, other := newPasskey(NewID("user"), Now()), newPasskey(NewID("user"), Now())
	other.SignCount = 3
	fs.addPasskey(t, s, p, other)
	at := Now().Add(time.Minute)
	for i, count := range []uint32{1, 2, 10, math.MaxUint32} {
		at = at.Add(time.Second)
		if !fs.usePasskey(t, s, p.ID, count, at) {
			t.Fatalf("UsePasskey(%d) after %d: false", count, p.SignCount)
		}
		p.SignCount, p.LastUsedAt = count, at
		checkPasskey(t, fmt.Sprintf("the passkey after use %d", i+1), p, fs.passkey(t, s, p))
	}
	checkPasskey(t, "the other passkey", other, fs.passkey(t, s, other))
	// A counter may also start above zero.
	if !fs.usePasskey(t, s, other.ID, 4, at) {
		t.Fatal("UsePasskey(4) after 3: false")
	}
}

func (fs factorSuite) usePasskeyBothZero(t *testing.T) {
	s := fs.newStore(t)
	p := newPasskey(NewID("user"), Now())
	fs.addPasskey(t, s, p)
	at := Now().Add(time.Minute)
	for i := range 3 {
		at = at.Add(time.Second)
		if !fs.usePasskey(t, s, p.ID, 0, at) {
			t.Fatalf("UsePasskey(0) of a passkey without a counter, use %d: false", i+1)
		}
		p.LastUsedAt = at
		checkPasskey(t, fmt.Sprintf("the passkey after use %d", i+1), p, fs.passkey(t, s, p))
	}
	// A counter that appears is followed from then on.
	if !fs.usePasskey(t, s, p.ID, 5, at) {
		t.Fatal("UsePasskey(5) after 0: false")
	}
	if fs.usePasskey(t, s, p.ID, 0, at.Add(time.Second)) {
		t.Fatal("UsePasskey(0) after 5: true")
	}
}

func (fs factorSuite) usePasskeyCountNotUp(t *testing.T) {
	s := fs.newStore(t)
	p := newPasskey(NewID("user"), Now())
	p.SignCount, p.LastUsedAt = 10, Now().Add(time.Minute)
	fs.addPasskey(t, s, p)
	for _, count := range []uint32{10, 9, 1, 0} {
		if fs.usePasskey(t, s, p.ID, count, Now().Add(time.Hour)) {
			t.Fatalf("UsePasskey(%d) after 10: true (a cloned authenticator)", count)
		}
		checkPasskey(t, fmt.Sprintf("the passkey after UsePasskey(%d)", count), p, fs.passkey(t, s, p))
	}
}

func (fs factorSuite) usePasskeyConcurrently(t *testing.T) {
	// Reading: "atomically" as for UseTOTPStep: of n calls with one count
	// above SignCount exactly one is true, the others find the count
	// already there. (With both zero every call is true: the contract
	// accepts every use of an authenticator without a counter.)
	s := fs.newStore(t)
	p := newPasskey(NewID("user"), Now())
	p.SignCount = 7
	fs.addPasskey(t, s, p)
	at := Now().Add(time.Minute)
	wins := race(t, concurrency, func(int) (bool, error) { return s.UsePasskey(t.Context(), p.ID, 8, at) })
	if wins != 1 {
		t.Fatalf("%d of %d concurrent UsePasskey(8) after 7 reported true, want exactly 1", wins, concurrency)
	}
	p.SignCount, p.LastUsedAt = 8, at
	checkPasskey(t, "the passkey after the race", p, fs.passkey(t, s, p))
}

func (fs factorSuite) usePasskeyNotFound(t *testing.T) {
	s := fs.newStore(t)
	p := newPasskey(NewID("user"), Now())
	fs.addPasskey(t, s, p)
	for _, id := range []string{NewID("pk"), "", string(p.CredentialID)} {
		ok, err := s.UsePasskey(t.Context(), id, 1, Now())
		wantErr(t, err, authd.ErrNotFound, fmt.Sprintf("UsePasskey(%q)", id))
		if ok {
			t.Fatalf("UsePasskey(%q): true", id)
		}
	}
	checkPasskey(t, "the existing passkey", p, fs.passkey(t, s, p))
}

func (fs factorSuite) renamePasskey(t *testing.T) {
	s := fs.newStore(t)
	user := NewID("user")
	p, q := newPasskey(user, Now()), newPasskey(user, Now().Add(time.Second))
	fs.addPasskey(t, s, p, q)
	for _, name := range []string{"Laptop Touch ID", "Laptop Touch ID", "", "clé « bureau »"} {
		mustOK(t, s.RenamePasskey(t.Context(), user, p.ID, name), "RenamePasskey("+name+")")
		p.Name = name
		checkPasskey(t, "the renamed passkey", p, fs.passkey(t, s, p))
	}
	checkPasskey(t, "the other passkey", q, fs.passkey(t, s, q))
}

func (fs factorSuite) renamePasskeyNotFound(t *testing.T) {
	s := fs.newStore(t)
	p := newPasskey(NewID("user"), Now())
	fs.addPasskey(t, s, p)
	wantErr(t, s.RenamePasskey(t.Context(), p.UserID, NewID("pk"), "x"), authd.ErrNotFound, "RenamePasskey of an unknown id")
	wantErr(t, s.RenamePasskey(t.Context(), NewID("attacker"), p.ID, "x"), authd.ErrNotFound, "RenamePasskey of another user's passkey")
	wantErr(t, s.RenamePasskey(t.Context(), "", p.ID, "x"), authd.ErrNotFound, "RenamePasskey with an empty user id")
	checkPasskey(t, "the passkey", p, fs.passkey(t, s, p))
}

func (fs factorSuite) deletePasskey(t *testing.T) {
	s := fs.newStore(t)
	user := NewID("user")
	p, q := newPasskey(user, Now()), newPasskey(user, Now().Add(time.Second))
	fs.addPasskey(t, s, p, q)
	mustOK(t, s.DeletePasskey(t.Context(), user, p.ID), "DeletePasskey")
	_, err := s.PasskeyByCredentialID(t.Context(), p.CredentialID)
	wantErr(t, err, authd.ErrNotFound, "PasskeyByCredentialID of a deleted passkey")
	_, err = s.UsePasskey(t.Context(), p.ID, 1, Now())
	wantErr(t, err, authd.ErrNotFound, "UsePasskey of a deleted passkey")
	fs.passkeys(t, s, user, q)
	// The credential may be registered again.
	again := newPasskey(user, Now().Add(2*time.Second))
	again.CredentialID = p.CredentialID
	fs.addPasskey(t, s, again)
	fs.passkeys(t, s, user, q, again)
}

func (fs factorSuite) deletePasskeyNotFound(t *testing.T) {
	s := fs.newStore(t)
	p := newPasskey(NewID("user"), Now())
	fs.addPasskey(t, s, p)
	wantErr(t, s.DeletePasskey(t.Context(), p.UserID, NewID("pk")), authd.ErrNotFound, "DeletePasskey of an unknown id")
	wantErr(t, s.DeletePasskey(t.Context(), NewID("attacker"), p.ID), authd.ErrNotFound, "DeletePasskey of another user's passkey")
	checkPasskey(t, "the passkey", p, fs.passkey(t, s, p))
	mustOK(t, s.DeletePasskey(t.Context(), p.UserID, p.ID), "DeletePasskey")
	wantErr(t, s.DeletePasskey(t.Context(), p.UserID, p.ID), authd.ErrNotFound, "DeletePasskey a second time")
}

func (fs factorSuite) deleteFactors(t *testing.T) {
	// Reading: "idempotent" includes a user who has no factors at all:
	// nil, not ErrNotFound.
	s := fs.newStore(t)
	x, other := newTOTP(), newTOTP()
	user := x.UserID
	fs.confirmed(t, s, x, 10)
	fs.confirmed(t, s, other, 10)
	mustOK(t, s.SetRecoveryCodes(t.Context(), user, codes(5)), "SetRecoveryCodes")
	mustOK(t, s.SetRecoveryCodes(t.Context(), other.UserID, codes(2)), "SetRecoveryCodes of the other user")
	p, q := newPasskey(user, Now()), newPasskey(user, Now().Add(time.Second))
	theirs := newPasskey(other.UserID, Now())
	fs.addPasskey(t, s, p, q, theirs)

	for i := range 2 {
		mustOK(t, s.DeleteFactors(t.Context(), user), fmt.Sprintf("DeleteFactors %d", i+1))
		_, err := s.TOTPOf(t.Context(), user)
		wantErr(t, err, authd.ErrNotFound, "TOTPOf after DeleteFactors")
		if n := fs.left(t, s, user); n != 0 {
			t.Fatalf("RecoveryCodesLeft after DeleteFactors: %d", n)
		}
		fs.passkeys(t, s, user)
		_, err = s.PasskeyByCredentialID(t.Context(), p.CredentialID)
		wantErr(t, err, authd.ErrNotFound, "PasskeyByCredentialID after DeleteFactors")
	}
	mustOK(t, s.DeleteFactors(t.Context(), NewID("user")), "DeleteFactors of a user without factors")
	checkTOTP(t, "the other user's TOTP", other, fs.totpOf(t, s, other.UserID))
	if n := fs.left(t, s, other.UserID); n != 2 {
		t.Fatalf("RecoveryCodesLeft of the other user: %d, want 2", n)
	}
	fs.passkeys(t, s, other.UserID, theirs)
}

func (fs factorSuite) honoursCancellation(t *testing.T) {
	s := fs.newStore(t)
	x := newTOTP()
	user := x.UserID
	fs.confirmed(t, s, x, 10)
	c := codes(3)
	mustOK(t, s.SetRecoveryCodes(t.Context(), user, c), "SetRecoveryCodes")
	p := newPasskey(user, Now())
	p.SignCount = 5
	fs.addPasskey(t, s, p)

	ctx := cancelled(t)
	fresh := newTOTP()
	fresh.UserID = user
	wantCanceled(t, s.PutTOTP(ctx, fresh), "PutTOTP")
	_, err := s.TOTPOf(ctx, user)
	wantCanceled(t, err, "TOTPOf")
	wantCanceled(t, s.ConfirmTOTP(ctx, user, 20), "ConfirmTOTP")
	_, err = s.UseTOTPStep(ctx, user, 11)
	wantCanceled(t, err, "UseTOTPStep")
	wantCanceled(t, s.DeleteTOTP(ctx, user), "DeleteTOTP")
	wantCanceled(t, s.SetRecoveryCodes(ctx, user, nil), "SetRecoveryCodes")
	_, err = s.UseRecoveryCode(ctx, user, c[0])
	wantCanceled(t, err, "UseRecoveryCode")
	_, err = s.RecoveryCodesLeft(ctx, user)
	wantCanceled(t, err, "RecoveryCodesLeft")
	q := newPasskey(user, Now())
	wantCanceled(t, s.AddPasskey(ctx, q), "AddPasskey")
	_, err = s.Passkeys(ctx, user)
	wantCanceled(t, err, "Passkeys")
	_, err = s.PasskeyByCredentialID(ctx, p.CredentialID)
	wantCanceled(t, err, "PasskeyByCredentialID")
	_, err = s.UsePasskey(ctx, p.ID, 6, Now())
	wantCanceled(t, err, "UsePasskey")
	wantCanceled(t, s.RenamePasskey(ctx, user, p.ID, "renamed"), "RenamePasskey")
	wantCanceled(t, s.DeletePasskey(ctx, user, p.ID), "DeletePasskey")
	wantCanceled(t, s.DeleteFactors(ctx, user), "DeleteFactors")

	// Nothing changed.
	checkTOTP(t, "TOTP after cancelled calls", x, fs.totpOf(t, s, user))
	if n := fs.left(t, s, user); n != 3 {
		t.Fatalf("RecoveryCodesLeft after cancelled calls: %d, want 3", n)
	}
	fs.passkeys(t, s, user, p)
	if !fs.useStep(t, s, user, 11) {
		t.Fatal("UseTOTPStep(11) after the cancelled calls: false (a cancelled call used the step)")
	}
	if !fs.useCode(t, s, user, c[0]) {
		t.Fatal("UseRecoveryCode after the cancelled calls: false (a cancelled call used the code)")
	}
	if !fs.usePasskey(t, s, p.ID, 6, Now()) {
		t.Fatal("UsePasskey(6) after the cancelled calls: false (a cancelled call used the count)")
	}
}

// race makes n calls of f at once and returns how many reported true; an
// error fails t.
func race(t *testing.T, n int, f func(i int) (bool, error)) int {
	t.Helper()
	results := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for i := range n {
		mustOK(t, errs[i], fmt.Sprintf("call %d", i))
		if results[i] {
			wins++
		}
	}
	return wins
}

func passkeyIDs(ps []*authd.Passkey) string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return fmt.Sprintf("%q", ids)
}
