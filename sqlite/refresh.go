package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/authd/authd"
)

const familyColumns = `id, user_id, audience, client_id, scopes, secret, generation, rotated_at, created_at, last_used_at, expires_at, revoked_at, jkt`

// CreateFamily implements authd.RefreshStore.
//
// NOTE: only the hash of a refresh token is stored, never the token; the
// family's Secret derives successors but is not itself a usable token.
func (db *DB) CreateFamily(ctx context.Context, f *authd.RefreshFamily, tokenHash []byte) error {
	const op = "create refresh family"
	return db.tx(ctx, op, func(tx *sql.Tx) error {
		secret := f.Secret
		if secret == nil {
			secret = []byte{}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO refresh_families (`+familyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			f.ID, f.UserID, encodeList(f.Audience), f.ClientID, encodeList(f.Scopes), secret, f.Generation, nullMicros(f.RotatedAt),
			micros(f.CreatedAt), micros(f.LastUsedAt), micros(f.ExpiresAt), nullMicros(f.RevokedAt), f.JKT); err != nil {
			return db.wrap(ctx, op, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO refresh_tokens (hash, family_id, generation) VALUES (?, ?, ?)`,
			nonNil(tokenHash), f.ID, f.Generation); err != nil {
			return db.wrap(ctx, op, err)
		}
		return nil
	})
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func scanFamily(row scanner) (*authd.RefreshFamily, error) {
	var (
		f                      authd.RefreshFamily
		audience, scopes       string
		rotated, revoked       sql.NullInt64
		created, used, expires int64
	)
	if err := row.Scan(&f.ID, &f.UserID, &audience, &f.ClientID, &scopes, &f.Secret, &f.Generation, &rotated, &created, &used, &expires, &revoked, &f.JKT); err != nil {
		return nil, err
	}
	var err error
	if f.Audience, err = decodeList(audience); err != nil {
		return nil, err
	}
	if f.Scopes, err = decodeList(scopes); err != nil {
		return nil, err
	}
	f.RotatedAt, f.RevokedAt = fromNullMicros(rotated), fromNullMicros(revoked)
	f.CreatedAt, f.LastUsedAt, f.ExpiresAt = fromMicros(created), fromMicros(used), fromMicros(expires)
	return &f, nil
}

// UpdateFamilyByToken implements authd.RefreshStore. fn runs inside a
// BEGIN IMMEDIATE transaction: SQLite's write lock is held from the first
// read of the family to the commit, so no other update of any family, in
// this process or another, interleaves.
//
// fn must not call back into this DB: every write of this process waits for
// the one write connection fn's transaction holds, so it would wait until
// ctx ends.
func (db *DB) UpdateFamilyByToken(ctx context.Context, tokenHash []byte, fn func(f *authd.RefreshFamily, generation int) (successorHash []byte, err error)) (*authd.RefreshFamily, error) {
	const op = "update refresh family"
	var saved *authd.RefreshFamily
	err := db.tx(ctx, op, func(tx *sql.Tx) error {
		var generation int
		var familyID string
		err := tx.QueryRowContext(ctx, `SELECT family_id, generation FROM refresh_tokens WHERE hash = ?`, nonNil(tokenHash)).
			Scan(&familyID, &generation)
		if err != nil {
			return db.wrap(ctx, op, err)
		}
		orig, err := scanFamily(tx.QueryRowContext(ctx, `SELECT `+familyColumns+` FROM refresh_families WHERE id = ?`, familyID))
		if err != nil {
			return db.wrap(ctx, op, err)
		}
		f := *orig
		f.Audience = append([]string(nil), orig.Audience...)
		f.Scopes = append([]string(nil), orig.Scopes...)
		f.Secret = bytes.Clone(orig.Secret)
		succ, err := fn(&f, generation)
		if err != nil {
			return err // returned as fn gave it; the deferred rollback discards everything
		}
		// Only the four fields the contract names are saved; RETURNING
		// gives the family as stored (times at the column's precision), as
		// every later read will see it.
		s, err := scanFamily(tx.QueryRowContext(ctx, `UPDATE refresh_families
			SET generation = ?, rotated_at = ?, last_used_at = ?, revoked_at = ?
			WHERE id = ? RETURNING `+familyColumns,
			f.Generation, nullMicros(f.RotatedAt), micros(f.LastUsedAt), nullMicros(f.RevokedAt), orig.ID))
		if err != nil {
			return db.wrap(ctx, op, err)
		}
		if succ != nil {
			if err := recordToken(ctx, db, tx, op, succ, s.ID, s.Generation); err != nil {
				return err
			}
		}
		saved = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	return saved, nil
}

// recordToken records hash as the token of generation gen of family id.
// Recording what is already recorded is a no-op (a retry inside the grace
// window derives the same successor); a hash recorded for anything else is
// ErrConflict.
func recordToken(ctx context.Context, db *DB, tx *sql.Tx, op string, hash []byte, id string, gen int) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO refresh_tokens (hash, family_id, generation) VALUES (?, ?, ?) ON CONFLICT (hash) DO NOTHING`,
		hash, id, gen)
	if err != nil {
		return db.wrap(ctx, op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return db.wrap(ctx, op, err)
	} else if n == 1 {
		return nil
	}
	var (
		otherID  string
		otherGen int
	)
	if err := tx.QueryRowContext(ctx, `SELECT family_id, generation FROM refresh_tokens WHERE hash = ?`, hash).Scan(&otherID, &otherGen); err != nil {
		return db.wrap(ctx, op, err)
	}
	if otherID != id || otherGen != gen {
		return fmt.Errorf("sqlite: %s: successor hash already recorded: %w", op, authd.ErrConflict)
	}
	return nil
}

// FamilyByID implements authd.RefreshStore. Revoked and expired families
// are returned as stored.
func (db *DB) FamilyByID(ctx context.Context, id string) (*authd.RefreshFamily, error) {
	f, err := scanFamily(db.read.QueryRowContext(ctx, `SELECT `+familyColumns+` FROM refresh_families WHERE id = ?`, id))
	if err != nil {
		return nil, db.wrap(ctx, "find refresh family", err)
	}
	return f, nil
}

// RevokeFamily implements authd.RefreshStore. coalesce keeps the first
// RevokedAt.
func (db *DB) RevokeFamily(ctx context.Context, id string, at time.Time) error {
	const op = "revoke refresh family"
	n, err := db.exec(ctx, op, `UPDATE refresh_families SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`, micros(at), id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// RevokeUserFamilies implements authd.RefreshStore: every family of the
// user not yet revoked, expired ones included (their access tokens may
// outlive them), in one UPDATE … RETURNING.
func (db *DB) RevokeUserFamilies(ctx context.Context, userID string, at time.Time) ([]*authd.RefreshFamily, error) {
	const op = "revoke user refresh families"
	rows, err := db.write.QueryContext(ctx, `UPDATE refresh_families SET revoked_at = ?
		WHERE user_id = ? AND revoked_at IS NULL RETURNING `+familyColumns, micros(at), userID)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return collect(ctx, db, op, rows, scanFamily)
}

// RevokeClientFamilies implements authd.RefreshStore: RevokeUserFamilies
// for the user's families of one client, served by the index on
// (user_id, client_id).
func (db *DB) RevokeClientFamilies(ctx context.Context, userID, clientID string, at time.Time) ([]*authd.RefreshFamily, error) {
	const op = "revoke client refresh families"
	rows, err := db.write.QueryContext(ctx, `UPDATE refresh_families SET revoked_at = ?
		WHERE user_id = ? AND client_id = ? AND revoked_at IS NULL RETURNING `+familyColumns, micros(at), userID, clientID)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return collect(ctx, db, op, rows, scanFamily)
}

// DeleteFamiliesBefore implements authd.RefreshStore. Token hashes go with
// their family: explicitly here, and by ON DELETE CASCADE as well.
func (db *DB) DeleteFamiliesBefore(ctx context.Context, t time.Time) (int, error) {
	const op = "delete refresh families"
	var n int64
	err := db.tx(ctx, op, func(tx *sql.Tx) error {
		const doomed = `SELECT id FROM refresh_families WHERE expires_at < ?1 OR revoked_at < ?1`
		if _, err := tx.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE family_id IN (`+doomed+`)`, micros(t)); err != nil {
			return db.wrap(ctx, op, err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM refresh_families WHERE expires_at < ?1 OR revoked_at < ?1`, micros(t))
		if err != nil {
			return db.wrap(ctx, op, err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return db.wrap(ctx, op, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}
