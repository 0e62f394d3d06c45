package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/authd/authd"
)

const codeColumns = `hash, client_id, user_id, session_id, redirect_uri, challenge, nonce, scopes, audience,
	auth_time, amr, acr, created_at, expires_at, used_at, token_id, family_id, reused`

// CreateCode implements authd.CodeStore. The code starts unredeemed,
// whatever c's UsedAt, TokenID, FamilyID and Reused hold.
//
// NOTE: c.Hash is the SHA-256 of the code; the code itself is never
// stored, so a copy of the file redeems nothing (SECURITY.md A2).
func (db *DB) CreateCode(ctx context.Context, c *authd.AuthCode) error {
	_, err := db.exec(ctx, "create authorization code",
		`INSERT INTO auth_codes (`+codeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, '', '', 0)`,
		nonNil(c.Hash), c.ClientID, c.UserID, c.SessionID, c.RedirectURI, c.Challenge, c.Nonce,
		encodeList(c.Scopes), encodeList(c.Audience), micros(c.AuthTime), encodeList(c.AMR), c.ACR,
		micros(c.CreatedAt), micros(c.ExpiresAt))
	return err
}

// redeemCodeSQL is the first redemption of a code.
const redeemCodeSQL = `UPDATE auth_codes SET used_at = ?, token_id = ?, family_id = ?
	WHERE hash = ? AND used_at IS NULL RETURNING ` + codeColumns

// RedeemCode implements authd.CodeStore in one IMMEDIATE transaction: the
// conditional UPDATE (used_at IS NULL) succeeds for the first redemption
// only, and the write lock, held from the first statement to the commit,
// orders every redemption of this process and of any other one sharing the
// file. A code already redeemed is marked reused and returned as its first
// redemption saved it.
func (db *DB) RedeemCode(ctx context.Context, hash []byte, at time.Time, tokenID, familyID string) (*authd.AuthCode, bool, error) {
	const op = "redeem authorization code"
	var (
		c     *authd.AuthCode
		first bool
	)
	err := db.tx(ctx, op, func(tx *sql.Tx) error {
		// used_at is set even for a zero at (its microseconds, not NULL),
		// so that a redeemed code never reads as unredeemed.
		saved, err := scanCode(db.txQueryRow(ctx, tx, redeemCodeSQL, micros(at), tokenID, familyID, nonNil(hash)))
		if err == nil {
			c, first = saved, true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return db.wrap(ctx, op, err)
		}
		saved, err = scanCode(tx.QueryRowContext(ctx, `UPDATE auth_codes SET reused = 1
			WHERE hash = ? RETURNING `+codeColumns, nonNil(hash)))
		if err != nil {
			return db.wrap(ctx, op, err) // sql.ErrNoRows: ErrNotFound
		}
		c = saved
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return c, first, nil
}

// CodeReused implements authd.CodeStore.
func (db *DB) CodeReused(ctx context.Context, hash []byte) (bool, error) {
	var reused bool
	err := db.queryRow(ctx, `SELECT reused FROM auth_codes WHERE hash = ?`, nonNil(hash)).Scan(&reused)
	if err != nil {
		return false, db.wrap(ctx, "find authorization code", err)
	}
	return reused, nil
}

// DeleteCodesBefore implements authd.CodeStore.
func (db *DB) DeleteCodesBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := db.exec(ctx, "delete authorization codes", `DELETE FROM auth_codes WHERE expires_at < ?`, micros(t))
	return int(n), err
}

// scanCode reads one row of codeColumns.
func scanCode(row scanner) (*authd.AuthCode, error) {
	var (
		c                          authd.AuthCode
		scopes, audience, amr      string
		authTime, created, expires int64
		used                       sql.NullInt64
	)
	err := row.Scan(&c.Hash, &c.ClientID, &c.UserID, &c.SessionID, &c.RedirectURI, &c.Challenge, &c.Nonce,
		&scopes, &audience, &authTime, &amr, &c.ACR, &created, &expires, &used, &c.TokenID, &c.FamilyID, &c.Reused)
	if err != nil {
		return nil, err
	}
	for _, l := range []struct {
		dst *[]string
		src string
	}{{&c.Scopes, scopes}, {&c.Audience, audience}, {&c.AMR, amr}} {
		if *l.dst, err = decodeList(l.src); err != nil {
			return nil, err
		}
	}
	c.AuthTime, c.CreatedAt, c.ExpiresAt = fromMicros(authTime), fromMicros(created), fromMicros(expires)
	c.UsedAt = fromNullMicros(used)
	return &c, nil
}

const consentColumns = `user_id, client_id, scopes, granted_at`

// PutConsent implements authd.ConsentStore: one UPSERT.
func (db *DB) PutConsent(ctx context.Context, c *authd.Consent) error {
	_, err := db.exec(ctx, "put consent",
		`INSERT INTO consents (`+consentColumns+`) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`,
		c.UserID, c.ClientID, encodeList(c.Scopes), micros(c.GrantedAt))
	return err
}

// ConsentFor implements authd.ConsentStore.
func (db *DB) ConsentFor(ctx context.Context, userID, clientID string) (*authd.Consent, error) {
	c, err := scanConsent(db.queryRow(ctx, `SELECT `+consentColumns+` FROM consents
		WHERE user_id = ? AND client_id = ?`, userID, clientID))
	if err != nil {
		return nil, db.wrap(ctx, "find consent", err)
	}
	return c, nil
}

// ListConsents implements authd.ConsentStore: ORDER BY under the BINARY
// collation is byte order.
func (db *DB) ListConsents(ctx context.Context, userID string) ([]*authd.Consent, error) {
	const op = "list consents"
	rows, err := db.read.QueryContext(ctx, `SELECT `+consentColumns+` FROM consents WHERE user_id = ? ORDER BY client_id`, userID)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return collect(ctx, db, op, rows, scanConsent)
}

// DeleteConsent implements authd.ConsentStore.
func (db *DB) DeleteConsent(ctx context.Context, userID, clientID string) error {
	const op = "delete consent"
	n, err := db.exec(ctx, op, `DELETE FROM consents WHERE user_id = ? AND client_id = ?`, userID, clientID)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// scanConsent reads one row of consentColumns.
func scanConsent(row scanner) (*authd.Consent, error) {
	var (
		c       authd.Consent
		scopes  string
		granted int64
	)
	if err := row.Scan(&c.UserID, &c.ClientID, &scopes, &granted); err != nil {
		return nil, err
	}
	var err error
	if c.Scopes, err = decodeList(scopes); err != nil {
		return nil, err
	}
	c.GrantedAt = fromMicros(granted)
	return &c, nil
}

// LinkSessionClient implements authd.SessionClientStore: one UPSERT that
// keeps the later expiry.
func (db *DB) LinkSessionClient(ctx context.Context, sessionID, clientID, userID string, expiresAt time.Time) error {
	_, err := db.exec(ctx, "link session client",
		`INSERT INTO session_clients (session_id, client_id, user_id, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (session_id, client_id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`,
		sessionID, clientID, userID, micros(expiresAt))
	return err
}

// TakeSessionClients implements authd.SessionClientStore: one
// DELETE … RETURNING, so each record goes to exactly one call. RETURNING
// has no order; the ids are sorted here (byte order).
func (db *DB) TakeSessionClients(ctx context.Context, sessionID string) ([]string, error) {
	const op = "take session clients"
	rows, err := db.write.QueryContext(ctx, `DELETE FROM session_clients WHERE session_id = ? RETURNING client_id`, sessionID)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	ids, err := collect(ctx, db, op, rows, func(r scanner) (string, error) {
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
	n, err := db.exec(ctx, "delete session clients", `DELETE FROM session_clients WHERE expires_at < ?`, micros(t))
	return int(n), err
}
