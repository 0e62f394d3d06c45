package mfa

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeySize is the size in bytes of the key in --encryption-key-file.
const KeySize = 32

// sealVersion is the first byte of every sealed value: it names the key
// derivation and the format, so that a later format (or a rotated key) can
// be told apart from this one.
const sealVersion = 1

// Sealer encrypts secrets at rest (TOTP secrets, the bodies of outbox mails)
// under a key that is not in the database, and keys the hashes of recovery
// codes with it. It is safe for concurrent use.
//
// NOTE: two keys are derived from the file's key with HKDF-SHA256, one for
// AES-256-GCM and one for HMAC-SHA256, so that no key serves two algorithms.
type Sealer struct {
	aead   cipher.AEAD
	macKey []byte
}

// NewSealer returns a Sealer over key, which must be KeySize random bytes.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("mfa: the encryption key is %d bytes, want %d", len(key), KeySize)
	}
	encKey, err := hkdf.Key(sha256.New, key, nil, "authd seal v1", 32)
	if err != nil {
		return nil, fmt.Errorf("mfa: derive the sealing key: %w", err)
	}
	macKey, err := hkdf.Key(sha256.New, key, nil, "authd recovery code v1", 32)
	if err != nil {
		return nil, fmt.Errorf("mfa: derive the recovery-code key: %w", err)
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, fmt.Errorf("mfa: %w", err)
	}
	// NOTE: NewGCMWithRandomNonce draws a 96-bit nonce from crypto/rand for
	// every Seal and prefixes it to the ciphertext: no counter to keep across
	// nodes, and at the few secrets per user authd seals, random nonces stay
	// far below the 2^32 messages NIST allows per key.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("mfa: %w", err)
	}
	return &Sealer{aead: aead, macKey: macKey}, nil
}

// LoadKey reads the KeySize-byte key at path and returns a Sealer over it.
// When the file does not exist it creates it, mode 0600, with KeySize bytes
// from crypto/rand, and reports created. A file of any other size is
// refused with an error that names the path and what to do.
//
// NOTE: the key is written to a temporary file in the same directory and
// then hard-linked to path, which fails when path exists: of several
// processes starting at once exactly one creates the key and the others
// read it, and no process ever reads a half-written file (as it could
// with O_CREATE|O_EXCL followed by a write).
func LoadKey(path string) (s *Sealer, created bool, err error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if created, err = createKey(path); err != nil {
			return nil, false, err
		}
		key, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, false, fmt.Errorf("mfa: read the encryption key: %w", err)
	}
	if len(key) != KeySize {
		return nil, false, fmt.Errorf("mfa: encryption key file %s holds %d bytes, want exactly %d: "+
			"put back the file every node was started with, or, on a new installation, delete it "+
			"so that a new key is created (secrets sealed under the old key are then lost)",
			path, len(key), KeySize)
	}
	s, err = NewSealer(key)
	return s, created, err
}

// createKey creates path with KeySize random bytes, mode 0600, unless it
// exists (then created is false and err nil).
func createKey(path string) (created bool, err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".authd-key-*") // mode 0600
	if err != nil {
		return false, fmt.Errorf("mfa: create the encryption key %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	key := make([]byte, KeySize)
	rand.Read(key)
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return false, fmt.Errorf("mfa: create the encryption key %s: %w", path, err)
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return false, fmt.Errorf("mfa: create the encryption key %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, fmt.Errorf("mfa: create the encryption key %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("mfa: create the encryption key %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil // another process won the race; read its key
		}
		return false, fmt.Errorf("mfa: create the encryption key %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil { // make the new name durable
		d.Sync()
		d.Close()
	}
	return true, nil
}

// Derive returns a 32-byte key for purpose, derived with HKDF-SHA256 from
// the file's key material, so that another part of authd (the DPoP nonce
// source) gets a key every node shares without the database holding it.
//
// NOTE: the label separates purposes: a derived key opens nothing sealed
// here and equals no other derived key.
func (s *Sealer) Derive(purpose string) []byte {
	k, err := hkdf.Key(sha256.New, s.macKey, nil, "authd derived key v1\x00"+purpose, 32)
	if err != nil {
		panic("mfa: derive: " + err.Error()) // cannot happen: 32 bytes of SHA-256 HKDF
	}
	return k
}

// totpAD is the associated data of a sealed TOTP secret.
//
// NOTE: it names the purpose and the user, so that a sealed value copied to
// another user's row (or to another purpose) fails to open.
func totpAD(userID string) []byte {
	return []byte("authd totp\x00" + userID)
}

// Seal encrypts the TOTP secret of the user userID with AES-256-GCM: a
// version byte, a random nonce, then the ciphertext and tag.
func (s *Sealer) Seal(userID string, secret []byte) []byte {
	return s.seal(totpAD(userID), secret)
}

// seal encrypts p with AES-256-GCM under the associated data ad: a version
// byte, a random nonce, then the ciphertext and tag. The version byte is
// part of the associated data too.
func (s *Sealer) seal(ad, p []byte) []byte {
	return s.aead.Seal([]byte{sealVersion}, nil, p, append(ad, sealVersion))
}

// open decrypts a value seal returned for ad; ErrSealed on any failure.
func (s *Sealer) open(ad, sealed []byte) ([]byte, error) {
	if len(sealed) < 1 || sealed[0] != sealVersion {
		return nil, ErrSealed
	}
	p, err := s.aead.Open(nil, nil, sealed[1:], append(ad, sealVersion))
	if err != nil {
		return nil, ErrSealed
	}
	return p, nil
}

// Open decrypts a value that Seal returned for the user userID. It returns
// ErrSealed on any failure: another key, another user, a changed byte.
func (s *Sealer) Open(userID string, sealed []byte) ([]byte, error) {
	return s.open(totpAD(userID), sealed)
}

// recoveryHash is what the store keeps of a normalised recovery code.
//
// NOTE: a fast keyed hash is the right tool here, not argon2id: a code has
// 50 random bits, so there is no dictionary to slow down, online guessing
// is throttled and each guess burns nothing but a request, and offline a
// leaked database alone is useless because the HMAC key is derived from
// --encryption-key-file, which is not in the database. The user id is part
// of the message, so equal codes of two users hash differently and a hash
// moved to another user matches nothing.
func (s *Sealer) recoveryHash(userID, normalised string) []byte {
	m := hmac.New(sha256.New, s.macKey)
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(normalised))
	return m.Sum(nil)
}

// outboxAD is the associated data of a sealed outbox body.
//
// NOTE: it names the purpose and the message id, so that a sealed body
// copied to another outbox row (or used as a TOTP secret) fails to open.
func outboxAD(id string) []byte {
	return []byte("authd outbox\x00" + id)
}

// SealOutbox encrypts the body of the outbox message id (a mail, which
// carries a live link) as Seal does: a version byte, a random nonce, then
// the ciphertext and tag.
func (s *Sealer) SealOutbox(id string, body []byte) []byte {
	return s.seal(outboxAD(id), body)
}

// OpenOutbox decrypts a body that SealOutbox returned for the message id.
// It returns ErrSealed on any failure: another key, another id, a changed
// byte.
func (s *Sealer) OpenOutbox(id string, sealed []byte) ([]byte, error) {
	return s.open(outboxAD(id), sealed)
}

// upstreamAD is the associated data of a sealed upstream client secret.
//
// NOTE: it names the purpose and the provider id, so that a sealed secret
// copied to another provider's row (or used as a TOTP secret or an outbox
// body) fails to open.
func upstreamAD(upstreamID string) []byte {
	return []byte("authd upstream secret\x00" + upstreamID)
}

// SealUpstreamSecret encrypts authd's client secret at the upstream
// provider upstreamID as Seal does: a version byte, a random nonce, then
// the ciphertext and tag.
func (s *Sealer) SealUpstreamSecret(upstreamID string, secret []byte) []byte {
	return s.seal(upstreamAD(upstreamID), secret)
}

// OpenUpstreamSecret decrypts a secret that SealUpstreamSecret returned
// for the provider upstreamID. It returns ErrSealed on any failure: another
// key, another provider, a changed byte.
func (s *Sealer) OpenUpstreamSecret(upstreamID string, sealed []byte) ([]byte, error) {
	return s.open(upstreamAD(upstreamID), sealed)
}
