package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
)

// RunCodeStore runs the CodeStore contract against stores made by
// newStore, which must return a fresh, empty store each time it is called.
func RunCodeStore(t *testing.T, newStore func(t *testing.T) authd.CodeStore) {
	t.Helper()
	cs := codeSuite{newStore}
	t.Run("CreateCode stores every field, as RedeemCode returns it", cs.createThenRedeemReturnsEveryField)
	t.Run("CreateCode stores the code unredeemed whatever c holds", cs.createStoresUnredeemed)
	t.Run("CreateCode ErrConflict when c.Hash exists", cs.createConflictOnHash)
	t.Run("RedeemCode of a code never redeemed records UsedAt, tokenID and familyID and returns first=true", cs.redeemFirst)
	t.Run("RedeemCode of a redeemed code sets Reused and returns the first redemption with first=false", cs.redeemAgain)
	t.Run("RedeemCode gives first=true to exactly one of n concurrent calls", cs.redeemConcurrently)
	t.Run("RedeemCode redeems an expired code like any other", cs.redeemExpired)
	t.Run("RedeemCode ErrNotFound when there is no such code", cs.redeemNotFound)
	t.Run("CodeReused reports whether the code was presented again after its redemption", cs.reusedReports)
	t.Run("CodeReused ErrNotFound when there is no such code", cs.reusedNotFound)
	t.Run("DeleteCodesBefore deletes the codes whose ExpiresAt is before t and returns how many", cs.deleteBefore)
	t.Run("honours ctx cancellation", cs.honoursCancellation)
}

// codeSuite is what RunCodeStore's subtests share: the constructor of
// fresh stores, and the helpers over a store as methods.
type codeSuite struct {
	newStore func(t *testing.T) authd.CodeStore
}

// newCode returns an unredeemed code with a fresh hash and every field
// set, expiring in a minute.
func newCode() *authd.AuthCode {
	now := Now()
	return &authd.AuthCode{
		Hash:        NewHash(),
		ClientID:    NewID("client"),
		UserID:      NewID("user"),
		SessionID:   NewID("sess"),
		RedirectURI: "https://app.example.com/callback?x=1",
		Challenge:   "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		Nonce:       NewID("nonce"),
		Scopes:      []string{"openid", "email", "offline_access"},
		Audience:    []string{"https://api.example.com"},
		AuthTime:    now.Add(-time.Minute),
		AMR:         []string{"pwd", "otp"},
		ACR:         "urn:authd:acr:mfa",
		CreatedAt:   now,
		ExpiresAt:   now.Add(time.Minute),
	}
}

// create stores c or fails t.
func (codeSuite) create(t *testing.T, s authd.CodeStore, c *authd.AuthCode) {
	t.Helper()
	mustOK(t, s.CreateCode(t.Context(), c), "CreateCode")
}

// redeem redeems hash or fails t.
func (codeSuite) redeem(t *testing.T, s authd.CodeStore, hash []byte, at time.Time, tokenID, familyID string) (*authd.AuthCode, bool) {
	t.Helper()
	c, first, err := s.RedeemCode(t.Context(), hash, at, tokenID, familyID)
	mustOK(t, err, "RedeemCode")
	return c, first
}

// redeemed returns c as its redemption at at with tokenID and familyID
// saves it.
func redeemed(c *authd.AuthCode, at time.Time, tokenID, familyID string) *authd.AuthCode {
	r := *c
	r.UsedAt, r.TokenID, r.FamilyID, r.Reused = at, tokenID, familyID, false
	return &r
}

func (cs codeSuite) createThenRedeemReturnsEveryField(t *testing.T) {
	s := cs.newStore(t)
	c, d := newCode(), newCode()
	d.Audience, d.AMR, d.ACR, d.Nonce = nil, nil, "", "" // what a plain sign-in without nonce leaves empty
	for _, x := range []*authd.AuthCode{c, d} {
		cs.create(t, s, x)
	}
	at := Now()
	for _, x := range []*authd.AuthCode{c, d} {
		got, first := cs.redeem(t, s, x.Hash, at, "jti-1", "fam-1")
		if !first {
			t.Fatal("RedeemCode of a new code: first=false")
		}
		checkCode(t, "RedeemCode", redeemed(x, at, "jti-1", "fam-1"), got)
	}
}

func (cs codeSuite) createStoresUnredeemed(t *testing.T) {
	s := cs.newStore(t)
	c := newCode()
	given := *c
	given.UsedAt, given.TokenID, given.FamilyID, given.Reused = Now(), "jti-forged", "fam-forged", true
	cs.create(t, s, &given)
	reused, err := s.CodeReused(t.Context(), c.Hash)
	mustOK(t, err, "CodeReused")
	if reused {
		t.Fatal("CodeReused of a new code created with Reused=true: true, want false")
	}
	at := Now().Add(time.Second)
	got, first := cs.redeem(t, s, c.Hash, at, "jti", "")
	if !first {
		t.Fatal("RedeemCode of a new code created with UsedAt set: first=false, want true")
	}
	checkCode(t, "RedeemCode", redeemed(c, at, "jti", ""), got)
}

func (cs codeSuite) createConflictOnHash(t *testing.T) {
	s := cs.newStore(t)
	c := newCode()
	cs.create(t, s, c)
	dup := newCode()
	dup.Hash = bytes.Clone(c.Hash)
	wantErr(t, s.CreateCode(t.Context(), dup), authd.ErrConflict, "CreateCode with an existing hash")
	at := Now()
	got, _ := cs.redeem(t, s, c.Hash, at, "jti", "fam")
	checkCode(t, "the first code after the conflict", redeemed(c, at, "jti", "fam"), got)
}

func (cs codeSuite) redeemFirst(t *testing.T) {
	s := cs.newStore(t)
	c, other := newCode(), newCode()
	cs.create(t, s, c)
	cs.create(t, s, other)
	at := Now().Add(time.Second)
	got, first := cs.redeem(t, s, c.Hash, at, "jti-first", "fam-first")
	if !first {
		t.Fatal("first RedeemCode: first=false")
	}
	checkCode(t, "first RedeemCode", redeemed(c, at, "jti-first", "fam-first"), got)
	reused, err := s.CodeReused(t.Context(), c.Hash)
	mustOK(t, err, "CodeReused")
	if reused {
		t.Fatal("CodeReused after one redemption: true, want false")
	}
	// The other code is untouched.
	got, first = cs.redeem(t, s, other.Hash, at, "jti-other", "")
	if !first {
		t.Fatal("RedeemCode of the other code: first=false")
	}
	checkCode(t, "the other code", redeemed(other, at, "jti-other", ""), got)
}

func (cs codeSuite) redeemAgain(t *testing.T) {
	// Reading: "returns the code as saved" after setting Reused: the
	// second call's code has Reused true, and keeps the first
	// redemption's UsedAt, TokenID and FamilyID.
	s := cs.newStore(t)
	c := newCode()
	cs.create(t, s, c)
	at := Now()
	cs.redeem(t, s, c.Hash, at, "jti-first", "fam-first")
	want := redeemed(c, at, "jti-first", "fam-first")
	want.Reused = true
	for i := range 2 {
		got, first := cs.redeem(t, s, c.Hash, at.Add(time.Duration(i+1)*time.Second), "jti-again", "fam-again")
		if first {
			t.Fatalf("RedeemCode %d of a redeemed code: first=true", i+2)
		}
		checkCode(t, fmt.Sprintf("RedeemCode %d", i+2), want, got)
	}
}

func (cs codeSuite) redeemConcurrently(t *testing.T) {
	s := cs.newStore(t)
	c := newCode()
	cs.create(t, s, c)
	const n = 20
	type result struct {
		c     *authd.AuthCode
		first bool
		err   error
	}
	results := make([]result, n)
	at := Now()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			got, first, err := s.RedeemCode(t.Context(), c.Hash, at.Add(time.Duration(i)*time.Microsecond), fmt.Sprintf("jti-%d", i), fmt.Sprintf("fam-%d", i))
			results[i] = result{got, first, err}
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, r := range results {
		mustOK(t, r.err, fmt.Sprintf("RedeemCode %d", i))
		if r.first {
			if winner >= 0 {
				t.Fatalf("calls %d and %d both got first=true", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d concurrent calls got first=true", n)
	}
	want := redeemed(c, at.Add(time.Duration(winner)*time.Microsecond), fmt.Sprintf("jti-%d", winner), fmt.Sprintf("fam-%d", winner))
	checkCode(t, "the winner's code", want, results[winner].c)
	want.Reused = true
	for i, r := range results {
		if i != winner {
			checkCode(t, fmt.Sprintf("call %d's code", i), want, r.c)
		}
	}
	reused, err := s.CodeReused(t.Context(), c.Hash)
	mustOK(t, err, "CodeReused")
	if !reused {
		t.Fatal("CodeReused after concurrent redemptions: false")
	}
}

func (cs codeSuite) redeemExpired(t *testing.T) {
	s := cs.newStore(t)
	c := newCode()
	c.CreatedAt = c.CreatedAt.Add(-time.Hour)
	c.AuthTime = c.CreatedAt
	c.ExpiresAt = c.CreatedAt.Add(time.Minute) // in the past
	cs.create(t, s, c)
	at := Now()
	got, first := cs.redeem(t, s, c.Hash, at, "jti", "fam")
	if !first {
		t.Fatal("RedeemCode of an expired code: first=false")
	}
	checkCode(t, "RedeemCode of an expired code", redeemed(c, at, "jti", "fam"), got)
}

func (cs codeSuite) redeemNotFound(t *testing.T) {
	s := cs.newStore(t)
	c := newCode()
	cs.create(t, s, c)
	near := bytes.Clone(c.Hash)
	near[31] ^= 1
	for _, h := range [][]byte{NewHash(), near, c.Hash[:31], nil, []byte(c.ClientID)} {
		_, _, err := s.RedeemCode(t.Context(), h, Now(), "jti", "fam")
		wantErr(t, err, authd.ErrNotFound, fmt.Sprintf("RedeemCode(%x)", h))
	}
	// Nothing was redeemed on the way.
	if _, first := cs.redeem(t, s, c.Hash, Now(), "jti", "fam"); !first {
		t.Fatal("RedeemCode of the code after the misses: first=false")
	}
}

func (cs codeSuite) reusedReports(t *testing.T) {
	s := cs.newStore(t)
	c, other := newCode(), newCode()
	cs.create(t, s, c)
	cs.create(t, s, other)
	check := func(hash []byte, want bool, what string) {
		t.Helper()
		got, err := s.CodeReused(t.Context(), hash)
		mustOK(t, err, "CodeReused "+what)
		if got != want {
			t.Fatalf("CodeReused %s: %v, want %v", what, got, want)
		}
	}
	check(c.Hash, false, "of a new code")
	cs.redeem(t, s, c.Hash, Now(), "jti", "fam")
	check(c.Hash, false, "after the redemption")
	cs.redeem(t, s, other.Hash, Now(), "jti", "fam")
	cs.redeem(t, s, c.Hash, Now(), "jti2", "fam2")
	check(c.Hash, true, "after a second presentation")
	check(other.Hash, false, "of another code redeemed once")
}

func (cs codeSuite) reusedNotFound(t *testing.T) {
	s := cs.newStore(t)
	c := newCode()
	cs.create(t, s, c)
	for _, h := range [][]byte{NewHash(), nil} {
		_, err := s.CodeReused(t.Context(), h)
		wantErr(t, err, authd.ErrNotFound, fmt.Sprintf("CodeReused(%x)", h))
	}
}

func (cs codeSuite) deleteBefore(t *testing.T) {
	s := cs.newStore(t)
	cut := Now().Add(10 * time.Minute)
	mk := func(expires time.Time, redeem bool) *authd.AuthCode {
		c := newCode()
		c.ExpiresAt = expires
		cs.create(t, s, c)
		if redeem {
			cs.redeem(t, s, c.Hash, Now(), "jti", "fam")
		}
		return c
	}
	gone := []*authd.AuthCode{mk(cut.Add(-time.Minute), false), mk(cut.Add(-time.Microsecond), true)}
	kept := []*authd.AuthCode{mk(cut, false), mk(cut.Add(time.Minute), true)}
	n, err := s.DeleteCodesBefore(t.Context(), cut)
	mustOK(t, err, "DeleteCodesBefore")
	if n != len(gone) {
		t.Errorf("DeleteCodesBefore deleted %d, want %d", n, len(gone))
	}
	for _, c := range gone {
		_, err := s.CodeReused(t.Context(), c.Hash)
		wantErr(t, err, authd.ErrNotFound, "CodeReused of a deleted code")
	}
	for _, c := range kept {
		_, err := s.CodeReused(t.Context(), c.Hash)
		mustOK(t, err, "CodeReused of a code not before t")
	}
	n, err = s.DeleteCodesBefore(t.Context(), cut)
	mustOK(t, err, "second DeleteCodesBefore")
	if n != 0 {
		t.Errorf("second DeleteCodesBefore deleted %d, want 0", n)
	}
	// A deleted code's hash is free again.
	mustOK(t, s.CreateCode(t.Context(), gone[0]), "CreateCode with a deleted code's hash")
}

func (cs codeSuite) honoursCancellation(t *testing.T) {
	s := cs.newStore(t)
	c, d := newCode(), newCode()
	cs.create(t, s, c)
	ctx := cancelled(t)
	wantCanceled(t, s.CreateCode(ctx, d), "CreateCode")
	_, _, err := s.RedeemCode(ctx, c.Hash, Now(), "jti", "fam")
	wantCanceled(t, err, "RedeemCode")
	_, err = s.CodeReused(ctx, c.Hash)
	wantCanceled(t, err, "CodeReused")
	_, err = s.DeleteCodesBefore(ctx, c.ExpiresAt.Add(time.Hour))
	wantCanceled(t, err, "DeleteCodesBefore")
	_, err = s.CodeReused(t.Context(), d.Hash)
	wantErr(t, err, authd.ErrNotFound, "CodeReused of the code created with a cancelled context")
	at := Now()
	got, first := cs.redeem(t, s, c.Hash, at, "jti", "fam")
	if !first {
		t.Fatal("RedeemCode after the cancelled calls: first=false (a cancelled call redeemed it)")
	}
	checkCode(t, "the code after the cancelled calls", redeemed(c, at, "jti", "fam"), got)
}
