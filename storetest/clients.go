package storetest

import (
	"testing"

	"github.com/authd/authd"
)

// RunClientStore runs the ClientStore contract against stores made by
// newStore, which must return a fresh, empty store each time it is called.
func RunClientStore(t *testing.T, newStore func(t *testing.T) authd.ClientStore) {
	t.Helper()
	cs := clientSuite{newStore}
	t.Run("CreateClient then ClientByID returns every field", cs.createThenClientByID)
	t.Run("CreateClient ErrConflict when the id exists", cs.createConflictOnID)
	t.Run("ClientByID ErrNotFound for an unknown id", cs.byIDNotFound)
	t.Run("honours ctx cancellation", cs.honoursCancellation)
}

// clientSuite is what RunClientStore's subtests share: the constructor of
// fresh stores.
type clientSuite struct {
	newStore func(t *testing.T) authd.ClientStore
}

// newClient returns a client with a fresh id and secret hash.
func newClient() *authd.Client {
	return &authd.Client{
		ID:         NewID("svc"),
		SecretHash: "$argon2id$v=19$m=19456,t=2,p=1$" + NewID("salt") + "$" + NewID("hash"),
		CreatedAt:  Now(),
	}
}

func (cs clientSuite) createThenClientByID(t *testing.T) {
	s := cs.newStore(t)
	c, d := newClient(), newClient()
	mustOK(t, s.CreateClient(t.Context(), c), "CreateClient c")
	mustOK(t, s.CreateClient(t.Context(), d), "CreateClient d")
	got, err := s.ClientByID(t.Context(), c.ID)
	mustOK(t, err, "ClientByID c")
	checkClient(t, "ClientByID c", c, got)
	got, err = s.ClientByID(t.Context(), d.ID)
	mustOK(t, err, "ClientByID d")
	checkClient(t, "ClientByID d", d, got)
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
	for _, id := range []string{NewID("svc"), "", c.SecretHash} {
		_, err := s.ClientByID(t.Context(), id)
		wantErr(t, err, authd.ErrNotFound, "ClientByID("+id+")")
	}
}

func (cs clientSuite) honoursCancellation(t *testing.T) {
	s := cs.newStore(t)
	c := newClient()
	ctx := cancelled(t)
	wantCanceled(t, s.CreateClient(ctx, c), "CreateClient")
	_, err := s.ClientByID(ctx, c.ID)
	wantCanceled(t, err, "ClientByID")
	_, err = s.ClientByID(t.Context(), c.ID)
	wantErr(t, err, authd.ErrNotFound, "ClientByID of the client created with a cancelled context")
}
