package postgres

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/authd/authd"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

const familyColumns = `id, user_id, audience, client_id, scopes, secret, generation, rotated_at, created_at, last_used_at, expires_at, revoked_at, jkt`

// CreateFamily implements authd.RefreshStore. The family and its first
// token are inserted by one statement (a data-modifying WITH), so both or
// neither are stored, in one round trip.
//
// NOTE: only the hash of a refresh token is stored, never the token; the
// family's Secret derives successors but is not itself a usable token.
func (db *DB) CreateFamily(ctx context.Context, f *authd.RefreshFamily, tokenHash []byte) error {
	_, err := db.exec(ctx, "create refresh family",
		`WITH f AS (
			INSERT INTO refresh_families (`+familyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			RETURNING id, generation
		)
		INSERT INTO refresh_tokens (hash, family_id, generation) SELECT $14, id, generation FROM f`,
		f.ID, f.UserID, list(f.Audience), f.ClientID, list(f.Scopes), nonNil(f.Secret), f.Generation, nullTime(f.RotatedAt),
		f.CreatedAt, f.LastUsedAt, f.ExpiresAt, nullTime(f.RevokedAt), f.JKT, nonNil(tokenHash))
	return err
}

func scanFamily(row pgx.Row, extra ...any) (*authd.RefreshFamily, error) {
	var (
		f                authd.RefreshFamily
		rotated, revoked pgtype.Timestamptz
	)
	dest := append([]any{&f.ID, &f.UserID, &f.Audience, &f.ClientID, &f.Scopes, &f.Secret, &f.Generation, &rotated,
		&f.CreatedAt, &f.LastUsedAt, &f.ExpiresAt, &revoked, &f.JKT}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	f.RotatedAt, f.RevokedAt = fromNullTime(rotated), fromNullTime(revoked)
	return &f, nil
}

// UpdateFamilyByToken implements authd.RefreshStore.
//
// The family row is read with SELECT … FOR UPDATE, found through the
// refresh_tokens row of tokenHash, so a second call for the same family
// waits at that SELECT until the first commits or rolls back; at READ
// COMMITTED PostgreSQL then re-reads the locked row, so the second call's
// fn sees the first's changes. Calls for other families do not wait.
//
// A serialization failure or deadlock (CockroachDB reports 40001 for any
// conflict) reruns the whole transaction, fn included: fn must be safe to
// call again, as the token package's is (it only computes).
//
// fn runs while the transaction holds a pooled connection and the family's
// row lock: it must be quick and must not call back into this DB for the
// same family.
func (db *DB) UpdateFamilyByToken(ctx context.Context, tokenHash []byte, fn func(f *authd.RefreshFamily, generation int) (successorHash []byte, err error)) (*authd.RefreshFamily, error) {
	const op = "update refresh family"
	if len(tokenHash) == 0 {
		return nil, db.keyNotFound(ctx, op)
	}
	var saved *authd.RefreshFamily
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		var generation int
		orig, err := scanFamily(tx.QueryRow(ctx, `SELECT f.id, f.user_id, f.audience, f.client_id, f.scopes, f.secret, f.generation, f.rotated_at,
				f.created_at, f.last_used_at, f.expires_at, f.revoked_at, f.jkt, t.generation
			FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id
			WHERE t.hash = $1
			FOR UPDATE OF f`, tokenHash), &generation)
		if err != nil {
			return db.wrap(ctx, op, err)
		}
		f := *orig
		f.Audience = slices.Clone(orig.Audience)
		f.Scopes = slices.Clone(orig.Scopes)
		f.Secret = bytes.Clone(orig.Secret)
		succ, err := fn(&f, generation)
		if err != nil {
			return err // returned as fn gave it; the rollback discards everything
		}
		if succ == nil && f.Generation == orig.Generation && f.RotatedAt.Equal(orig.RotatedAt) &&
			f.LastUsedAt.Equal(orig.LastUsedAt) && f.RevokedAt.Equal(orig.RevokedAt) {
			saved = orig // nothing to save
			return nil
		}
		// Only the four fields the contract names are saved; RETURNING
		// gives the family as stored (times at the column's precision).
		s, err := scanFamily(tx.QueryRow(ctx, `UPDATE refresh_families
			SET generation = $2, rotated_at = $3, last_used_at = $4, revoked_at = $5
			WHERE id = $1 RETURNING `+familyColumns,
			orig.ID, f.Generation, nullTime(f.RotatedAt), f.LastUsedAt, nullTime(f.RevokedAt)))
		if err != nil {
			return db.wrap(ctx, op, err)
		}
		if succ != nil {
			if err := db.recordToken(ctx, tx, op, succ, s.ID, s.Generation); err != nil {
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
func (db *DB) recordToken(ctx context.Context, tx pgx.Tx, op string, hash []byte, id string, gen int) error {
	tag, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (hash, family_id, generation) VALUES ($1, $2, $3)
		ON CONFLICT (hash) DO NOTHING`, hash, id, gen)
	if err != nil {
		return db.wrap(ctx, op, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var (
		otherID  string
		otherGen int
	)
	if err := tx.QueryRow(ctx, `SELECT family_id, generation FROM refresh_tokens WHERE hash = $1`, hash).Scan(&otherID, &otherGen); err != nil {
		return db.wrap(ctx, op, err)
	}
	if otherID != id || otherGen != gen {
		return fmt.Errorf("postgres: %s: successor hash already recorded: %w", op, authd.ErrConflict)
	}
	return nil
}

// FamilyByID implements authd.RefreshStore. Revoked and expired families
// are returned as stored.
func (db *DB) FamilyByID(ctx context.Context, id string) (*authd.RefreshFamily, error) {
	const op = "find refresh family"
	if !storable(id) {
		return nil, db.keyNotFound(ctx, op)
	}
	f, err := scanFamily(db.pool.QueryRow(ctx, `SELECT `+familyColumns+` FROM refresh_families WHERE id = $1`, id))
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return f, nil
}

// RevokeFamily implements authd.RefreshStore. coalesce keeps the first
// RevokedAt; the row counts as found whether or not it changed.
func (db *DB) RevokeFamily(ctx context.Context, id string, at time.Time) error {
	const op = "revoke refresh family"
	if !storable(id) {
		return db.keyNotFound(ctx, op)
	}
	n, err := db.exec(ctx, op, `UPDATE refresh_families SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1`, id, at)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// RevokeUserFamilies implements authd.RefreshStore. One UPDATE … RETURNING:
// a family revoked concurrently by another call is re-checked after its
// lock is released (revoked_at IS NULL no longer holds), so each family is
// returned by exactly one call.
func (db *DB) RevokeUserFamilies(ctx context.Context, userID string, at time.Time) ([]*authd.RefreshFamily, error) {
	const op = "revoke user refresh families"
	if !storable(userID) {
		if err := ctx.Err(); err != nil {
			return nil, db.wrap(ctx, op, err)
		}
		return []*authd.RefreshFamily{}, nil
	}
	rows, err := db.pool.Query(ctx, `UPDATE refresh_families SET revoked_at = $2
		WHERE user_id = $1 AND revoked_at IS NULL RETURNING `+familyColumns, userID, at)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return collect(ctx, db, op, rows, func(r pgx.Row) (*authd.RefreshFamily, error) { return scanFamily(r) })
}

// RevokeClientFamilies implements authd.RefreshStore: RevokeUserFamilies
// for the user's families of one client, served by the index on
// (user_id, client_id); one UPDATE … RETURNING, so each family is returned
// by exactly one call.
func (db *DB) RevokeClientFamilies(ctx context.Context, userID, clientID string, at time.Time) ([]*authd.RefreshFamily, error) {
	const op = "revoke client refresh families"
	if !storable(userID, clientID) {
		if err := ctx.Err(); err != nil {
			return nil, db.wrap(ctx, op, err)
		}
		return []*authd.RefreshFamily{}, nil
	}
	rows, err := db.pool.Query(ctx, `UPDATE refresh_families SET revoked_at = $3
		WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL RETURNING `+familyColumns, userID, clientID, at)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return collect(ctx, db, op, rows, func(r pgx.Row) (*authd.RefreshFamily, error) { return scanFamily(r) })
}

// DeleteFamiliesBefore implements authd.RefreshStore. The families' token
// hashes go with them (ON DELETE CASCADE).
func (db *DB) DeleteFamiliesBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := db.exec(ctx, "delete refresh families", `DELETE FROM refresh_families WHERE expires_at < $1 OR revoked_at < $1`, t)
	return int(n), err
}
