package storetest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
)

// RunRefreshStore runs the RefreshStore contract against stores made by
// newStore, which must return a fresh, empty store each time it is called.
func RunRefreshStore(t *testing.T, newStore func(t *testing.T) authd.RefreshStore) {
	t.Helper()
	rs := refreshSuite{newStore}
	t.Run("CreateFamily then FamilyByID returns every field", rs.createThenFamilyByID)
	t.Run("a family of the password grant reads back without client or scopes", rs.passwordGrantFamily)
	t.Run("an unbound family (no JKT) reads back unbound from every method that returns a family", rs.unboundFamily)
	t.Run("CreateFamily records the first token at f.Generation", rs.createRecordsFirstToken)
	t.Run("CreateFamily ErrConflict when the id exists", rs.createConflictOnID)
	t.Run("CreateFamily ErrConflict when the token hash exists", rs.createConflictOnTokenHash)
	t.Run("FamilyByID ErrNotFound for an unknown id", rs.familyByIDNotFound)
	t.Run("UpdateFamilyByToken ErrNotFound and fn not called when no family issued the token", rs.updateNotFoundForUnknownToken)
	t.Run("UpdateFamilyByToken calls fn with the family and the token's generation", rs.updateCallsFnWithFamilyAndGeneration)
	t.Run("UpdateFamilyByToken saves Generation, RotatedAt, LastUsedAt and RevokedAt and returns the family as saved", rs.updateSavesRotationFields)
	t.Run("UpdateFamilyByToken returns the family exactly as FamilyByID then reads it", rs.updateReturnsWhatFamilyByIDReads)
	t.Run("UpdateFamilyByToken saves no other field", rs.updateSavesNoOtherField)
	t.Run("UpdateFamilyByToken keeps JKT whatever fn does", rs.updateKeepsJKT)
	t.Run("UpdateFamilyByToken records the successor as the token of generation f.Generation", rs.updateRecordsSuccessor)
	t.Run("UpdateFamilyByToken still finds a spent token with its own generation", rs.updateFindsSpentToken)
	t.Run("UpdateFamilyByToken with a nil successor records no token", rs.updateNilSuccessorRecordsNoToken)
	t.Run("UpdateFamilyByToken saves nothing and returns fn's error when fn fails", rs.updateSavesNothingWhenFnFails)
	t.Run("UpdateFamilyByToken finds revoked and expired families", rs.updateFindsRevokedAndExpired)
	t.Run("UpdateFamilyByToken ErrConflict and nothing saved when the successor is another family's token", rs.updateConflictOnTakenSuccessor)
	t.Run("UpdateFamilyByToken accepts the same successor again for the same generation", rs.updateAcceptsSameSuccessorAgain)
	t.Run("UpdateFamilyByToken serialises concurrent calls on one family", rs.updateSerialisesConcurrentCalls)
	t.Run("RevokeFamily marks the family revoked at at", rs.revokeMarksRevokedAt)
	t.Run("RevokeFamily ErrNotFound for an unknown id", rs.revokeNotFound)
	t.Run("RevokeFamily is idempotent and keeps the first RevokedAt", rs.revokeKeepsFirstRevokedAt)
	t.Run("RevokeUserFamilies revokes only the user's live families and returns them", rs.revokeUserRevokesOnlyLive)
	t.Run("RevokeUserFamilies revokes a family past its ExpiresAt", rs.revokeUserRevokesExpired)
	t.Run("RevokeUserFamilies returns an empty slice when none and is idempotent", rs.revokeUserEmptyAndIdempotent)
	t.Run("RevokeClientFamilies revokes only the user's live families of the client and returns them", rs.revokeClientRevokesOnlyClients)
	t.Run("RevokeClientFamilies returns an empty slice when none and is idempotent", rs.revokeClientEmptyAndIdempotent)
	t.Run("DeleteFamiliesBefore deletes families expired or revoked before t with their token hashes", rs.deleteBeforeDeletesWithHashes)
	t.Run("honours ctx cancellation", rs.honoursCancellation)
}

// refreshSuite is what RunRefreshStore's subtests share: the constructor of
// fresh stores, and the helpers over a store as methods.
type refreshSuite struct {
	newStore func(t *testing.T) authd.RefreshStore
}

// newFamily returns a live family of userID at generation 1, granted to a
// client of its own and bound to a DPoP key of its own.
func newFamily(userID string) *authd.RefreshFamily {
	now := Now()
	secret := NewHash()
	secret[0] = 1
	return &authd.RefreshFamily{
		ID:         NewID("fam"),
		UserID:     userID,
		Audience:   []string{"authd", "https://api.example.com"},
		ClientID:   NewID("client"),
		Scopes:     []string{"openid", "offline_access", "email"},
		Secret:     secret,
		Generation: 1,
		CreatedAt:  now,
		LastUsedAt: now,
		ExpiresAt:  now.Add(336 * time.Hour),
		JKT:        newJKT(),
	}
}

// newJKT returns a fresh RFC 7638 thumbprint, as a DPoP-bound family
// carries it: 43 characters of base64url.
func newJKT() string {
	var b [32]byte // a SHA-256
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// rotate is what the token package does on a refresh: the next generation,
// its successor recorded.
func rotate(at time.Time, succ []byte) func(f *authd.RefreshFamily, g int) ([]byte, error) {
	return func(f *authd.RefreshFamily, g int) ([]byte, error) {
		f.Generation++
		f.RotatedAt, f.LastUsedAt = at, at
		return succ, nil
	}
}

// create stores f with a fresh first token and returns the token's hash.
func (refreshSuite) create(t *testing.T, s authd.RefreshStore, f *authd.RefreshFamily) []byte {
	t.Helper()
	h := NewHash()
	mustOK(t, s.CreateFamily(t.Context(), f, h), "CreateFamily "+f.ID)
	return h
}

func (refreshSuite) byID(t *testing.T, s authd.RefreshStore, id string) *authd.RefreshFamily {
	t.Helper()
	f, err := s.FamilyByID(t.Context(), id)
	mustOK(t, err, "FamilyByID "+id)
	return f
}

// generationOf returns the generation the store recorded for hash, without
// changing anything, or fails t.
func (refreshSuite) generationOf(t *testing.T, s authd.RefreshStore, hash []byte) (string, int) {
	t.Helper()
	var id string
	gen := -1
	_, err := s.UpdateFamilyByToken(t.Context(), hash, func(f *authd.RefreshFamily, g int) ([]byte, error) {
		id, gen = f.ID, g
		return nil, nil
	})
	mustOK(t, err, "UpdateFamilyByToken (lookup)")
	return id, gen
}

// unknownToken fails t unless UpdateFamilyByToken of hash is ErrNotFound
// without calling fn.
func (refreshSuite) unknownToken(t *testing.T, s authd.RefreshStore, hash []byte, what string) {
	t.Helper()
	called := false
	_, err := s.UpdateFamilyByToken(t.Context(), hash, func(*authd.RefreshFamily, int) ([]byte, error) {
		called = true
		return nil, nil
	})
	wantErr(t, err, authd.ErrNotFound, what)
	if called {
		t.Fatalf("%s: fn was called", what)
	}
}

func (rs refreshSuite) createThenFamilyByID(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	rs.create(t, s, f)
	got := rs.byID(t, s, f.ID)
	checkFamily(t, "FamilyByID", f, got)
	if got.Revoked() {
		t.Fatal("a new family reads back revoked")
	}
}

// passwordGrantFamily: ClientID "" and no scopes, as the password grant
// creates them (and as 0004 migrated the families before it), read back by
// every method that returns a family.
func (rs refreshSuite) passwordGrantFamily(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	f.ClientID, f.Scopes = "", nil
	h := rs.create(t, s, f)
	checkFamily(t, "FamilyByID", f, rs.byID(t, s, f.ID))
	at := f.CreatedAt.Add(time.Minute)
	got, err := s.UpdateFamilyByToken(t.Context(), h, rotate(at, NewHash()))
	mustOK(t, err, "UpdateFamilyByToken")
	want := *f
	want.Generation, want.RotatedAt, want.LastUsedAt = 2, at, at
	checkFamily(t, "UpdateFamilyByToken result", &want, got)
	revoked, err := s.RevokeUserFamilies(t.Context(), f.UserID, at)
	mustOK(t, err, "RevokeUserFamilies")
	if len(revoked) != 1 {
		t.Fatalf("RevokeUserFamilies returned %d families, want 1", len(revoked))
	}
	want.RevokedAt = at
	checkFamily(t, "RevokeUserFamilies result", &want, revoked[0])
}

// unboundFamily: JKT "", as families issued without a DPoP proof are (and
// as 0010 migrated the families before it), read back unbound by every
// method that returns a family.
func (rs refreshSuite) unboundFamily(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	f.JKT = ""
	h := rs.create(t, s, f)
	checkFamily(t, "FamilyByID", f, rs.byID(t, s, f.ID))
	at := f.CreatedAt.Add(time.Minute)
	got, err := s.UpdateFamilyByToken(t.Context(), h, rotate(at, NewHash()))
	mustOK(t, err, "UpdateFamilyByToken")
	want := *f
	want.Generation, want.RotatedAt, want.LastUsedAt = 2, at, at
	checkFamily(t, "UpdateFamilyByToken result", &want, got)
	revoked, err := s.RevokeClientFamilies(t.Context(), f.UserID, f.ClientID, at)
	mustOK(t, err, "RevokeClientFamilies")
	if len(revoked) != 1 {
		t.Fatalf("RevokeClientFamilies returned %d families, want 1", len(revoked))
	}
	want.RevokedAt = at
	checkFamily(t, "RevokeClientFamilies result", &want, revoked[0])
}

func (rs refreshSuite) createRecordsFirstToken(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	f.Generation = 7
	h := rs.create(t, s, f)
	id, gen := rs.generationOf(t, s, h)
	if id != f.ID || gen != 7 {
		t.Fatalf("first token: family %s generation %d, want family %s generation 7", id, gen, f.ID)
	}
}

func (rs refreshSuite) createConflictOnID(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	rs.create(t, s, f)
	dup := newFamily(NewID("user"))
	dup.ID = f.ID
	h := NewHash()
	wantErr(t, s.CreateFamily(t.Context(), dup, h), authd.ErrConflict, "CreateFamily with an existing id")
	rs.unknownToken(t, s, h, "UpdateFamilyByToken with the refused family's token")
	checkFamily(t, "the first family after the conflict", f, rs.byID(t, s, f.ID))
}

func (rs refreshSuite) createConflictOnTokenHash(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	h := rs.create(t, s, f)
	dup := newFamily(f.UserID)
	wantErr(t, s.CreateFamily(t.Context(), dup, bytes.Clone(h)), authd.ErrConflict, "CreateFamily with an existing token hash")
	_, err := s.FamilyByID(t.Context(), dup.ID)
	wantErr(t, err, authd.ErrNotFound, "FamilyByID of the refused family")
	if id, _ := rs.generationOf(t, s, h); id != f.ID {
		t.Fatalf("the token now belongs to family %s, want %s", id, f.ID)
	}
}

func (rs refreshSuite) familyByIDNotFound(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	rs.create(t, s, f)
	for _, id := range []string{NewID("fam"), "", f.UserID} {
		_, err := s.FamilyByID(t.Context(), id)
		wantErr(t, err, authd.ErrNotFound, "FamilyByID("+id+")")
	}
}

func (rs refreshSuite) updateNotFoundForUnknownToken(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	h := rs.create(t, s, f)
	near := bytes.Clone(h)
	near[31] ^= 1
	rs.unknownToken(t, s, NewHash(), "UpdateFamilyByToken of an unknown hash")
	rs.unknownToken(t, s, near, "UpdateFamilyByToken of a hash one bit off")
	rs.unknownToken(t, s, nil, "UpdateFamilyByToken of a nil hash")
	rs.unknownToken(t, s, []byte(f.ID), "UpdateFamilyByToken of the family id")
}

func (rs refreshSuite) updateCallsFnWithFamilyAndGeneration(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	f.Generation = 3
	h := rs.create(t, s, f)
	calls := 0
	got, err := s.UpdateFamilyByToken(t.Context(), h, func(g *authd.RefreshFamily, gen int) ([]byte, error) {
		calls++
		checkFamily(t, "fn's family", f, g)
		if gen != 3 {
			t.Errorf("fn's generation: got %d, want 3", gen)
		}
		return nil, nil
	})
	mustOK(t, err, "UpdateFamilyByToken")
	if calls != 1 {
		t.Fatalf("fn called %d times, want 1", calls)
	}
	checkFamily(t, "UpdateFamilyByToken result (nothing changed)", f, got)
	checkFamily(t, "FamilyByID (nothing changed)", f, rs.byID(t, s, f.ID))
}

func (rs refreshSuite) updateSavesRotationFields(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	other := newFamily(f.UserID)
	h := rs.create(t, s, f)
	rs.create(t, s, other)
	at := f.CreatedAt.Add(time.Hour)
	got, err := s.UpdateFamilyByToken(t.Context(), h, func(g *authd.RefreshFamily, gen int) ([]byte, error) {
		g.Generation = 5
		g.RotatedAt = at
		g.LastUsedAt = at.Add(time.Second)
		g.RevokedAt = at.Add(2 * time.Second)
		return nil, nil
	})
	mustOK(t, err, "UpdateFamilyByToken")
	want := *f
	want.Generation, want.RotatedAt, want.LastUsedAt, want.RevokedAt = 5, at, at.Add(time.Second), at.Add(2*time.Second)
	checkFamily(t, "UpdateFamilyByToken result", &want, got)
	checkFamily(t, "FamilyByID after the update", &want, rs.byID(t, s, f.ID))
	checkFamily(t, "the other family", other, rs.byID(t, s, other.ID))
}

// Two stores once disagreed here: one returned the times fn set, the other
// the times as stored (at Precision). The caller must see what every later
// read sees.
func (rs refreshSuite) updateReturnsWhatFamilyByIDReads(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	h := rs.create(t, s, f)
	at := f.CreatedAt.Add(time.Hour + 123456789*time.Nanosecond) // finer than Precision
	got, err := s.UpdateFamilyByToken(t.Context(), h, rotate(at, NewHash()))
	mustOK(t, err, "UpdateFamilyByToken")
	checkFamily(t, "UpdateFamilyByToken result against FamilyByID", rs.byID(t, s, f.ID), got)
	unchanged, err := s.UpdateFamilyByToken(t.Context(), h, func(*authd.RefreshFamily, int) ([]byte, error) { return nil, nil })
	mustOK(t, err, "UpdateFamilyByToken that changes nothing")
	checkFamily(t, "UpdateFamilyByToken that changes nothing", rs.byID(t, s, f.ID), unchanged)
}

func (rs refreshSuite) updateSavesNoOtherField(t *testing.T) {
	// Reading: the parenthesis names the fields that are saved; the
	// others (ID, UserID, Audience, ClientID, Scopes, Secret, CreatedAt,
	// ExpiresAt, JKT) are fixed at creation.
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	h := rs.create(t, s, f)
	at := f.CreatedAt.Add(time.Hour)
	got, err := s.UpdateFamilyByToken(t.Context(), h, func(g *authd.RefreshFamily, gen int) ([]byte, error) {
		g.LastUsedAt = at
		g.UserID = NewID("thief")
		g.Audience = []string{"elsewhere"}
		g.ClientID = NewID("thief")
		g.Scopes = []string{"admin"}
		g.Secret = NewHash()
		g.CreatedAt = at
		g.ExpiresAt = at.Add(1000 * time.Hour)
		g.JKT = newJKT()
		return nil, nil
	})
	mustOK(t, err, "UpdateFamilyByToken")
	want := *f
	want.LastUsedAt = at
	checkFamily(t, "UpdateFamilyByToken result", &want, got)
	checkFamily(t, "FamilyByID", &want, rs.byID(t, s, f.ID))
}

// updateKeepsJKT: a refresh never binds, rebinds or unbinds a family, even
// when fn changes JKT along with the fields that are saved.
func (rs refreshSuite) updateKeepsJKT(t *testing.T) {
	s := rs.newStore(t)
	unbound := newFamily(NewID("user"))
	unbound.JKT = ""
	for _, c := range []struct {
		name string
		f    *authd.RefreshFamily
		jkt  string
	}{
		{"a bound family rebound by fn", newFamily(NewID("user")), newJKT()},
		{"a bound family unbound by fn", newFamily(NewID("user")), ""},
		{"an unbound family bound by fn", unbound, newJKT()},
	} {
		h := rs.create(t, s, c.f)
		at := c.f.CreatedAt.Add(time.Minute)
		got, err := s.UpdateFamilyByToken(t.Context(), h, func(g *authd.RefreshFamily, gen int) ([]byte, error) {
			g.JKT = c.jkt
			return rotate(at, NewHash())(g, gen)
		})
		mustOK(t, err, c.name)
		want := *c.f
		want.Generation, want.RotatedAt, want.LastUsedAt = 2, at, at
		checkFamily(t, c.name+": UpdateFamilyByToken result", &want, got)
		checkFamily(t, c.name+": FamilyByID", &want, rs.byID(t, s, c.f.ID))
	}
}

func (rs refreshSuite) updateRecordsSuccessor(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	h1 := rs.create(t, s, f)
	h2 := NewHash()
	got, err := s.UpdateFamilyByToken(t.Context(), h1, rotate(f.CreatedAt.Add(time.Minute), h2))
	mustOK(t, err, "UpdateFamilyByToken")
	if got.Generation != 2 {
		t.Fatalf("saved generation %d, want 2", got.Generation)
	}
	id, gen := rs.generationOf(t, s, h2)
	if id != f.ID || gen != 2 {
		t.Fatalf("successor: family %s generation %d, want family %s generation 2", id, gen, f.ID)
	}
}

func (rs refreshSuite) updateFindsSpentToken(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	h1 := rs.create(t, s, f)
	h2, h3 := NewHash(), NewHash()
	at := f.CreatedAt.Add(time.Minute)
	_, err := s.UpdateFamilyByToken(t.Context(), h1, rotate(at, h2))
	mustOK(t, err, "first rotation")
	_, err = s.UpdateFamilyByToken(t.Context(), h2, rotate(at.Add(time.Minute), h3))
	mustOK(t, err, "second rotation")
	for _, c := range []struct {
		hash []byte
		gen  int
	}{{h1, 1}, {h2, 2}, {h3, 3}} {
		_, err := s.UpdateFamilyByToken(t.Context(), c.hash, func(g *authd.RefreshFamily, gen int) ([]byte, error) {
			if gen != c.gen || g.Generation != 3 {
				t.Errorf("token of generation %d: fn got generation %d and family generation %d, want %d and 3", c.gen, gen, g.Generation, c.gen)
			}
			if !g.RotatedAt.Equal(at.Add(time.Minute)) {
				t.Errorf("fn got RotatedAt %s, want %s", fmtTime(g.RotatedAt), fmtTime(at.Add(time.Minute)))
			}
			return nil, nil
		})
		mustOK(t, err, fmt.Sprintf("UpdateFamilyByToken of generation %d", c.gen))
	}
}

func (rs refreshSuite) updateNilSuccessorRecordsNoToken(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	h := rs.create(t, s, f)
	got, err := s.UpdateFamilyByToken(t.Context(), h, rotate(f.CreatedAt.Add(time.Minute), nil))
	mustOK(t, err, "UpdateFamilyByToken")
	if got.Generation != 2 {
		t.Fatalf("saved generation %d, want 2", got.Generation)
	}
	if _, gen := rs.generationOf(t, s, h); gen != 1 {
		t.Fatalf("the presented token now has generation %d, want 1", gen)
	}
}

func (rs refreshSuite) updateSavesNothingWhenFnFails(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	h := rs.create(t, s, f)
	succ := NewHash()
	boom := errors.New("storetest: fn refused")
	got, err := s.UpdateFamilyByToken(t.Context(), h, func(g *authd.RefreshFamily, gen int) ([]byte, error) {
		g.Generation = 9
		g.RevokedAt = Now()
		g.LastUsedAt = Now().Add(time.Hour)
		return succ, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("UpdateFamilyByToken: got error %v, want fn's error %v", err, boom)
	}
	if got != nil {
		t.Errorf("UpdateFamilyByToken returned a family (%+v) with fn's error", got)
	}
	checkFamily(t, "FamilyByID after fn failed", f, rs.byID(t, s, f.ID))
	rs.unknownToken(t, s, succ, "UpdateFamilyByToken of the successor fn returned with its error")
}

func (rs refreshSuite) updateFindsRevokedAndExpired(t *testing.T) {
	// Reading: "no family issued tokenHash" is the only not-found case;
	// the caller decides what a revoked or expired family means (reuse
	// detection needs to see it).
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	f.CreatedAt = f.CreatedAt.Add(-400 * time.Hour)
	f.LastUsedAt = f.CreatedAt
	f.ExpiresAt = f.CreatedAt.Add(336 * time.Hour) // in the past
	h := rs.create(t, s, f)
	at := Now()
	mustOK(t, s.RevokeFamily(t.Context(), f.ID, at), "RevokeFamily")
	var seen *authd.RefreshFamily
	_, err := s.UpdateFamilyByToken(t.Context(), h, func(g *authd.RefreshFamily, gen int) ([]byte, error) {
		c := *g
		seen = &c
		return nil, nil
	})
	mustOK(t, err, "UpdateFamilyByToken of a revoked, expired family")
	want := *f
	want.RevokedAt = at
	checkFamily(t, "fn's family", &want, seen)
}

func (rs refreshSuite) updateConflictOnTakenSuccessor(t *testing.T) {
	s := rs.newStore(t)
	f, other := newFamily(NewID("user")), newFamily(NewID("user"))
	h := rs.create(t, s, f)
	taken := rs.create(t, s, other)
	_, err := s.UpdateFamilyByToken(t.Context(), h, rotate(f.CreatedAt.Add(time.Minute), bytes.Clone(taken)))
	wantErr(t, err, authd.ErrConflict, "UpdateFamilyByToken with a taken successor hash")
	checkFamily(t, "the family after the conflict", f, rs.byID(t, s, f.ID))
	if id, gen := rs.generationOf(t, s, taken); id != other.ID || gen != 1 {
		t.Fatalf("the taken hash now names family %s generation %d, want %s generation 1", id, gen, other.ID)
	}
}

func (rs refreshSuite) updateAcceptsSameSuccessorAgain(t *testing.T) {
	// Reading: a retry inside the grace window derives the same
	// successor (RefreshFamily's NOTE); recording what is already
	// recorded is not a conflict.
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	h1 := rs.create(t, s, f)
	h2 := NewHash()
	at := f.CreatedAt.Add(time.Minute)
	_, err := s.UpdateFamilyByToken(t.Context(), h1, rotate(at, h2))
	mustOK(t, err, "rotation")
	got, err := s.UpdateFamilyByToken(t.Context(), h1, func(g *authd.RefreshFamily, gen int) ([]byte, error) {
		g.LastUsedAt = at.Add(time.Second)
		return bytes.Clone(h2), nil
	})
	mustOK(t, err, "retry with the same successor")
	if got.Generation != 2 || !got.LastUsedAt.Equal(at.Add(time.Second)) {
		t.Fatalf("after the retry: generation %d LastUsedAt %s, want 2 and %s", got.Generation, fmtTime(got.LastUsedAt), fmtTime(at.Add(time.Second)))
	}
	if id, gen := rs.generationOf(t, s, h2); id != f.ID || gen != 2 {
		t.Fatalf("successor: family %s generation %d, want %s generation 2", id, gen, f.ID)
	}
}

func (rs refreshSuite) updateSerialisesConcurrentCalls(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	f.Generation = 10
	h := rs.create(t, s, f)
	const n = 20
	seen, saved, succ := rotateConcurrently(t, s, h, n)

	got := rs.byID(t, s, f.ID)
	if got.Generation != f.Generation+n {
		t.Fatalf("final generation %d, want %d: updates were lost", got.Generation, f.Generation+n)
	}
	if want := f.LastUsedAt.Add(n * time.Second); !got.LastUsedAt.Equal(want) {
		t.Errorf("final LastUsedAt %s, want %s", fmtTime(got.LastUsedAt), fmtTime(want))
	}
	sorted := slices.Clone(seen)
	slices.Sort(sorted)
	for i, g := range sorted {
		if g != f.Generation+i {
			t.Fatalf("generations seen by fn: %v, want each of %d..%d once", sorted, f.Generation, f.Generation+n-1)
		}
	}
	for i := range n {
		if saved[i] != seen[i]+1 {
			t.Errorf("goroutine %d saw generation %d but got back %d", i, seen[i], saved[i])
		}
		if _, gen := rs.generationOf(t, s, succ[i]); gen != seen[i]+1 {
			t.Errorf("goroutine %d's successor recorded at generation %d, want %d", i, gen, seen[i]+1)
		}
	}
}

// rotateConcurrently rotates the family of h from n goroutines at once, each
// adding one to Generation and a second to LastUsedAt. seen[i] is the
// generation goroutine i's fn saw on its last run (a store may retry fn),
// saved[i] the generation it got back, succ[i] the successor it recorded.
func rotateConcurrently(t *testing.T, s authd.RefreshStore, h []byte, n int) (seen, saved []int, succ [][]byte) {
	t.Helper()
	seen = make([]int, n)
	succ = make([][]byte, n)
	saved = make([]int, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		succ[i] = NewHash()
		wg.Go(func() {
			<-start
			got, err := s.UpdateFamilyByToken(t.Context(), h, func(g *authd.RefreshFamily, gen int) ([]byte, error) {
				seen[i] = g.Generation
				// Widen the window in which an unserialised store
				// would let another call read the same generation.
				time.Sleep(time.Millisecond)
				g.Generation++
				g.LastUsedAt = g.LastUsedAt.Add(time.Second)
				return succ[i], nil
			})
			if err != nil {
				errs <- fmt.Errorf("goroutine %d: %w", i, err)
				return
			}
			saved[i] = got.Generation
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return seen, saved, succ
}

func (rs refreshSuite) revokeMarksRevokedAt(t *testing.T) {
	s := rs.newStore(t)
	f, other := newFamily(NewID("user")), newFamily(NewID("user"))
	rs.create(t, s, f)
	rs.create(t, s, other)
	at := Now().Add(time.Minute)
	mustOK(t, s.RevokeFamily(t.Context(), f.ID, at), "RevokeFamily")
	got := rs.byID(t, s, f.ID)
	want := *f
	want.RevokedAt = at
	checkFamily(t, "revoked family", &want, got)
	if !got.Revoked() {
		t.Fatal("Revoked() is false after RevokeFamily")
	}
	checkFamily(t, "the other family", other, rs.byID(t, s, other.ID))
}

func (rs refreshSuite) revokeNotFound(t *testing.T) {
	s := rs.newStore(t)
	wantErr(t, s.RevokeFamily(t.Context(), NewID("fam"), Now()), authd.ErrNotFound, "RevokeFamily")
}

func (rs refreshSuite) revokeKeepsFirstRevokedAt(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	rs.create(t, s, f)
	first := Now().Add(time.Minute)
	mustOK(t, s.RevokeFamily(t.Context(), f.ID, first), "first RevokeFamily")
	mustOK(t, s.RevokeFamily(t.Context(), f.ID, first.Add(time.Hour)), "RevokeFamily later")
	mustOK(t, s.RevokeFamily(t.Context(), f.ID, first.Add(-time.Hour)), "RevokeFamily earlier")
	if got := rs.byID(t, s, f.ID); !got.RevokedAt.Equal(first) {
		t.Fatalf("RevokedAt %s after three revocations, want the first %s", fmtTime(got.RevokedAt), fmtTime(first))
	}
}

func (rs refreshSuite) revokeUserRevokesOnlyLive(t *testing.T) {
	s := rs.newStore(t)
	user := NewID("user")
	a, b, already := newFamily(user), newFamily(user), newFamily(user)
	b.JKT = "" // one bound, one unbound
	theirs := newFamily(NewID("user"))
	for _, f := range []*authd.RefreshFamily{a, b, already, theirs} {
		rs.create(t, s, f)
	}
	earlier := Now()
	mustOK(t, s.RevokeFamily(t.Context(), already.ID, earlier), "RevokeFamily")
	at := earlier.Add(time.Minute)
	got, err := s.RevokeUserFamilies(t.Context(), user, at)
	mustOK(t, err, "RevokeUserFamilies")
	if len(got) != 2 {
		t.Fatalf("RevokeUserFamilies returned %d families, want 2 (%s, %s)", len(got), a.ID, b.ID)
	}
	slices.SortFunc(got, func(x, y *authd.RefreshFamily) int { return cmpIndex(x.ID, a.ID, b.ID) - cmpIndex(y.ID, a.ID, b.ID) })
	for i, f := range []*authd.RefreshFamily{a, b} {
		want := *f
		want.RevokedAt = at
		checkFamily(t, fmt.Sprintf("returned family %d", i), &want, got[i])
		checkFamily(t, fmt.Sprintf("stored family %d", i), &want, rs.byID(t, s, f.ID))
	}
	if g := rs.byID(t, s, already.ID); !g.RevokedAt.Equal(earlier) {
		t.Errorf("an already revoked family's RevokedAt moved to %s, want %s", fmtTime(g.RevokedAt), fmtTime(earlier))
	}
	checkFamily(t, "the other user's family", theirs, rs.byID(t, s, theirs.ID))
}

func (rs refreshSuite) revokeUserRevokesExpired(t *testing.T) {
	// Reading: "live" means not revoked (RefreshFamily.Revoked); an
	// expired family's access tokens may outlive it by an access token
	// lifetime, so the caller needs it back to list its sid.
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	f.CreatedAt = f.CreatedAt.Add(-400 * time.Hour)
	f.LastUsedAt = f.CreatedAt
	f.ExpiresAt = f.CreatedAt.Add(336 * time.Hour)
	rs.create(t, s, f)
	at := Now()
	got, err := s.RevokeUserFamilies(t.Context(), f.UserID, at)
	mustOK(t, err, "RevokeUserFamilies")
	if len(got) != 1 || got[0].ID != f.ID {
		t.Fatalf("RevokeUserFamilies returned %d families, want [%s]", len(got), f.ID)
	}
	if !rs.byID(t, s, f.ID).RevokedAt.Equal(at) {
		t.Fatal("the expired family was not revoked")
	}
}

func (rs refreshSuite) revokeUserEmptyAndIdempotent(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	rs.create(t, s, f)
	got, err := s.RevokeUserFamilies(t.Context(), NewID("user"), Now())
	mustOK(t, err, "RevokeUserFamilies of a user without families")
	if got == nil || len(got) != 0 {
		t.Fatalf("RevokeUserFamilies of a user without families: got %#v, want a non-nil empty slice", got)
	}
	at := Now()
	got, err = s.RevokeUserFamilies(t.Context(), f.UserID, at)
	mustOK(t, err, "first RevokeUserFamilies")
	if len(got) != 1 {
		t.Fatalf("first RevokeUserFamilies returned %d families, want 1", len(got))
	}
	got, err = s.RevokeUserFamilies(t.Context(), f.UserID, at.Add(time.Hour))
	mustOK(t, err, "second RevokeUserFamilies")
	if got == nil || len(got) != 0 {
		t.Fatalf("second RevokeUserFamilies: got %d families (%#v), want a non-nil empty slice", len(got), got)
	}
	if g := rs.byID(t, s, f.ID); !g.RevokedAt.Equal(at) {
		t.Fatalf("RevokedAt %s after the second call, want the first %s", fmtTime(g.RevokedAt), fmtTime(at))
	}
}

func (rs refreshSuite) revokeClientRevokesOnlyClients(t *testing.T) {
	// Reading: as RevokeUserFamilies, "not yet revoked" includes the
	// families past their ExpiresAt.
	s := rs.newStore(t)
	user := NewID("user")
	a, b, expired, already := newFamily(user), newFamily(user), newFamily(user), newFamily(user)
	client := a.ClientID
	b.ClientID, expired.ClientID, already.ClientID = client, client, client
	b.JKT = "" // a and expired bound, b unbound
	expired.CreatedAt = expired.CreatedAt.Add(-400 * time.Hour)
	expired.LastUsedAt = expired.CreatedAt
	expired.ExpiresAt = expired.CreatedAt.Add(336 * time.Hour)
	otherClient := newFamily(user)
	password := newFamily(user)
	password.ClientID, password.Scopes = "", nil
	theirs := newFamily(NewID("user"))
	theirs.ClientID = client
	for _, f := range []*authd.RefreshFamily{a, b, expired, already, otherClient, password, theirs} {
		rs.create(t, s, f)
	}
	earlier := Now()
	mustOK(t, s.RevokeFamily(t.Context(), already.ID, earlier), "RevokeFamily")
	at := earlier.Add(time.Minute)
	got, err := s.RevokeClientFamilies(t.Context(), user, client, at)
	mustOK(t, err, "RevokeClientFamilies")
	if len(got) != 3 {
		t.Fatalf("RevokeClientFamilies returned %d families, want 3 (%s, %s, %s)", len(got), a.ID, b.ID, expired.ID)
	}
	order := []string{a.ID, b.ID, expired.ID}
	slices.SortFunc(got, func(x, y *authd.RefreshFamily) int { return cmpIndex(x.ID, order...) - cmpIndex(y.ID, order...) })
	for i, f := range []*authd.RefreshFamily{a, b, expired} {
		want := *f
		want.RevokedAt = at
		checkFamily(t, fmt.Sprintf("returned family %d", i), &want, got[i])
		checkFamily(t, fmt.Sprintf("stored family %d", i), &want, rs.byID(t, s, f.ID))
	}
	if g := rs.byID(t, s, already.ID); !g.RevokedAt.Equal(earlier) {
		t.Errorf("an already revoked family's RevokedAt moved to %s, want %s", fmtTime(g.RevokedAt), fmtTime(earlier))
	}
	checkFamily(t, "the user's family of another client", otherClient, rs.byID(t, s, otherClient.ID))
	checkFamily(t, "the user's family of the password grant", password, rs.byID(t, s, password.ID))
	checkFamily(t, "another user's family of the client", theirs, rs.byID(t, s, theirs.ID))
}

func (rs refreshSuite) revokeClientEmptyAndIdempotent(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	rs.create(t, s, f)
	for _, c := range []struct{ user, client string }{{NewID("user"), f.ClientID}, {f.UserID, NewID("client")}, {f.UserID, ""}} {
		got, err := s.RevokeClientFamilies(t.Context(), c.user, c.client, Now())
		mustOK(t, err, "RevokeClientFamilies of a user and client without families")
		if got == nil || len(got) != 0 {
			t.Fatalf("RevokeClientFamilies(%q, %q): got %#v, want a non-nil empty slice", c.user, c.client, got)
		}
	}
	at := Now()
	got, err := s.RevokeClientFamilies(t.Context(), f.UserID, f.ClientID, at)
	mustOK(t, err, "first RevokeClientFamilies")
	if len(got) != 1 {
		t.Fatalf("first RevokeClientFamilies returned %d families, want 1", len(got))
	}
	got, err = s.RevokeClientFamilies(t.Context(), f.UserID, f.ClientID, at.Add(time.Hour))
	mustOK(t, err, "second RevokeClientFamilies")
	if got == nil || len(got) != 0 {
		t.Fatalf("second RevokeClientFamilies: got %d families (%#v), want a non-nil empty slice", len(got), got)
	}
	if g := rs.byID(t, s, f.ID); !g.RevokedAt.Equal(at) {
		t.Fatalf("RevokedAt %s after the second call, want the first %s", fmtTime(g.RevokedAt), fmtTime(at))
	}
}

func (rs refreshSuite) deleteBeforeDeletesWithHashes(t *testing.T) {
	s := rs.newStore(t)
	t0 := Now()
	cut := t0.Add(10 * time.Hour)
	mk := func(expires time.Time, revoked time.Time) (*authd.RefreshFamily, []byte) {
		f := newFamily(NewID("user"))
		f.ExpiresAt = expires
		h := rs.create(t, s, f)
		if !revoked.IsZero() {
			mustOK(t, s.RevokeFamily(t.Context(), f.ID, revoked), "RevokeFamily")
			f.RevokedAt = revoked
		}
		return f, h
	}
	expired, expiredTok := mk(cut.Add(-time.Hour), time.Time{})
	revoked, revokedTok := mk(cut.Add(time.Hour), cut.Add(-time.Hour))
	// A rotated family: its older tokens go with it.
	_, err := s.UpdateFamilyByToken(t.Context(), revokedTok, rotate(t0, NewHash()))
	mustOK(t, err, "rotation")
	atCutExpiry, atCutExpiryTok := mk(cut, time.Time{})
	atCutRevoked, atCutRevokedTok := mk(cut.Add(time.Hour), cut)
	live, liveTok := mk(cut.Add(time.Hour), time.Time{})

	n, err := s.DeleteFamiliesBefore(t.Context(), cut)
	mustOK(t, err, "DeleteFamiliesBefore")
	if n != 2 {
		t.Errorf("DeleteFamiliesBefore deleted %d, want 2", n)
	}
	for _, f := range []*authd.RefreshFamily{expired, revoked} {
		_, err := s.FamilyByID(t.Context(), f.ID)
		wantErr(t, err, authd.ErrNotFound, "FamilyByID of a deleted family")
	}
	for _, h := range [][]byte{expiredTok, revokedTok} {
		rs.unknownToken(t, s, h, "UpdateFamilyByToken of a deleted family's token")
	}
	// The hashes are gone, not merely orphaned: they can be used again.
	reuse := newFamily(NewID("user"))
	mustOK(t, s.CreateFamily(t.Context(), reuse, bytes.Clone(revokedTok)), "CreateFamily with a deleted family's token hash")
	for _, k := range []struct {
		f   *authd.RefreshFamily
		tok []byte
	}{{atCutExpiry, atCutExpiryTok}, {atCutRevoked, atCutRevokedTok}, {live, liveTok}} {
		checkFamily(t, "a family not before t", k.f, rs.byID(t, s, k.f.ID))
		if id, _ := rs.generationOf(t, s, k.tok); id != k.f.ID {
			t.Errorf("token of kept family %s now names %s", k.f.ID, id)
		}
	}
	n, err = s.DeleteFamiliesBefore(t.Context(), cut)
	mustOK(t, err, "second DeleteFamiliesBefore")
	if n != 0 {
		t.Errorf("second DeleteFamiliesBefore deleted %d, want 0", n)
	}
}

func (rs refreshSuite) honoursCancellation(t *testing.T) {
	s := rs.newStore(t)
	f := newFamily(NewID("user"))
	h := rs.create(t, s, f)
	ctx := cancelled(t)
	g := newFamily(f.UserID)
	wantCanceled(t, s.CreateFamily(ctx, g, NewHash()), "CreateFamily")
	called := false
	_, err := s.UpdateFamilyByToken(ctx, h, func(x *authd.RefreshFamily, gen int) ([]byte, error) {
		called = true
		x.Generation++
		return nil, nil
	})
	wantCanceled(t, err, "UpdateFamilyByToken")
	_, err = s.FamilyByID(ctx, f.ID)
	wantCanceled(t, err, "FamilyByID")
	wantCanceled(t, s.RevokeFamily(ctx, f.ID, Now()), "RevokeFamily")
	_, err = s.RevokeUserFamilies(ctx, f.UserID, Now())
	wantCanceled(t, err, "RevokeUserFamilies")
	_, err = s.RevokeClientFamilies(ctx, f.UserID, f.ClientID, Now())
	wantCanceled(t, err, "RevokeClientFamilies")
	_, err = s.DeleteFamiliesBefore(ctx, f.ExpiresAt.Add(time.Hour))
	wantCanceled(t, err, "DeleteFamiliesBefore")
	if called {
		t.Error("UpdateFamilyByToken called fn with a cancelled context")
	}
	_, err = s.FamilyByID(t.Context(), g.ID)
	wantErr(t, err, authd.ErrNotFound, "FamilyByID of the family created with a cancelled context")
	checkFamily(t, "family after cancelled calls", f, rs.byID(t, s, f.ID))
}

// cmpIndex returns the position of s among order (len(order) if absent).
func cmpIndex(s string, order ...string) int {
	if i := slices.Index(order, s); i >= 0 {
		return i
	}
	return len(order)
}
