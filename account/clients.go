package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/password"
)

// Clients manages the services allowed to call /oauth2/introspect.
type Clients struct {
	store  authd.ClientStore
	hasher *password.Hasher
	now    func() time.Time
}

// NewClients returns a Clients over store.
func NewClients(store authd.ClientStore, hasher *password.Hasher) *Clients {
	return &Clients{store: store, hasher: hasher, now: time.Now}
}

// MinClientSecretLen is the shortest client secret accepted.
const MinClientSecretLen = 32

// Create registers a client. NOTE: the secret is stored as an argon2id
// hash, like a password: a leaked table gives no usable credential.
func (c *Clients) Create(ctx context.Context, id, secret string) error {
	if id == "" || len(id) > 128 {
		return authd.Invalidf("id", "a client id is 1 to 128 characters")
	}
	if len(secret) < MinClientSecretLen || len(secret) > password.MaxBytes {
		return authd.Invalidf("secret", "a client secret is %d to %d characters", MinClientSecretLen, password.MaxBytes)
	}
	h, err := c.hasher.Hash(ctx, secret)
	if err != nil {
		return fmt.Errorf("account: hash client secret: %w", err)
	}
	if err := c.store.CreateClient(ctx, &authd.Client{ID: id, SecretHash: h, CreatedAt: c.now()}); err != nil {
		return fmt.Errorf("account: create client: %w", err)
	}
	return nil
}

// Authenticate checks a client's credentials: authd.ErrInvalidCredentials
// when the id is unknown or the secret wrong (same work for both).
func (c *Clients) Authenticate(ctx context.Context, id, secret string) error {
	if len(id) > 128 || len(secret) > password.MaxBytes {
		return authd.ErrInvalidCredentials
	}
	cl, err := c.store.ClientByID(ctx, id)
	if errors.Is(err, authd.ErrNotFound) {
		c.hasher.VerifyDummy(ctx, secret)
		return authd.ErrInvalidCredentials
	}
	if err != nil {
		return fmt.Errorf("account: find client: %w", err)
	}
	ok, _, err := c.hasher.Verify(ctx, cl.SecretHash, secret)
	if err != nil || !ok {
		return authd.ErrInvalidCredentials
	}
	return nil
}
