package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/password"
)

// Clients is the client registry: it registers clients under the rules of
// API.md "Clients", lists, shows and deletes them, and authenticates the
// confidential ones.
type Clients struct {
	store  authd.ClientStore
	hasher *password.Hasher
	now    func() time.Time

	mu       sync.Mutex
	verified map[string]verifiedSecret // by client id
}

// verifiedSecret is a secret that passed argon2id: the stored hash it was
// checked against and the SHA-256 of the secret.
type verifiedSecret struct {
	phc string
	sum [sha256.Size]byte
}

// maxVerified bounds the verified-secret cache; past it, it starts over.
const maxVerified = 10000

// NewClients returns a Clients over store; hasher hashes and checks client
// secrets.
func NewClients(store authd.ClientStore, hasher *password.Hasher) *Clients {
	return &Clients{store: store, hasher: hasher, now: time.Now, verified: map[string]verifiedSecret{}}
}

// Limits of a client's id and secret.
const (
	// MaxIDLen is the longest client id.
	MaxIDLen = 128
	// MinSecretLen is the shortest client secret accepted.
	MinSecretLen = 32
)

// ClientSpec is what Create registers. The zero values of Scopes and
// Grants ask for the defaults.
type ClientSpec struct {
	// ID is the client_id: 1 to MaxIDLen of A-Z a-z 0-9 . _ -
	ID string
	// Name is shown on the consent page; optional.
	Name string
	// Public registers a public client: a browser or native app, which can
	// keep no secret; it has no secret, PKCE is its only proof, and it
	// needs a redirect URI. Otherwise the client is confidential.
	Public bool
	// Secret is a confidential client's secret, MinSecretLen to
	// password.MaxBytes bytes. Empty: Create generates one.
	Secret string
	// RedirectURIs are where the authorization endpoint may send the user
	// back, each stored exactly as given and compared as an exact string.
	RedirectURIs []string
	// PostLogoutRedirectURIs are where RP-initiated logout may send the
	// user, under the rules of RedirectURIs.
	PostLogoutRedirectURIs []string
	// BackchannelLogoutURI is where logout tokens are POSTed; optional.
	BackchannelLogoutURI string
	// Scopes are the scopes the client may ask for. Empty: DefaultScopes,
	// or none for a resource server.
	Scopes []string
	// Grants are the client's grant types. Empty: authorization_code and
	// refresh_token when it has a redirect URI, none (a resource server)
	// when it has none.
	Grants []string
	// FirstParty marks a trusted client: its users see no consent page.
	FirstParty bool
}

// Create checks spec against the rules (each refusal an
// *authd.InvalidError naming the field), fills in the defaults, and
// registers the client. It returns the client as stored and, for a
// confidential client, its secret: the one generated when spec.Secret is
// empty, to be shown once, or spec.Secret. A taken id is authd.ErrConflict.
//
// NOTE: the secret is stored as an argon2id hash, like a password: a
// leaked table gives no usable credential. A generated secret is 32 bytes
// from crypto/rand.
func (c *Clients) Create(ctx context.Context, spec ClientSpec) (*authd.Client, string, error) {
	cl, err := spec.client()
	if err != nil {
		return nil, "", err
	}
	secret := ""
	if !spec.Public {
		secret = spec.Secret
		if secret == "" {
			secret = newSecret()
		}
		if cl.SecretHash, err = c.hasher.Hash(ctx, secret); err != nil {
			return nil, "", fmt.Errorf("oidc: hash client secret: %w", err)
		}
	}
	cl.CreatedAt = c.now()
	if err := c.store.CreateClient(ctx, cl); err != nil {
		return nil, "", fmt.Errorf("oidc: create client: %w", err)
	}
	return cl, secret, nil
}

// newSecret returns 32 random bytes, base64url without padding.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Authenticate checks a client's id and secret (client_secret_basic or
// client_secret_post) and returns the client. Only a confidential client
// can authenticate: an unknown id, a public client's id (whatever the
// secret) and a wrong secret are all authd.ErrInvalidCredentials.
//
// NOTE: each of the three costs the same argon2id work (a dummy
// verification for the first two), so the time of the answer says neither
// whether an id exists nor whether it is public.
func (c *Clients) Authenticate(ctx context.Context, id, secret string) (*authd.Client, error) {
	// An id or secret this long cannot have been registered; refusing it
	// before any work says nothing about the registered ones. The id's
	// characters are not checked: clients of earlier versions may have
	// others.
	if len(id) > MaxIDLen || len(secret) > password.MaxBytes {
		return nil, authd.ErrInvalidCredentials
	}
	cl, err := c.store.ClientByID(ctx, id)
	if errors.Is(err, authd.ErrNotFound) {
		c.hasher.VerifyDummy(ctx, secret)
		return nil, authd.ErrInvalidCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("oidc: find client: %w", err)
	}
	if !cl.Confidential() {
		c.hasher.VerifyDummy(ctx, secret)
		return nil, authd.ErrInvalidCredentials
	}
	// NOTE: a secret that passed argon2id is remembered in memory as its
	// SHA-256, with the stored hash it matched, so that the client's next
	// requests cost one SHA-256 instead of an argon2id verification (a
	// confidential client authenticates at every code exchange and
	// refresh). Only successes are remembered: a wrong secret always pays
	// argon2id, so guessing stays as slow as before. The client is read
	// from the store on every call, so a deleted client or a new secret
	// takes effect at once; a leaked memory dump holds SHA-256s of
	// high-entropy secrets (at least 32 characters), no secret.
	sum := sha256.Sum256([]byte(secret))
	c.mu.Lock()
	v, ok := c.verified[cl.ID]
	c.mu.Unlock()
	if ok && v.phc == cl.SecretHash && subtle.ConstantTimeCompare(v.sum[:], sum[:]) == 1 {
		return cl, nil
	}
	ok, _, err = c.hasher.Verify(ctx, cl.SecretHash, secret)
	if err != nil || !ok {
		return nil, authd.ErrInvalidCredentials
	}
	c.mu.Lock()
	if len(c.verified) >= maxVerified {
		clear(c.verified)
	}
	c.verified[cl.ID] = verifiedSecret{phc: cl.SecretHash, sum: sum}
	c.mu.Unlock()
	return cl, nil
}

// Get returns the client, or an error wrapping authd.ErrNotFound.
func (c *Clients) Get(ctx context.Context, id string) (*authd.Client, error) {
	cl, err := c.store.ClientByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("oidc: find client: %w", err)
	}
	return cl, nil
}

// List returns every client, ordered by id.
func (c *Clients) List(ctx context.Context) ([]*authd.Client, error) {
	l, err := c.store.ListClients(ctx)
	if err != nil {
		return nil, fmt.Errorf("oidc: list clients: %w", err)
	}
	return l, nil
}

// Delete deletes the client: its id and secret stop working at once. An
// unknown id is an error wrapping authd.ErrNotFound.
func (c *Clients) Delete(ctx context.Context, id string) error {
	if err := c.store.DeleteClient(ctx, id); err != nil {
		return fmt.Errorf("oidc: delete client: %w", err)
	}
	return nil
}
