package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd"
)

// Precision is the time precision every store must keep: PostgreSQL keeps
// microseconds.
const Precision = time.Microsecond

// Now returns the current wall-clock time in UTC, truncated to Precision,
// without a monotonic reading: a value every store can round-trip exactly.
func Now() time.Time { return time.Now().UTC().Truncate(Precision) }

// NewID returns a random identifier with the given prefix, unique across
// runs so that stores shared between runs (a Redis server) never collide.
func NewID(prefix string) string {
	var b [8]byte
	rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// NewHash returns a fresh 32-byte SHA-256 value, as stores see the hashes of
// session IDs and refresh tokens. The first byte is zero so that stores that
// treat hashes as C strings are caught.
func NewHash() []byte {
	var b [32]byte
	rand.Read(b[:])
	h := sha256.Sum256(b[:])
	h[0] = 0
	return h[:]
}

// cancelled returns a context that is already cancelled.
func cancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

// wantErr fails t unless errors.Is(err, want).
func wantErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// mustOK fails t on a non-nil error.
func mustOK(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// wantCanceled checks the contract "honours ctx cancellation": the call with a
// cancelled context fails with an error that is context.Canceled.
func wantCanceled(t *testing.T, err error, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s with a cancelled context: got nil error", what)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("%s with a cancelled context: got %v, want an error wrapping context.Canceled", what, err)
	}
}

// diff collects the fields in which two values differ.
type diff []string

func (d *diff) str(name, want, got string) {
	if want != got {
		*d = append(*d, fmt.Sprintf("%s: got %q, want %q", name, got, want))
	}
}

func (d *diff) int(name string, want, got int) {
	if want != got {
		*d = append(*d, fmt.Sprintf("%s: got %d, want %d", name, got, want))
	}
}

func (d *diff) int64(name string, want, got int64) {
	if want != got {
		*d = append(*d, fmt.Sprintf("%s: got %d, want %d", name, got, want))
	}
}

func (d *diff) bool(name string, want, got bool) {
	if want != got {
		*d = append(*d, fmt.Sprintf("%s: got %v, want %v", name, got, want))
	}
}

func (d *diff) time(name string, want, got time.Time) {
	if !want.Equal(got) || want.IsZero() != got.IsZero() {
		*d = append(*d, fmt.Sprintf("%s: got %s, want %s", name, fmtTime(got), fmtTime(want)))
	}
}

func (d *diff) bytes(name string, want, got []byte) {
	if !bytes.Equal(want, got) {
		*d = append(*d, fmt.Sprintf("%s: got %x, want %x", name, got, want))
	}
}

// strs compares string slices, a nil slice equal to an empty one.
func (d *diff) strs(name string, want, got []string) {
	if !slices.Equal(want, got) {
		*d = append(*d, fmt.Sprintf("%s: got %q, want %q", name, got, want))
	}
}

func (d diff) report(t *testing.T, what string) {
	t.Helper()
	if len(d) > 0 {
		t.Errorf("%s differs:\n\t%s", what, strings.Join(d, "\n\t"))
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "zero time"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func checkUser(t *testing.T, what string, want, got *authd.User) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got nil user", what)
	}
	var d diff
	d.str("ID", want.ID, got.ID)
	d.str("Email", want.Email, got.Email)
	d.str("PasswordHash", want.PasswordHash, got.PasswordHash)
	d.strs("Roles", want.Roles, got.Roles)
	d.bool("Locked", want.Locked, got.Locked)
	d.bool("EmailVerified", want.EmailVerified, got.EmailVerified)
	d.time("CreatedAt", want.CreatedAt, got.CreatedAt)
	d.time("UpdatedAt", want.UpdatedAt, got.UpdatedAt)
	d.report(t, what)
}

func checkLink(t *testing.T, what string, want, got *authd.Link) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got nil link", what)
	}
	var d diff
	d.bytes("Hash", want.Hash, got.Hash)
	d.str("Purpose", want.Purpose, got.Purpose)
	d.str("UserID", want.UserID, got.UserID)
	d.str("Email", want.Email, got.Email)
	d.time("CreatedAt", want.CreatedAt, got.CreatedAt)
	d.time("ExpiresAt", want.ExpiresAt, got.ExpiresAt)
	d.report(t, what)
}

func checkUpstream(t *testing.T, what string, want, got *authd.Upstream) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got nil upstream", what)
	}
	var d diff
	d.str("ID", want.ID, got.ID)
	d.str("Issuer", want.Issuer, got.Issuer)
	d.str("ClientID", want.ClientID, got.ClientID)
	d.bytes("SecretSealed", want.SecretSealed, got.SecretSealed)
	d.str("Name", want.Name, got.Name)
	d.strs("Scopes", want.Scopes, got.Scopes)
	d.bool("TrustEmail", want.TrustEmail, got.TrustEmail)
	d.time("CreatedAt", want.CreatedAt, got.CreatedAt)
	d.report(t, what)
}

func checkIdentity(t *testing.T, what string, want, got *authd.Identity) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got nil identity", what)
	}
	var d diff
	d.str("UpstreamID", want.UpstreamID, got.UpstreamID)
	d.str("Subject", want.Subject, got.Subject)
	d.str("UserID", want.UserID, got.UserID)
	d.str("Email", want.Email, got.Email)
	d.time("LinkedAt", want.LinkedAt, got.LinkedAt)
	d.report(t, what)
}

func checkSession(t *testing.T, what string, want, got *authd.Session) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got nil session", what)
	}
	var d diff
	d.str("ID", want.ID, got.ID)
	d.bytes("Hash", want.Hash, got.Hash)
	d.str("UserID", want.UserID, got.UserID)
	d.str("Email", want.Email, got.Email)
	d.strs("Roles", want.Roles, got.Roles)
	d.time("CreatedAt", want.CreatedAt, got.CreatedAt)
	d.time("LastSeenAt", want.LastSeenAt, got.LastSeenAt)
	d.time("ExpiresAt", want.ExpiresAt, got.ExpiresAt)
	d.time("AbsoluteExpiresAt", want.AbsoluteExpiresAt, got.AbsoluteExpiresAt)
	d.str("IP", want.IP, got.IP)
	d.str("UserAgent", want.UserAgent, got.UserAgent)
	d.strs("AMR", want.AMR, got.AMR)
	d.bool("Pending", want.Pending, got.Pending)
	d.report(t, what)
}

func checkTOTP(t *testing.T, what string, want, got *authd.TOTP) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got nil TOTP", what)
	}
	var d diff
	d.str("UserID", want.UserID, got.UserID)
	d.bytes("Sealed", want.Sealed, got.Sealed)
	d.bool("Confirmed", want.Confirmed, got.Confirmed)
	d.int64("LastStep", want.LastStep, got.LastStep)
	d.time("CreatedAt", want.CreatedAt, got.CreatedAt)
	d.report(t, what)
}

func checkPasskey(t *testing.T, what string, want, got *authd.Passkey) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got nil passkey", what)
	}
	var d diff
	d.str("ID", want.ID, got.ID)
	d.str("UserID", want.UserID, got.UserID)
	d.str("Name", want.Name, got.Name)
	d.bytes("CredentialID", want.CredentialID, got.CredentialID)
	d.bytes("Credential", want.Credential, got.Credential)
	d.int64("SignCount", int64(want.SignCount), int64(got.SignCount))
	d.time("CreatedAt", want.CreatedAt, got.CreatedAt)
	d.time("LastUsedAt", want.LastUsedAt, got.LastUsedAt)
	d.report(t, what)
}

func checkFamily(t *testing.T, what string, want, got *authd.RefreshFamily) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got nil family", what)
	}
	var d diff
	d.str("ID", want.ID, got.ID)
	d.str("UserID", want.UserID, got.UserID)
	d.strs("Audience", want.Audience, got.Audience)
	d.str("ClientID", want.ClientID, got.ClientID)
	d.strs("Scopes", want.Scopes, got.Scopes)
	d.bytes("Secret", want.Secret, got.Secret)
	d.int("Generation", want.Generation, got.Generation)
	d.time("RotatedAt", want.RotatedAt, got.RotatedAt)
	d.time("CreatedAt", want.CreatedAt, got.CreatedAt)
	d.time("LastUsedAt", want.LastUsedAt, got.LastUsedAt)
	d.time("ExpiresAt", want.ExpiresAt, got.ExpiresAt)
	d.time("RevokedAt", want.RevokedAt, got.RevokedAt)
	d.str("JKT", want.JKT, got.JKT)
	d.report(t, what)
}

func checkKey(t *testing.T, what string, want, got *authd.Key) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got nil key", what)
	}
	var d diff
	d.str("ID", want.ID, got.ID)
	d.str("Alg", want.Alg, got.Alg)
	d.bytes("Private", want.Private, got.Private)
	d.bytes("Public", want.Public, got.Public)
	d.time("CreatedAt", want.CreatedAt, got.CreatedAt)
	d.time("RetiredAt", want.RetiredAt, got.RetiredAt)
	d.report(t, what)
}

func checkClient(t *testing.T, what string, want, got *authd.Client) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got nil client", what)
	}
	var d diff
	d.str("ID", want.ID, got.ID)
	d.str("SecretHash", want.SecretHash, got.SecretHash)
	d.str("Name", want.Name, got.Name)
	d.strs("RedirectURIs", want.RedirectURIs, got.RedirectURIs)
	d.strs("PostLogoutRedirectURIs", want.PostLogoutRedirectURIs, got.PostLogoutRedirectURIs)
	d.str("BackchannelLogoutURI", want.BackchannelLogoutURI, got.BackchannelLogoutURI)
	d.strs("Scopes", want.Scopes, got.Scopes)
	d.strs("Grants", want.Grants, got.Grants)
	d.bool("FirstParty", want.FirstParty, got.FirstParty)
	d.time("CreatedAt", want.CreatedAt, got.CreatedAt)
	d.report(t, what)
}

func checkCode(t *testing.T, what string, want, got *authd.AuthCode) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got nil code", what)
	}
	var d diff
	d.bytes("Hash", want.Hash, got.Hash)
	d.str("ClientID", want.ClientID, got.ClientID)
	d.str("UserID", want.UserID, got.UserID)
	d.str("SessionID", want.SessionID, got.SessionID)
	d.str("RedirectURI", want.RedirectURI, got.RedirectURI)
	d.str("Challenge", want.Challenge, got.Challenge)
	d.str("Nonce", want.Nonce, got.Nonce)
	d.strs("Scopes", want.Scopes, got.Scopes)
	d.strs("Audience", want.Audience, got.Audience)
	d.time("AuthTime", want.AuthTime, got.AuthTime)
	d.strs("AMR", want.AMR, got.AMR)
	d.str("ACR", want.ACR, got.ACR)
	d.time("CreatedAt", want.CreatedAt, got.CreatedAt)
	d.time("ExpiresAt", want.ExpiresAt, got.ExpiresAt)
	d.time("UsedAt", want.UsedAt, got.UsedAt)
	d.str("TokenID", want.TokenID, got.TokenID)
	d.str("FamilyID", want.FamilyID, got.FamilyID)
	d.bool("Reused", want.Reused, got.Reused)
	d.report(t, what)
}

func checkConsent(t *testing.T, what string, want, got *authd.Consent) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got nil consent", what)
	}
	var d diff
	d.str("UserID", want.UserID, got.UserID)
	d.str("ClientID", want.ClientID, got.ClientID)
	d.strs("Scopes", want.Scopes, got.Scopes)
	d.time("GrantedAt", want.GrantedAt, got.GrantedAt)
	d.report(t, what)
}

func checkMessage(t *testing.T, what string, want, got *authd.OutboxMessage) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got nil message", what)
	}
	var d diff
	d.str("ID", want.ID, got.ID)
	d.str("Kind", want.Kind, got.Kind)
	d.str("Target", want.Target, got.Target)
	d.bytes("Body", want.Body, got.Body)
	d.str("UserID", want.UserID, got.UserID)
	d.str("SessionID", want.SessionID, got.SessionID)
	d.str("ClientID", want.ClientID, got.ClientID)
	d.int("Attempts", want.Attempts, got.Attempts)
	d.time("CreatedAt", want.CreatedAt, got.CreatedAt)
	d.time("NextAt", want.NextAt, got.NextAt)
	d.str("LastErr", want.LastErr, got.LastErr)
	d.report(t, what)
}

func checkEvent(t *testing.T, what string, want, got authd.AuditEvent) {
	t.Helper()
	var d diff
	d.time("At", want.At, got.At)
	d.str("Event", want.Event, got.Event)
	d.str("UserID", want.UserID, got.UserID)
	d.str("SessionID", want.SessionID, got.SessionID)
	d.str("IP", want.IP, got.IP)
	d.str("UserAgent", want.UserAgent, got.UserAgent)
	d.str("Detail", want.Detail, got.Detail)
	d.report(t, what)
}

func checkRevocation(t *testing.T, what string, want, got authd.Revocation) {
	t.Helper()
	var d diff
	d.str("Kind", want.Kind, got.Kind)
	d.str("ID", want.ID, got.ID)
	d.time("ExpiresAt", want.ExpiresAt, got.ExpiresAt)
	d.report(t, what)
}

// sortedCopy returns a sorted copy of s.
func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// wantSameSet fails t unless want and got hold the same strings, each once.
func wantSameSet(t *testing.T, what string, want, got []string) {
	t.Helper()
	w, g := sortedCopy(want), sortedCopy(got)
	if !slices.Equal(w, g) {
		t.Fatalf("%s: got %q, want %q (in any order)", what, g, w)
	}
}
