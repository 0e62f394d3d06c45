package authd

import (
	"crypto/rand"
	"encoding/base64"
)

// NewID returns a random identifier for users, sessions and refresh
// families: 128 bits from crypto/rand, base64url without padding. It is
// public (it may appear in URLs and tokens), never a secret.
func NewID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
