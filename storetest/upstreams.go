package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd"
)

// UpstreamBackend is what RunUpstreamStore needs of a store: its
// providers, and the identities DeleteUpstream deletes with them.
type UpstreamBackend interface {
	authd.UpstreamStore
	authd.IdentityStore
}

// RunUpstreamStore runs the UpstreamStore contract against stores made by
// newStore, which must return a fresh, empty store each time it is called.
func RunUpstreamStore(t *testing.T, newStore func(t *testing.T) UpstreamBackend) {
	t.Helper()
	us := upstreamSuite{newStore}
	t.Run("CreateUpstream then UpstreamByID returns every field", us.createThenByID)
	t.Run("CreateUpstream keeps every field exactly as given, lists in their order", us.keptExactly)
	t.Run("CreateUpstream ErrConflict when u.ID exists", us.createConflict)
	t.Run("UpstreamByID ErrNotFound when there is none", us.byIDNotFound)
	t.Run("ListUpstreams returns every provider ordered by id in byte order", us.listOrdered)
	t.Run("ListUpstreams returns a non-nil empty slice when none", us.listEmpty)
	t.Run("DeleteUpstream deletes the provider and every identity linked at it", us.deleteWithIdentities)
	t.Run("DeleteUpstream deletes the identities in the same transaction", us.deleteAtomic)
	t.Run("DeleteUpstream ErrNotFound when there is none, and deletes nothing", us.deleteNotFound)
	t.Run("honours ctx cancellation", us.honoursCancellation)
}

// upstreamSuite is what RunUpstreamStore's subtests share: the
// constructor of fresh stores, and the helpers over a store as methods.
type upstreamSuite struct {
	newStore func(t *testing.T) UpstreamBackend
}

// newUpstream returns a confidential provider with a fresh id and every
// field set.
func newUpstream() *authd.Upstream {
	secret := NewHash() // its first byte is zero
	return &authd.Upstream{
		ID:           NewID("up"),
		Issuer:       "https://idp.example.com/realms/" + NewID("realm"),
		ClientID:     NewID("authd"),
		SecretSealed: append(secret, NewHash()...),
		Name:         "Corp " + NewID("sso"),
		Scopes:       []string{"openid", "email", "profile"},
		TrustEmail:   true,
		CreatedAt:    Now(),
	}
}

// newIdentity returns an identity of userID at upstreamID with a fresh
// subject.
func newIdentity(userID, upstreamID string) *authd.Identity {
	return &authd.Identity{
		UpstreamID: upstreamID,
		Subject:    NewID("Sub"),
		UserID:     userID,
		Email:      NewID("fed") + "@idp.example.com",
		LinkedAt:   Now(),
	}
}

func (upstreamSuite) create(t *testing.T, s authd.UpstreamStore, us ...*authd.Upstream) {
	t.Helper()
	for _, u := range us {
		mustOK(t, s.CreateUpstream(t.Context(), u), "CreateUpstream "+u.ID)
	}
}

// byID fails t unless the provider reads back as want.
func (upstreamSuite) byID(t *testing.T, s authd.UpstreamStore, want *authd.Upstream, what string) {
	t.Helper()
	got, err := s.UpstreamByID(t.Context(), want.ID)
	mustOK(t, err, what+": UpstreamByID")
	checkUpstream(t, what, want, got)
}

func (upstreamSuite) list(t *testing.T, s authd.UpstreamStore) []*authd.Upstream {
	t.Helper()
	l, err := s.ListUpstreams(t.Context())
	mustOK(t, err, "ListUpstreams")
	if l == nil {
		t.Fatal("ListUpstreams returned a nil slice, want a non-nil one")
	}
	return l
}

func upstreamIDs(us []*authd.Upstream) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, u.ID)
	}
	return out
}

func (us upstreamSuite) createThenByID(t *testing.T) {
	s := us.newStore(t)
	confidential := newUpstream()
	// A public client: no secret (PKCE alone), no scopes, no name, the
	// provider's email not trusted.
	public := &authd.Upstream{ID: NewID("pub"), Issuer: "https://accounts.example.org", ClientID: NewID("c"), CreatedAt: Now()}
	us.create(t, s, confidential, public)
	us.byID(t, s, confidential, "the confidential provider")
	us.byID(t, s, public, "the public provider")
	got, err := s.UpstreamByID(t.Context(), public.ID)
	mustOK(t, err, "UpstreamByID")
	if len(got.SecretSealed) != 0 {
		t.Fatalf("the public provider's SecretSealed: %x, want none", got.SecretSealed)
	}
}

// keptExactly: the store checks and normalises nothing (package upstream
// does); a store that trims, folds case or reorders would change which
// issuer's tokens are accepted or what is asked of the provider.
func (us upstreamSuite) keptExactly(t *testing.T) {
	s := us.newStore(t)
	u := newUpstream()
	u.Issuer = "https://IdP.example.com/tenant/ "
	u.ClientID = ` client "id" \x, {1} `
	u.Name = `  Ünïcode "quoted" \back\slash, {braces} 'single' ` + "\ttab  "
	u.Scopes = []string{"openid", "z", "a", "A", "", `"`, "null", "{}", "a,b", "openid"}
	u.SecretSealed = []byte{0, 0, 1, '\\', 0xff, 0}
	empty := newUpstream()
	empty.SecretSealed, empty.Scopes = []byte{}, []string{} // nil and empty are the same
	us.create(t, s, u, empty)
	us.byID(t, s, u, "UpstreamByID")
	us.byID(t, s, empty, "UpstreamByID of the provider with empty secret and scopes")
	for _, got := range us.list(t, s) {
		want := map[string]*authd.Upstream{u.ID: u, empty.ID: empty}[got.ID]
		if want == nil {
			t.Fatalf("ListUpstreams returned an unknown provider %q", got.ID)
		}
		checkUpstream(t, "ListUpstreams "+got.ID, want, got)
	}
}

func (us upstreamSuite) createConflict(t *testing.T) {
	s := us.newStore(t)
	u := newUpstream()
	us.create(t, s, u)
	dup := newUpstream()
	dup.ID = u.ID
	wantErr(t, s.CreateUpstream(t.Context(), dup), authd.ErrConflict, "CreateUpstream with an existing id")
	us.byID(t, s, u, "the first provider after the conflict")
	if l := us.list(t, s); len(l) != 1 {
		t.Fatalf("ListUpstreams after the conflict: %q, want [%s]", upstreamIDs(l), u.ID)
	}
}

func (us upstreamSuite) byIDNotFound(t *testing.T) {
	s := us.newStore(t)
	u := newUpstream()
	us.create(t, s, u)
	for _, id := range []string{NewID("up"), "", strings.ToUpper(u.ID), u.ID[:len(u.ID)-1], u.ID + " ", u.Issuer, u.ClientID} {
		_, err := s.UpstreamByID(t.Context(), id)
		wantErr(t, err, authd.ErrNotFound, "UpstreamByID("+id+")")
	}
}

// listOrdered: byte order, whatever the database's collation: "-" before
// digits before letters (en_US ignores "-" and puts "ab" before "a-c").
func (us upstreamSuite) listOrdered(t *testing.T) {
	s := us.newStore(t)
	ids := []string{"b", "ab", "a-c", "ac", "a0", "0", "a", "z9", "1-x", "a-", "10"}
	want := map[string]*authd.Upstream{}
	for _, id := range ids {
		u := newUpstream()
		u.ID = id
		want[id] = u
		us.create(t, s, u)
	}
	l := us.list(t, s)
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	if got := upstreamIDs(l); !slices.Equal(got, sorted) {
		t.Fatalf("ListUpstreams ids %q, want %q (byte order)", got, sorted)
	}
	for _, u := range l {
		checkUpstream(t, "ListUpstreams "+u.ID, want[u.ID], u)
	}
}

func (us upstreamSuite) listEmpty(t *testing.T) {
	s := us.newStore(t)
	if l := us.list(t, s); len(l) != 0 {
		t.Fatalf("ListUpstreams of an empty store: %q", upstreamIDs(l))
	}
	u := newUpstream()
	us.create(t, s, u)
	mustOK(t, s.DeleteUpstream(t.Context(), u.ID), "DeleteUpstream")
	if l := us.list(t, s); len(l) != 0 {
		t.Fatalf("ListUpstreams after deleting the only provider: %q", upstreamIDs(l))
	}
}

func (us upstreamSuite) deleteWithIdentities(t *testing.T) {
	s := us.newStore(t)
	a, b := newUpstream(), newUpstream()
	us.create(t, s, a, b)
	alice, bob := NewID("user"), NewID("user")
	atA := []*authd.Identity{newIdentity(alice, a.ID), newIdentity(bob, a.ID)}
	aliceAtB := newIdentity(alice, b.ID)
	aliceAtB.Subject = atA[0].Subject // the same subject at another provider
	for _, i := range append(slices.Clone(atA), aliceAtB) {
		mustOK(t, s.LinkIdentity(t.Context(), i), "LinkIdentity")
	}
	mustOK(t, s.DeleteUpstream(t.Context(), a.ID), "DeleteUpstream")
	_, err := s.UpstreamByID(t.Context(), a.ID)
	wantErr(t, err, authd.ErrNotFound, "UpstreamByID of the deleted provider")
	for _, i := range atA {
		_, err := s.IdentityBySubject(t.Context(), i.UpstreamID, i.Subject)
		wantErr(t, err, authd.ErrNotFound, "IdentityBySubject of an identity at the deleted provider")
	}
	wantIdentities(t, s, alice, aliceAtB)
	wantIdentities(t, s, bob)
	us.byID(t, s, b, "the other provider")
	if got := upstreamIDs(us.list(t, s)); !slices.Equal(got, []string{b.ID}) {
		t.Fatalf("ListUpstreams after DeleteUpstream: %q, want [%s]", got, b.ID)
	}
	got, err := s.IdentityBySubject(t.Context(), b.ID, aliceAtB.Subject)
	mustOK(t, err, "IdentityBySubject at the other provider")
	checkIdentity(t, "the identity at the other provider", aliceAtB, got)
	// The id is free again, and a new provider of that id finds none of
	// the old one's identities.
	us.create(t, s, a)
	for _, i := range atA {
		_, err := s.IdentityBySubject(t.Context(), i.UpstreamID, i.Subject)
		wantErr(t, err, authd.ErrNotFound, "IdentityBySubject at the provider created again")
	}
}

// deleteAtomic: a reader that checks an identity, the provider, then
// another identity, while the provider is deleted, never sees the
// provider without its identities nor its identities without it.
func (us upstreamSuite) deleteAtomic(t *testing.T) {
	s := us.newStore(t)
	ctx := t.Context()
	for round := range 10 {
		u := newUpstream()
		us.create(t, s, u)
		first, last := newIdentity(NewID("user"), u.ID), newIdentity(NewID("user"), u.ID)
		mustOK(t, s.LinkIdentity(ctx, first), "LinkIdentity")
		mustOK(t, s.LinkIdentity(ctx, last), "LinkIdentity")
		var (
			stop    atomic.Bool
			wg      sync.WaitGroup
			mu      sync.Mutex
			failure string
		)
		fail := func(f string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			if failure == "" {
				failure = fmt.Sprintf(f, args...)
			}
		}
		present := func(err error, what string) bool {
			if err != nil && !errors.Is(err, authd.ErrNotFound) {
				fail("%s: %v", what, err)
			}
			return err == nil
		}
		started := make(chan struct{})
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				if n == 1 {
					close(started)
				}
				_, err := s.IdentityBySubject(ctx, u.ID, first.Subject)
				x := present(err, "IdentityBySubject")
				_, err = s.UpstreamByID(ctx, u.ID)
				y := present(err, "UpstreamByID")
				_, err = s.IdentityBySubject(ctx, u.ID, last.Subject)
				z := present(err, "IdentityBySubject")
				switch {
				case !y && z:
					fail("round %d: an identity was still linked after its provider was gone", round)
				case y && !x:
					fail("round %d: an identity was gone while its provider was still there", round)
				}
			}
		})
		<-started
		mustOK(t, s.DeleteUpstream(ctx, u.ID), "DeleteUpstream")
		time.Sleep(time.Millisecond)
		stop.Store(true)
		wg.Wait()
		if failure != "" {
			t.Fatal(failure)
		}
	}
}

// deleteNotFound: Reading: as DeleteUser, an unknown id deletes nothing,
// not even identities linked at that id without a provider (the store
// keeps no foreign key).
func (us upstreamSuite) deleteNotFound(t *testing.T) {
	s := us.newStore(t)
	u := newUpstream()
	us.create(t, s, u)
	kept := newIdentity(NewID("user"), u.ID)
	orphan := newIdentity(NewID("user"), NewID("gone"))
	for _, i := range []*authd.Identity{kept, orphan} {
		mustOK(t, s.LinkIdentity(t.Context(), i), "LinkIdentity")
	}
	for _, id := range []string{orphan.UpstreamID, NewID("up"), "", strings.ToUpper(u.ID), u.ID[:len(u.ID)-1]} {
		wantErr(t, s.DeleteUpstream(t.Context(), id), authd.ErrNotFound, "DeleteUpstream("+id+")")
	}
	us.byID(t, s, u, "the provider after DeleteUpstream of unknown ids")
	for _, i := range []*authd.Identity{kept, orphan} {
		got, err := s.IdentityBySubject(t.Context(), i.UpstreamID, i.Subject)
		mustOK(t, err, "IdentityBySubject after DeleteUpstream of unknown ids")
		checkIdentity(t, "the identity after DeleteUpstream of unknown ids", i, got)
	}
	mustOK(t, s.DeleteUpstream(t.Context(), u.ID), "DeleteUpstream")
	wantErr(t, s.DeleteUpstream(t.Context(), u.ID), authd.ErrNotFound, "DeleteUpstream a second time")
}

func (us upstreamSuite) honoursCancellation(t *testing.T) {
	s := us.newStore(t)
	u, v := newUpstream(), newUpstream()
	us.create(t, s, u)
	i := newIdentity(NewID("user"), u.ID)
	mustOK(t, s.LinkIdentity(t.Context(), i), "LinkIdentity")
	ctx := cancelled(t)
	wantCanceled(t, s.CreateUpstream(ctx, v), "CreateUpstream")
	_, err := s.UpstreamByID(ctx, u.ID)
	wantCanceled(t, err, "UpstreamByID")
	_, err = s.ListUpstreams(ctx)
	wantCanceled(t, err, "ListUpstreams")
	wantCanceled(t, s.DeleteUpstream(ctx, u.ID), "DeleteUpstream")
	_, err = s.UpstreamByID(t.Context(), v.ID)
	wantErr(t, err, authd.ErrNotFound, "UpstreamByID of the provider created with a cancelled context")
	us.byID(t, s, u, "the provider deleted with a cancelled context")
	got, err := s.IdentityBySubject(t.Context(), u.ID, i.Subject)
	mustOK(t, err, "IdentityBySubject after DeleteUpstream with a cancelled context")
	checkIdentity(t, "the identity", i, got)
}

// IdentityBackend is what RunIdentityStore needs of a store: its
// identities, and the users CreateUserWithIdentity creates.
type IdentityBackend interface {
	authd.IdentityStore
	authd.UserStore
}

// RunIdentityStore runs the IdentityStore contract against stores made by
// newStore, which must return a fresh, empty store each time it is called.
func RunIdentityStore(t *testing.T, newStore func(t *testing.T) IdentityBackend) {
	t.Helper()
	is := identitySuite{newStore}
	t.Run("LinkIdentity then IdentityBySubject returns every field", is.linkThenBySubject)
	t.Run("LinkIdentity ErrConflict when (UpstreamID, Subject) is linked already, and nothing written", is.linkConflictOnSubject)
	t.Run("LinkIdentity ErrConflict when UserID has an identity at UpstreamID, and nothing written", is.linkConflictOnUser)
	t.Run("LinkIdentity accepts the subject at another upstream and the user at another upstream", is.linkElsewhere)
	t.Run("LinkIdentity of one (UpstreamID, Subject) by n concurrent calls: exactly one succeeds", is.linkSubjectConcurrently)
	t.Run("LinkIdentity of one user at one upstream by n concurrent calls: exactly one succeeds", is.linkUserConcurrently)
	t.Run("CreateUserWithIdentity creates the user and links the identity", is.createUserWithIdentity)
	t.Run("CreateUserWithIdentity ErrConflict when u's id or email is taken, and nothing written", is.createConflictOnUser)
	t.Run("CreateUserWithIdentity ErrConflict when LinkIdentity would be, and nothing written", is.createConflictOnIdentity)
	t.Run("IdentityBySubject ErrNotFound when there is none", is.bySubjectNotFound)
	t.Run("ListIdentities returns the user's identities ordered by upstream id", is.listOrdered)
	t.Run("ListIdentities returns a non-nil empty slice when none", is.listEmpty)
	t.Run("UnlinkIdentity deletes the user's identity at upstreamID and no other", is.unlink)
	t.Run("UnlinkIdentity ErrNotFound when there is none", is.unlinkNotFound)
	t.Run("honours ctx cancellation", is.honoursCancellation)
}

// identitySuite is what RunIdentityStore's subtests share: the
// constructor of fresh stores, and the helpers over a store as methods.
type identitySuite struct {
	newStore func(t *testing.T) IdentityBackend
}

func (identitySuite) link(t *testing.T, s authd.IdentityStore, is ...*authd.Identity) {
	t.Helper()
	for _, i := range is {
		mustOK(t, s.LinkIdentity(t.Context(), i), "LinkIdentity "+i.UpstreamID+"/"+i.Subject)
	}
}

// bySubject fails t unless the identity reads back as want.
func (identitySuite) bySubject(t *testing.T, s authd.IdentityStore, want *authd.Identity, what string) {
	t.Helper()
	got, err := s.IdentityBySubject(t.Context(), want.UpstreamID, want.Subject)
	mustOK(t, err, what+": IdentityBySubject")
	checkIdentity(t, what, want, got)
}

// notLinked fails t unless IdentityBySubject finds nothing of (upstreamID, subject).
func (identitySuite) notLinked(t *testing.T, s authd.IdentityStore, upstreamID, subject, what string) {
	t.Helper()
	_, err := s.IdentityBySubject(t.Context(), upstreamID, subject)
	wantErr(t, err, authd.ErrNotFound, what)
}

// wantIdentities fails t unless ListIdentities(userID) returns want, in
// its order, with every field.
func wantIdentities(t *testing.T, s authd.IdentityStore, userID string, want ...*authd.Identity) {
	t.Helper()
	got, err := s.ListIdentities(t.Context(), userID)
	mustOK(t, err, "ListIdentities")
	if got == nil {
		t.Fatal("ListIdentities returned a nil slice, want a non-nil one")
	}
	key := func(is []*authd.Identity) []string {
		out := []string{}
		for _, i := range is {
			out = append(out, i.UpstreamID+"/"+i.Subject)
		}
		return out
	}
	if !slices.Equal(key(got), key(want)) {
		t.Fatalf("ListIdentities(%s): %q, want %q", userID, key(got), key(want))
	}
	for n := range got {
		checkIdentity(t, "ListIdentities "+key(want)[n], want[n], got[n])
	}
}

func (is identitySuite) linkThenBySubject(t *testing.T) {
	s := is.newStore(t)
	user := NewID("user")
	i, j := newIdentity(user, NewID("up")), newIdentity(user, NewID("up"))
	j.Email = "" // a provider that gave no address
	j.Subject = ` Ünï "sub" \x ` + NewID("s")
	is.link(t, s, i, j)
	is.bySubject(t, s, i, "the identity")
	is.bySubject(t, s, j, "the identity without an email")
	if i.UpstreamID > j.UpstreamID {
		i, j = j, i
	}
	wantIdentities(t, s, user, i, j)
}

func (is identitySuite) linkConflictOnSubject(t *testing.T) {
	s := is.newStore(t)
	i := newIdentity(NewID("user"), NewID("up"))
	is.link(t, s, i)
	other := newIdentity(NewID("user"), i.UpstreamID)
	other.Subject = i.Subject
	same := newIdentity(i.UserID, i.UpstreamID)
	same.Subject, same.Email = i.Subject, "changed@example.com"
	for _, dup := range []*authd.Identity{other, same} {
		wantErr(t, s.LinkIdentity(t.Context(), dup), authd.ErrConflict, "LinkIdentity of a linked (UpstreamID, Subject)")
	}
	is.bySubject(t, s, i, "the first identity after the conflicts")
	wantIdentities(t, s, other.UserID)
	wantIdentities(t, s, i.UserID, i)
}

func (is identitySuite) linkConflictOnUser(t *testing.T) {
	s := is.newStore(t)
	i := newIdentity(NewID("user"), NewID("up"))
	is.link(t, s, i)
	second := newIdentity(i.UserID, i.UpstreamID)
	wantErr(t, s.LinkIdentity(t.Context(), second), authd.ErrConflict, "LinkIdentity of a second identity of the user at the upstream")
	is.notLinked(t, s, second.UpstreamID, second.Subject, "IdentityBySubject of the refused identity")
	is.bySubject(t, s, i, "the first identity after the conflict")
	wantIdentities(t, s, i.UserID, i)
}

func (is identitySuite) linkElsewhere(t *testing.T) {
	s := is.newStore(t)
	up1, up2 := "a-"+NewID("up"), "b-"+NewID("up")
	alice, bob := NewID("user"), NewID("user")
	aliceAt1, aliceAt2 := newIdentity(alice, up1), newIdentity(alice, up2)
	bobAt2 := newIdentity(bob, up2)
	bobAt2.Subject = aliceAt1.Subject // the same subject at another provider
	is.link(t, s, aliceAt1, aliceAt2, bobAt2)
	for _, i := range []*authd.Identity{aliceAt1, aliceAt2, bobAt2} {
		is.bySubject(t, s, i, "IdentityBySubject")
	}
	wantIdentities(t, s, alice, aliceAt1, aliceAt2)
	wantIdentities(t, s, bob, bobAt2)
}

// linkConcurrently runs LinkIdentity of each of is at once and returns
// the index of the one that succeeded; the others must be ErrConflict.
func linkConcurrently(t *testing.T, s authd.IdentityStore, is []*authd.Identity) int {
	t.Helper()
	errs := make([]error, len(is))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for n, i := range is {
		wg.Go(func() {
			<-start
			errs[n] = s.LinkIdentity(t.Context(), i)
		})
	}
	close(start)
	wg.Wait()
	winner, winners := -1, 0
	for n, err := range errs {
		switch {
		case err == nil:
			winner = n
			winners++
		case !errors.Is(err, authd.ErrConflict):
			t.Fatalf("LinkIdentity %d: %v, want nil or ErrConflict", n, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d of %d concurrent LinkIdentity calls succeeded, want exactly one", winners, len(is))
	}
	return winner
}

func (is identitySuite) linkSubjectConcurrently(t *testing.T) {
	s := is.newStore(t)
	const n = 16
	upstream, subject := NewID("up"), NewID("Sub")
	var ids []*authd.Identity
	for range n {
		i := newIdentity(NewID("user"), upstream)
		i.Subject = subject
		ids = append(ids, i)
	}
	w := linkConcurrently(t, s, ids)
	is.bySubject(t, s, ids[w], "the identity linked")
	for k, i := range ids {
		if k == w {
			wantIdentities(t, s, i.UserID, i)
		} else {
			wantIdentities(t, s, i.UserID)
		}
	}
}

func (is identitySuite) linkUserConcurrently(t *testing.T) {
	s := is.newStore(t)
	const n = 16
	user, upstream := NewID("user"), NewID("up")
	var ids []*authd.Identity
	for range n {
		ids = append(ids, newIdentity(user, upstream))
	}
	w := linkConcurrently(t, s, ids)
	wantIdentities(t, s, user, ids[w])
	for k, i := range ids {
		if k != w {
			is.notLinked(t, s, i.UpstreamID, i.Subject, "IdentityBySubject of a refused identity")
		}
	}
}

func (is identitySuite) createUserWithIdentity(t *testing.T) {
	s := is.newStore(t)
	for _, verified := range []bool{false, true} {
		u := newUser()
		u.EmailVerified = verified
		u.PasswordHash = "" // a user who signs in through the provider only
		i := newIdentity(u.ID, NewID("up"))
		i.Email = u.Email
		mustOK(t, s.CreateUserWithIdentity(t.Context(), u, i), "CreateUserWithIdentity")
		got, err := s.UserByID(t.Context(), u.ID)
		mustOK(t, err, "UserByID")
		checkUser(t, "the user CreateUserWithIdentity created", u, got)
		is.bySubject(t, s, i, "the identity CreateUserWithIdentity linked")
		wantIdentities(t, s, u.ID, i)
	}
}

func (is identitySuite) createConflictOnUser(t *testing.T) {
	s := is.newStore(t)
	u := newUser()
	mustOK(t, s.CreateUser(t.Context(), u), "CreateUser")
	sameID, sameEmail := newUser(), newUser()
	sameID.ID, sameEmail.Email = u.ID, u.Email
	for _, v := range []*authd.User{sameID, sameEmail} {
		i := newIdentity(v.ID, NewID("up"))
		wantErr(t, s.CreateUserWithIdentity(t.Context(), v, i), authd.ErrConflict, "CreateUserWithIdentity of a taken id or email")
		is.notLinked(t, s, i.UpstreamID, i.Subject, "IdentityBySubject of the refused user's identity")
	}
	wantIdentities(t, s, u.ID)
	_, err := s.UserByEmail(t.Context(), sameID.Email)
	wantErr(t, err, authd.ErrNotFound, "UserByEmail of the refused user")
	got, err := s.UserByID(t.Context(), u.ID)
	mustOK(t, err, "UserByID")
	checkUser(t, "the first user", u, got)
}

func (is identitySuite) createConflictOnIdentity(t *testing.T) {
	s := is.newStore(t)
	stored := newIdentity(NewID("user"), NewID("up"))
	is.link(t, s, stored)

	u := newUser()
	i := newIdentity(u.ID, stored.UpstreamID)
	i.Subject = stored.Subject
	wantErr(t, s.CreateUserWithIdentity(t.Context(), u, i), authd.ErrConflict, "CreateUserWithIdentity of a linked (UpstreamID, Subject)")
	// An identity of an id without a user (the store keeps no foreign
	// key): a user of that id cannot get a second one there.
	v := newUser()
	orphan := newIdentity(v.ID, NewID("up"))
	is.link(t, s, orphan)
	j := newIdentity(v.ID, orphan.UpstreamID)
	wantErr(t, s.CreateUserWithIdentity(t.Context(), v, j), authd.ErrConflict, "CreateUserWithIdentity of a user with an identity at the upstream")
	is.notLinked(t, s, j.UpstreamID, j.Subject, "IdentityBySubject of the refused identity")
	for _, x := range []*authd.User{u, v} {
		_, err := s.UserByID(t.Context(), x.ID)
		wantErr(t, err, authd.ErrNotFound, "UserByID of a user whose identity was refused")
		_, err = s.UserByEmail(t.Context(), x.Email)
		wantErr(t, err, authd.ErrNotFound, "UserByEmail of a user whose identity was refused")
	}
	is.bySubject(t, s, stored, "the stored identity")
	wantIdentities(t, s, v.ID, orphan)
}

func (is identitySuite) bySubjectNotFound(t *testing.T) {
	s := is.newStore(t)
	i := newIdentity(NewID("user"), NewID("up"))
	is.link(t, s, i)
	// NOTE: OpenID Connect compares sub exactly; a store that folds case
	// or matches a prefix would sign one account in as another.
	for _, k := range [][2]string{
		{i.UpstreamID, strings.ToUpper(i.Subject)},
		{i.UpstreamID, strings.ToLower(i.Subject)},
		{i.UpstreamID, i.Subject[:len(i.Subject)-1]},
		{i.UpstreamID, i.Subject + " "},
		{i.UpstreamID, ""},
		{i.UpstreamID, i.Email},
		{i.UpstreamID, i.UserID},
		{NewID("up"), i.Subject},
		{strings.ToUpper(i.UpstreamID), i.Subject},
		{i.Subject, i.UpstreamID},
		{"", i.Subject},
	} {
		is.notLinked(t, s, k[0], k[1], fmt.Sprintf("IdentityBySubject(%q, %q)", k[0], k[1]))
	}
	is.bySubject(t, s, i, "the identity")
}

// listOrdered: Reading: "ordered by upstream id" is byte order, as
// ListUpstreams says of the same ids.
func (is identitySuite) listOrdered(t *testing.T) {
	s := is.newStore(t)
	user, other := NewID("user"), NewID("user")
	byID := map[string]*authd.Identity{}
	ups := []string{"b", "ab", "a-c", "ac", "a0", "0", "z9", "1-x"}
	for _, up := range ups {
		i := newIdentity(user, up)
		byID[up] = i
		is.link(t, s, i, newIdentity(other, up))
	}
	sorted := slices.Clone(ups)
	slices.Sort(sorted)
	var want []*authd.Identity
	for _, up := range sorted {
		want = append(want, byID[up])
	}
	wantIdentities(t, s, user, want...)
}

func (is identitySuite) listEmpty(t *testing.T) {
	s := is.newStore(t)
	i := newIdentity(NewID("user"), NewID("up"))
	wantIdentities(t, s, i.UserID)
	is.link(t, s, i)
	for _, id := range []string{NewID("user"), "", strings.ToUpper(i.UserID), i.UserID[:len(i.UserID)-1], i.Subject} {
		wantIdentities(t, s, id)
	}
	mustOK(t, s.UnlinkIdentity(t.Context(), i.UserID, i.UpstreamID), "UnlinkIdentity")
	wantIdentities(t, s, i.UserID)
}

func (is identitySuite) unlink(t *testing.T) {
	s := is.newStore(t)
	up1, up2 := "a-"+NewID("up"), "b-"+NewID("up")
	alice, bob := NewID("user"), NewID("user")
	aliceAt1, aliceAt2, bobAt1 := newIdentity(alice, up1), newIdentity(alice, up2), newIdentity(bob, up1)
	is.link(t, s, aliceAt1, aliceAt2, bobAt1)
	mustOK(t, s.UnlinkIdentity(t.Context(), alice, up1), "UnlinkIdentity")
	is.notLinked(t, s, up1, aliceAt1.Subject, "IdentityBySubject of the unlinked identity")
	wantIdentities(t, s, alice, aliceAt2)
	wantIdentities(t, s, bob, bobAt1)
	is.bySubject(t, s, bobAt1, "another user's identity at the upstream")
	// Both keys are free again.
	again := newIdentity(alice, up1)
	carol := newIdentity(NewID("user"), up1)
	carol.Subject = aliceAt1.Subject
	is.link(t, s, again, carol)
	wantIdentities(t, s, alice, again, aliceAt2)
	is.bySubject(t, s, carol, "the unlinked subject linked to another user")
}

func (is identitySuite) unlinkNotFound(t *testing.T) {
	s := is.newStore(t)
	alice, bob := NewID("user"), NewID("user")
	up1, up2 := "a-"+NewID("up"), "b-"+NewID("up")
	aliceAt1, bobAt2 := newIdentity(alice, up1), newIdentity(bob, up2)
	is.link(t, s, aliceAt1, bobAt2)
	for _, k := range [][2]string{
		{alice, up2}, {bob, up1}, {up1, alice}, {NewID("user"), up1}, {alice, NewID("up")},
		{alice, ""}, {"", up1}, {alice, strings.ToUpper(up1)}, {aliceAt1.Subject, up1}, {alice, aliceAt1.Subject},
	} {
		wantErr(t, s.UnlinkIdentity(t.Context(), k[0], k[1]), authd.ErrNotFound, fmt.Sprintf("UnlinkIdentity(%q, %q)", k[0], k[1]))
	}
	wantIdentities(t, s, alice, aliceAt1)
	wantIdentities(t, s, bob, bobAt2)
	mustOK(t, s.UnlinkIdentity(t.Context(), alice, up1), "UnlinkIdentity")
	wantErr(t, s.UnlinkIdentity(t.Context(), alice, up1), authd.ErrNotFound, "UnlinkIdentity a second time")
}

func (is identitySuite) honoursCancellation(t *testing.T) {
	s := is.newStore(t)
	i := newIdentity(NewID("user"), NewID("up"))
	is.link(t, s, i)
	ctx := cancelled(t)
	j := newIdentity(NewID("user"), NewID("up"))
	wantCanceled(t, s.LinkIdentity(ctx, j), "LinkIdentity")
	u := newUser()
	k := newIdentity(u.ID, NewID("up"))
	wantCanceled(t, s.CreateUserWithIdentity(ctx, u, k), "CreateUserWithIdentity")
	_, err := s.IdentityBySubject(ctx, i.UpstreamID, i.Subject)
	wantCanceled(t, err, "IdentityBySubject")
	_, err = s.ListIdentities(ctx, i.UserID)
	wantCanceled(t, err, "ListIdentities")
	wantCanceled(t, s.UnlinkIdentity(ctx, i.UserID, i.UpstreamID), "UnlinkIdentity")
	// Nothing the cancelled calls asked for happened.
	is.notLinked(t, s, j.UpstreamID, j.Subject, "IdentityBySubject of the identity linked with a cancelled context")
	is.notLinked(t, s, k.UpstreamID, k.Subject, "IdentityBySubject of the identity created with a cancelled context")
	_, err = s.UserByID(t.Context(), u.ID)
	wantErr(t, err, authd.ErrNotFound, "UserByID of the user created with a cancelled context")
	is.bySubject(t, s, i, "the identity unlinked with a cancelled context")
}
