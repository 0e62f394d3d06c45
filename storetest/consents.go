package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/authd/authd"
)

// RunConsentStore runs the ConsentStore contract against stores made by
// newStore, which must return a fresh, empty store each time it is called.
func RunConsentStore(t *testing.T, newStore func(t *testing.T) authd.ConsentStore) {
	t.Helper()
	cs := consentSuite{newStore}
	t.Run("PutConsent then ConsentFor returns every field", cs.putThenConsentFor)
	t.Run("PutConsent replaces the user's consent for the client", cs.putReplaces)
	t.Run("ConsentFor ErrNotFound when there is none", cs.consentForNotFound)
	t.Run("ListConsents returns the user's consents ordered by client id", cs.listOrderedByClientID)
	t.Run("ListConsents returns an empty slice when there are none", cs.listEmpty)
	t.Run("DeleteConsent deletes the user's consent for the client and no other", cs.deleteOnlyThat)
	t.Run("DeleteConsent ErrNotFound when there is none", cs.deleteNotFound)
	t.Run("honours ctx cancellation", cs.honoursCancellation)
}

// consentSuite is what RunConsentStore's subtests share: the constructor
// of fresh stores, and the helpers over a store as methods.
type consentSuite struct {
	newStore func(t *testing.T) authd.ConsentStore
}

// newConsent returns a consent of userID for a fresh client.
func newConsent(userID string) *authd.Consent {
	return &authd.Consent{
		UserID:    userID,
		ClientID:  NewID("client"),
		Scopes:    []string{"openid", "email", "offline_access"},
		GrantedAt: Now(),
	}
}

func (consentSuite) put(t *testing.T, s authd.ConsentStore, c *authd.Consent) {
	t.Helper()
	mustOK(t, s.PutConsent(t.Context(), c), "PutConsent")
}

func (consentSuite) get(t *testing.T, s authd.ConsentStore, userID, clientID string) *authd.Consent {
	t.Helper()
	c, err := s.ConsentFor(t.Context(), userID, clientID)
	mustOK(t, err, "ConsentFor")
	return c
}

func (cs consentSuite) putThenConsentFor(t *testing.T) {
	// Reading: scopes read back in their order, as every list the stores
	// keep (ClientStore says so).
	s := cs.newStore(t)
	user := NewID("user")
	c, d := newConsent(user), newConsent(user)
	d.Scopes = []string{"profile", "openid"}
	none := newConsent(user)
	none.Scopes = nil
	for _, x := range []*authd.Consent{c, d, none} {
		cs.put(t, s, x)
	}
	for _, x := range []*authd.Consent{c, d, none} {
		checkConsent(t, "ConsentFor "+x.ClientID, x, cs.get(t, s, user, x.ClientID))
	}
}

func (cs consentSuite) putReplaces(t *testing.T) {
	s := cs.newStore(t)
	user := NewID("user")
	c, sibling := newConsent(user), newConsent(user)
	theirs := newConsent(NewID("user"))
	theirs.ClientID = c.ClientID
	for _, x := range []*authd.Consent{c, sibling, theirs} {
		cs.put(t, s, x)
	}
	again := *c
	again.Scopes = []string{"openid"}
	again.GrantedAt = c.GrantedAt.Add(time.Hour)
	cs.put(t, s, &again)
	checkConsent(t, "ConsentFor after the second PutConsent", &again, cs.get(t, s, user, c.ClientID))
	l, err := s.ListConsents(t.Context(), user)
	mustOK(t, err, "ListConsents")
	if len(l) != 2 {
		t.Fatalf("ListConsents after replacing: %d consents, want 2 (one per client)", len(l))
	}
	checkConsent(t, "the user's consent for another client", sibling, cs.get(t, s, user, sibling.ClientID))
	checkConsent(t, "another user's consent for the client", theirs, cs.get(t, s, theirs.UserID, theirs.ClientID))
	// Granting more later, and an earlier GrantedAt, replace as well.
	again.Scopes = []string{"openid", "email", "profile"}
	again.GrantedAt = c.GrantedAt.Add(-time.Hour)
	cs.put(t, s, &again)
	checkConsent(t, "ConsentFor after the third PutConsent", &again, cs.get(t, s, user, c.ClientID))
}

func (cs consentSuite) consentForNotFound(t *testing.T) {
	s := cs.newStore(t)
	c := newConsent(NewID("user"))
	cs.put(t, s, c)
	for _, k := range []struct{ user, client string }{
		{NewID("user"), c.ClientID},
		{c.UserID, NewID("client")},
		{c.ClientID, c.UserID},
		{c.UserID, ""},
		{"", c.ClientID},
		{c.UserID, c.ClientID[:len(c.ClientID)-1]},
	} {
		_, err := s.ConsentFor(t.Context(), k.user, k.client)
		wantErr(t, err, authd.ErrNotFound, "ConsentFor("+k.user+", "+k.client+")")
	}
}

// listOrderedByClientID: byte order, whatever the database's collation, as
// ListClients.
func (cs consentSuite) listOrderedByClientID(t *testing.T) {
	s := cs.newStore(t)
	user := NewID("user")
	ids := []string{"b", "B", "a", "a.b", "a-b", "a_b", "A", "0", "ab", "Z"}
	want := map[string]*authd.Consent{}
	for _, id := range ids {
		c := newConsent(user)
		c.ClientID = id
		want[id] = c
		cs.put(t, s, c)
	}
	cs.put(t, s, newConsent(NewID("user"))) // another user's
	l, err := s.ListConsents(t.Context(), user)
	mustOK(t, err, "ListConsents")
	var got []string
	for _, c := range l {
		got = append(got, c.ClientID)
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	if !slices.Equal(got, sorted) {
		t.Fatalf("ListConsents client ids %q, want %q (the user's only, byte order)", got, sorted)
	}
	for _, c := range l {
		checkConsent(t, "ListConsents "+c.ClientID, want[c.ClientID], c)
	}
}

func (cs consentSuite) listEmpty(t *testing.T) {
	s := cs.newStore(t)
	cs.put(t, s, newConsent(NewID("user")))
	user := NewID("user")
	l, err := s.ListConsents(t.Context(), user)
	mustOK(t, err, "ListConsents of a user without consents")
	if l == nil || len(l) != 0 {
		t.Fatalf("ListConsents of a user without consents: %v (nil: %v), want a non-nil empty slice", l, l == nil)
	}
	c := newConsent(user)
	cs.put(t, s, c)
	mustOK(t, s.DeleteConsent(t.Context(), user, c.ClientID), "DeleteConsent")
	l, err = s.ListConsents(t.Context(), user)
	mustOK(t, err, "ListConsents after deleting the only consent")
	if l == nil || len(l) != 0 {
		t.Fatalf("ListConsents after deleting the only consent: %v (nil: %v), want a non-nil empty slice", l, l == nil)
	}
}

func (cs consentSuite) deleteOnlyThat(t *testing.T) {
	s := cs.newStore(t)
	user := NewID("user")
	c, sibling := newConsent(user), newConsent(user)
	theirs := newConsent(NewID("user"))
	theirs.ClientID = c.ClientID
	for _, x := range []*authd.Consent{c, sibling, theirs} {
		cs.put(t, s, x)
	}
	mustOK(t, s.DeleteConsent(t.Context(), user, c.ClientID), "DeleteConsent")
	_, err := s.ConsentFor(t.Context(), user, c.ClientID)
	wantErr(t, err, authd.ErrNotFound, "ConsentFor of the deleted consent")
	checkConsent(t, "the user's consent for another client", sibling, cs.get(t, s, user, sibling.ClientID))
	checkConsent(t, "another user's consent for the client", theirs, cs.get(t, s, theirs.UserID, theirs.ClientID))
	// Consent can be given again.
	cs.put(t, s, c)
	checkConsent(t, "ConsentFor after consenting again", c, cs.get(t, s, user, c.ClientID))
}

func (cs consentSuite) deleteNotFound(t *testing.T) {
	s := cs.newStore(t)
	c := newConsent(NewID("user"))
	cs.put(t, s, c)
	wantErr(t, s.DeleteConsent(t.Context(), NewID("user"), c.ClientID), authd.ErrNotFound, "DeleteConsent of another user")
	wantErr(t, s.DeleteConsent(t.Context(), c.UserID, NewID("client")), authd.ErrNotFound, "DeleteConsent of another client")
	checkConsent(t, "the consent after the misses", c, cs.get(t, s, c.UserID, c.ClientID))
	mustOK(t, s.DeleteConsent(t.Context(), c.UserID, c.ClientID), "DeleteConsent")
	wantErr(t, s.DeleteConsent(t.Context(), c.UserID, c.ClientID), authd.ErrNotFound, "DeleteConsent a second time")
}

func (cs consentSuite) honoursCancellation(t *testing.T) {
	s := cs.newStore(t)
	c, d := newConsent(NewID("user")), newConsent(NewID("user"))
	cs.put(t, s, c)
	ctx := cancelled(t)
	wantCanceled(t, s.PutConsent(ctx, d), "PutConsent")
	changed := *c
	changed.Scopes = []string{"openid"}
	wantCanceled(t, s.PutConsent(ctx, &changed), "PutConsent of a replacement")
	_, err := s.ConsentFor(ctx, c.UserID, c.ClientID)
	wantCanceled(t, err, "ConsentFor")
	_, err = s.ListConsents(ctx, c.UserID)
	wantCanceled(t, err, "ListConsents")
	wantCanceled(t, s.DeleteConsent(ctx, c.UserID, c.ClientID), "DeleteConsent")
	_, err = s.ConsentFor(t.Context(), d.UserID, d.ClientID)
	wantErr(t, err, authd.ErrNotFound, "ConsentFor of the consent put with a cancelled context")
	checkConsent(t, "the consent after the cancelled calls", c, cs.get(t, s, c.UserID, c.ClientID))
}
