package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/authd/authd"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

const codeColumns = `hash, client_id, user_id, session_id, redirect_uri, challenge, nonce, scopes, audience,
	auth_time, amr, acr, created_at, expires_at, used_at, token_id, family_id, reused`

// CreateCode implements authd.CodeStore. The code starts unredeemed,
// whatever c's UsedAt, TokenID, FamilyID and Reused hold.
//
// NOTE: c.Hash is the SHA-256 of the code; the code itself is never
// stored, so a copy of the database redeems nothing (SECURITY.md A2).
func (db *DB) CreateCode(ctx context.Context, c *authd.AuthCode) error {
	_, err := db.exec(ctx, "create authorization code",
		`INSERT INTO auth_codes (`+codeColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, '', '', false)`,
		nonNil(c.Hash), c.ClientID, c.UserID, c.SessionID, c.RedirectURI, c.Challenge, c.Nonce,
		list(c.Scopes), list(c.Audience), c.AuthTime, list(c.AMR), c.ACR, c.CreatedAt, c.ExpiresAt)
	return err
}

// RedeemCode implements authd.CodeStore with two single statements, no
// transaction. The first is a conditional UPDATE (used_at IS NULL): of
// concurrent calls, one takes the row lock and sets used_at; at READ
// COMMITTED the others wait for its commit, re-check the condition on the
// row it committed, and update nothing. A call that updated nothing marks
// the code reused, which returns it as its first redemption saved it, or
// finds no code at all.
func (db *DB) RedeemCode(ctx context.Context, hash []byte, at time.Time, tokenID, familyID string) (*authd.AuthCode, bool, error) {
	const op = "redeem authorization code"
	if len(hash) == 0 {
		return nil, false, db.keyNotFound(ctx, op)
	}
	c, err := scanCode(db.pool.QueryRow(ctx, `UPDATE auth_codes SET used_at = $2, token_id = $3, family_id = $4
		WHERE hash = $1 AND used_at IS NULL RETURNING `+codeColumns, hash, at, tokenID, familyID))
	if err == nil {
		return c, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, false, db.wrap(ctx, op, err)
	}
	c, err = scanCode(db.pool.QueryRow(ctx, `UPDATE auth_codes SET reused = true
		WHERE hash = $1 RETURNING `+codeColumns, hash))
	if err != nil {
		return nil, false, db.wrap(ctx, op, err) // pgx.ErrNoRows: ErrNotFound
	}
	return c, false, nil
}

// CodeReused implements authd.CodeStore.
func (db *DB) CodeReused(ctx context.Context, hash []byte) (bool, error) {
	const op = "find authorization code"
	if len(hash) == 0 {
		return false, db.keyNotFound(ctx, op)
	}
	var reused bool
	if err := db.pool.QueryRow(ctx, `SELECT reused FROM auth_codes WHERE hash = $1`, hash).Scan(&reused); err != nil {
		return false, db.wrap(ctx, op, err)
	}
	return reused, nil
}

// DeleteCodesBefore implements authd.CodeStore.
func (db *DB) DeleteCodesBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := db.exec(ctx, "delete authorization codes", `DELETE FROM auth_codes WHERE expires_at < $1`, t)
	return int(n), err
}

// scanCode reads one row of codeColumns.
func scanCode(row pgx.Row) (*authd.AuthCode, error) {
	var (
		c    authd.AuthCode
		used pgtype.Timestamptz
	)
	err := row.Scan(&c.Hash, &c.ClientID, &c.UserID, &c.SessionID, &c.RedirectURI, &c.Challenge, &c.Nonce,
		&c.Scopes, &c.Audience, &c.AuthTime, &c.AMR, &c.ACR, &c.CreatedAt, &c.ExpiresAt, &used,
		&c.TokenID, &c.FamilyID, &c.Reused)
	if err != nil {
		return nil, err
	}
	c.UsedAt = fromNullTime(used)
	return &c, nil
}

const consentColumns = `user_id, client_id, scopes, granted_at`

// PutConsent implements authd.ConsentStore: one INSERT … ON CONFLICT DO
// UPDATE.
func (db *DB) PutConsent(ctx context.Context, c *authd.Consent) error {
	_, err := db.exec(ctx, "put consent",
		`INSERT INTO consents (`+consentColumns+`) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`,
		c.UserID, c.ClientID, list(c.Scopes), c.GrantedAt)
	return err
}

// ConsentFor implements authd.ConsentStore.
func (db *DB) ConsentFor(ctx context.Context, userID, clientID string) (*authd.Consent, error) {
	const op = "find consent"
	if !storable(userID, clientID) {
		return nil, db.keyNotFound(ctx, op)
	}
	c, err := scanConsent(db.pool.QueryRow(ctx, `SELECT `+consentColumns+` FROM consents
		WHERE user_id = $1 AND client_id = $2`, userID, clientID))
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return c, nil
}

// ListConsents implements authd.ConsentStore. The consents are sorted
// here, in byte order, not by ORDER BY under the database's collation (see
// ListClients).
func (db *DB) ListConsents(ctx context.Context, userID string) ([]*authd.Consent, error) {
	const op = "list consents"
	if !storable(userID) {
		if err := ctx.Err(); err != nil {
			return nil, db.wrap(ctx, op, err)
		}
		return []*authd.Consent{}, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT `+consentColumns+` FROM consents WHERE user_id = $1`, userID)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	out, err := collect(ctx, db, op, rows, scanConsent)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *authd.Consent) int { return strings.Compare(a.ClientID, b.ClientID) })
	return out, nil
}

// DeleteConsent implements authd.ConsentStore.
func (db *DB) DeleteConsent(ctx context.Context, userID, clientID string) error {
	const op = "delete consent"
	if !storable(userID, clientID) {
		return db.keyNotFound(ctx, op)
	}
	n, err := db.exec(ctx, op, `DELETE FROM consents WHERE user_id = $1 AND client_id = $2`, userID, clientID)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// scanConsent reads one row of consentColumns.
func scanConsent(row pgx.Row) (*authd.Consent, error) {
	var c authd.Consent
	if err := row.Scan(&c.UserID, &c.ClientID, &c.Scopes, &c.GrantedAt); err != nil {
		return nil, err
	}
	return &c, nil
}

// LinkSessionClient implements authd.SessionClientStore: one
// INSERT … ON CONFLICT DO UPDATE that keeps the later expiry.
func (db *DB) LinkSessionClient(ctx context.Context, sessionID, clientID, userID string, expiresAt time.Time) error {
	_, err := db.exec(ctx, "link session client",
		`INSERT INTO session_clients (session_id, client_id, user_id, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (session_id, client_id) DO UPDATE
		SET expires_at = greatest(session_clients.expires_at, excluded.expires_at)`,
		sessionID, clientID, userID, expiresAt)
	return err
}

// TakeSessionClients implements authd.SessionClientStore: one
// DELETE … RETURNING, so each record goes to exactly one call (a second
// call waits for the first's row locks, then finds the rows gone). The ids
// are sorted here, in byte order.
func (db *DB) TakeSessionClients(ctx context.Context, sessionID string) ([]string, error) {
	const op = "take session clients"
	if !storable(sessionID) {
		if err := ctx.Err(); err != nil {
			return nil, db.wrap(ctx, op, err)
		}
		return []string{}, nil
	}
	rows, err := db.pool.Query(ctx, `DELETE FROM session_clients WHERE session_id = $1 RETURNING client_id`, sessionID)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	ids, err := collect(ctx, db, op, rows, func(r pgx.Row) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}

// DeleteSessionClientsBefore implements authd.SessionClientStore.
func (db *DB) DeleteSessionClientsBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := db.exec(ctx, "delete session clients", `DELETE FROM session_clients WHERE expires_at < $1`, t)
	return int(n), err
}
