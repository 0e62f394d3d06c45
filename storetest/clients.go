package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd"
)

// RunClientStore runs the ClientStore contract against stores made by
// newStore, which must return a fresh, empty store each time it is called.
func RunClientStore(t *testing.T, newStore func(t *testing.T) authd.ClientStore) {
	t.Helper()
	cs := clientSuite{newStore}
	t.Run("CreateClient then ClientByID returns every field", cs.createThenClientByID)
	t.Run("a client without secret, lists or name reads back without them", cs.withoutOptionalFields)
	t.Run("strings and lists are kept exactly as given", cs.keptExactly)
	t.Run("CreateClient ErrConflict when the id exists", cs.createConflictOnID)
	t.Run("ClientByID ErrNotFound for an unknown id", cs.byIDNotFound)
	t.Run("ListClients returns every client ordered by id", cs.listOrderedByID)
	t.Run("ListClients returns an empty slice when there are none", cs.listEmpty)
	t.Run("DeleteClient deletes the client and no other", cs.deleteThenNotFound)
	t.Run("DeleteClient ErrNotFound when there is no such client", cs.deleteNotFound)
	t.Run("honours ctx cancellation", cs.honoursCancellation)
}

// clientSuite is what RunClientStore's subtests share: the constructor of
// fresh stores.
type clientSuite struct {
	newStore func(t *testing.T) authd.ClientStore
}

// newClient returns a confidential client with a fresh id and secret hash
// and every field set.
func newClient() *authd.Client {
	return &authd.Client{
		ID:                     NewID("svc"),
		SecretHash:             "$argon2id$v=19$m=19456,t=2,p=1$" + NewID("salt") + "$" + NewID("hash"),
		Name:                   "Orders " + NewID("app"),
		RedirectURIs:           []string{"https://app.example.com/callback", "http://127.0.0.1:8400/cb"},
		PostLogoutRedirectURIs: []string{"https://app.example.com/bye"},
		BackchannelLogoutURI:   "https://app.example.com/backchannel-logout",
		Scopes:                 []string{"openid", "email", "offline_access"},
		Grants:                 []string{authd.GrantAuthorizationCode, authd.GrantRefreshToken, authd.GrantClientCredentials},
		FirstParty:             true,
		CreatedAt:              Now(),
	}
}

func (cs clientSuite) createThenClientByID(t *testing.T) {
	s := cs.newStore(t)
	c, d := newClient(), newClient()
	d.FirstParty = false
	d.RedirectURIs = []string{"com.example.app:/callback"}
	d.Grants = []string{authd.GrantAuthorizationCode}
	mustOK(t, s.CreateClient(t.Context(), c), "CreateClient c")
	mustOK(t, s.CreateClient(t.Context(), d), "CreateClient d")
	got, err := s.ClientByID(t.Context(), c.ID)
	mustOK(t, err, "ClientByID c")
	checkClient(t, "ClientByID c", c, got)
	got, err = s.ClientByID(t.Context(), d.ID)
	mustOK(t, err, "ClientByID d")
	checkClient(t, "ClientByID d", d, got)
}

// withoutOptionalFields: a public client (no secret hash) with no name and
// nil lists, and a resource server (a secret, nothing else): what the rules
// above the store create most often.
func (cs clientSuite) withoutOptionalFields(t *testing.T) {
	s := cs.newStore(t)
	public := &authd.Client{ID: NewID("spa"), RedirectURIs: []string{"https://spa.example.com/cb"}, CreatedAt: Now()}
	rs := &authd.Client{ID: NewID("rs"), SecretHash: newClient().SecretHash, CreatedAt: Now()}
	for _, c := range []*authd.Client{public, rs} {
		mustOK(t, s.CreateClient(t.Context(), c), "CreateClient "+c.ID)
		got, err := s.ClientByID(t.Context(), c.ID)
		mustOK(t, err, "ClientByID "+c.ID)
		checkClient(t, "ClientByID "+c.ID, c, got)
	}
}

// keptExactly: the store never normalises; redirect URIs are compared as
// exact strings above it (SECURITY.md A1), so a store that trims, folds
// case, decodes or reorders would change which URIs are allowed.
func (cs clientSuite) keptExactly(t *testing.T) {
	s := cs.newStore(t)
	c := newClient()
	c.Name = `  Ünïcode "quoted" \back\slash, {braces} [brackets] 'single' ` + "\ttab  "
	c.RedirectURIs = []string{
		"https://App.Example.com/cb?x={1,2}&y=%2F%2f#",
		`https://app.example.com/a,b"c\d`,
		"HTTPS://app.example.com/cb/",
		"https://app.example.com/cb",
		"NULL",
		"",
		"https://app.example.com/ünï",
	}
	c.PostLogoutRedirectURIs = []string{" https://app.example.com/bye ", "https://app.example.com/bye"}
	c.BackchannelLogoutURI = " https://app.example.com/bc?q=1 "
	c.Scopes = []string{"z", "a", "A", "{}", `"`, "null"}
	c.Grants = []string{"refresh_token", "authorization_code", "made_up"}
	mustOK(t, s.CreateClient(t.Context(), c), "CreateClient")
	got, err := s.ClientByID(t.Context(), c.ID)
	mustOK(t, err, "ClientByID")
	checkClient(t, "ClientByID", c, got)
	l, err := s.ListClients(t.Context())
	mustOK(t, err, "ListClients")
	if len(l) != 1 {
		t.Fatalf("ListClients: %d clients, want 1", len(l))
	}
	checkClient(t, "ListClients", c, l[0])
}

func (cs clientSuite) createConflictOnID(t *testing.T) {
	s := cs.newStore(t)
	c := newClient()
	mustOK(t, s.CreateClient(t.Context(), c), "CreateClient")
	dup := newClient()
	dup.ID = c.ID
	wantErr(t, s.CreateClient(t.Context(), dup), authd.ErrConflict, "CreateClient with an existing id")
	got, err := s.ClientByID(t.Context(), c.ID)
	mustOK(t, err, "ClientByID")
	checkClient(t, "the first client after the conflict", c, got)
}

func (cs clientSuite) byIDNotFound(t *testing.T) {
	s := cs.newStore(t)
	c := newClient()
	mustOK(t, s.CreateClient(t.Context(), c), "CreateClient")
	for _, id := range []string{NewID("svc"), "", c.SecretHash, strings.ToUpper(c.ID), c.ID[:len(c.ID)-1], c.ID + " "} {
		_, err := s.ClientByID(t.Context(), id)
		wantErr(t, err, authd.ErrNotFound, "ClientByID("+id+")")
	}
}

// listOrderedByID: byte order, whatever the database's collation: upper
// case before lower case, "-" and "." before digits.
func (cs clientSuite) listOrderedByID(t *testing.T) {
	s := cs.newStore(t)
	ids := []string{"b", "B", "a", "a.b", "a-b", "a_b", "A", "0", "ab", "a0", "Z", "_"}
	want := map[string]*authd.Client{}
	for _, id := range ids {
		c := newClient()
		c.ID = id
		want[id] = c
		mustOK(t, s.CreateClient(t.Context(), c), "CreateClient "+id)
	}
	l, err := s.ListClients(t.Context())
	mustOK(t, err, "ListClients")
	var got []string
	for _, c := range l {
		got = append(got, c.ID)
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	if !slices.Equal(got, sorted) {
		t.Fatalf("ListClients ids %q, want %q (byte order)", got, sorted)
	}
	for _, c := range l {
		checkClient(t, "ListClients "+c.ID, want[c.ID], c)
	}
}

func (cs clientSuite) listEmpty(t *testing.T) {
	s := cs.newStore(t)
	l, err := s.ListClients(t.Context())
	mustOK(t, err, "ListClients of an empty store")
	if l == nil || len(l) != 0 {
		t.Fatalf("ListClients of an empty store: %v (nil: %v), want a non-nil empty slice", l, l == nil)
	}
	c := newClient()
	mustOK(t, s.CreateClient(t.Context(), c), "CreateClient")
	mustOK(t, s.DeleteClient(t.Context(), c.ID), "DeleteClient")
	l, err = s.ListClients(t.Context())
	mustOK(t, err, "ListClients after deleting the only client")
	if l == nil || len(l) != 0 {
		t.Fatalf("ListClients after deleting the only client: %v (nil: %v), want a non-nil empty slice", l, l == nil)
	}
}

func (cs clientSuite) deleteThenNotFound(t *testing.T) {
	s := cs.newStore(t)
	c, d := newClient(), newClient()
	mustOK(t, s.CreateClient(t.Context(), c), "CreateClient c")
	mustOK(t, s.CreateClient(t.Context(), d), "CreateClient d")
	mustOK(t, s.DeleteClient(t.Context(), c.ID), "DeleteClient c")
	_, err := s.ClientByID(t.Context(), c.ID)
	wantErr(t, err, authd.ErrNotFound, "ClientByID of the deleted client")
	got, err := s.ClientByID(t.Context(), d.ID)
	mustOK(t, err, "ClientByID of the other client")
	checkClient(t, "the other client", d, got)
	l, err := s.ListClients(t.Context())
	mustOK(t, err, "ListClients")
	if len(l) != 1 || l[0].ID != d.ID {
		t.Fatalf("ListClients after deleting %s: %d clients, want only %s", c.ID, len(l), d.ID)
	}
	// The id is free again.
	mustOK(t, s.CreateClient(t.Context(), c), "CreateClient of the deleted id")
}

func (cs clientSuite) deleteNotFound(t *testing.T) {
	s := cs.newStore(t)
	c := newClient()
	mustOK(t, s.CreateClient(t.Context(), c), "CreateClient")
	for _, id := range []string{NewID("svc"), "", strings.ToUpper(c.ID), c.ID[:len(c.ID)-1]} {
		wantErr(t, s.DeleteClient(t.Context(), id), authd.ErrNotFound, "DeleteClient("+id+")")
	}
	mustOK(t, s.DeleteClient(t.Context(), c.ID), "DeleteClient")
	wantErr(t, s.DeleteClient(t.Context(), c.ID), authd.ErrNotFound, "DeleteClient a second time")
}

func (cs clientSuite) honoursCancellation(t *testing.T) {
	s := cs.newStore(t)
	c, d := newClient(), newClient()
	mustOK(t, s.CreateClient(t.Context(), d), "CreateClient d")
	ctx := cancelled(t)
	wantCanceled(t, s.CreateClient(ctx, c), "CreateClient")
	_, err := s.ClientByID(ctx, d.ID)
	wantCanceled(t, err, "ClientByID")
	_, err = s.ListClients(ctx)
	wantCanceled(t, err, "ListClients")
	wantCanceled(t, s.DeleteClient(ctx, d.ID), "DeleteClient")
	_, err = s.ClientByID(t.Context(), c.ID)
	wantErr(t, err, authd.ErrNotFound, "ClientByID of the client created with a cancelled context")
	_, err = s.ClientByID(t.Context(), d.ID)
	mustOK(t, err, "ClientByID of the client deleted with a cancelled context")
}

// CheckUpgradedClient checks, for a store package's migration test, the
// client that an upgrade carried over from the schema before the client
// registry, where it was the only client, created as id with secretHash at
// created: it reads back as a confidential resource server, its secret hash
// and creation time kept, with no name, redirect URI, grant, scope or
// consent setting.
func CheckUpgradedClient(t *testing.T, s authd.ClientStore, id, secretHash string, created time.Time) {
	t.Helper()
	got, err := s.ClientByID(t.Context(), id)
	mustOK(t, err, "ClientByID of the upgraded client")
	want := &authd.Client{ID: id, SecretHash: secretHash, CreatedAt: created}
	checkClient(t, "the upgraded client", want, got)
	if !got.ResourceServer() {
		t.Errorf("the upgraded client is not a resource server: %+v", got)
	}
	l, err := s.ListClients(t.Context())
	mustOK(t, err, "ListClients after the upgrade")
	if len(l) != 1 {
		t.Fatalf("ListClients after the upgrade: %d clients, want the one", len(l))
	}
	checkClient(t, "ListClients after the upgrade", want, l[0])
}
