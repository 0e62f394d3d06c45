package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/authd/authd"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

const keyColumns = `id, alg, private, public, created_at, retired_at`

const currentKeySQL = `SELECT ` + keyColumns + ` FROM keys WHERE retired_at IS NULL`

func scanKey(row pgx.Row) (*authd.Key, error) {
	var (
		k       authd.Key
		retired pgtype.Timestamptz
	)
	if err := row.Scan(&k.ID, &k.Alg, &k.Private, &k.Public, &k.CreatedAt, &retired); err != nil {
		return nil, err
	}
	k.RetiredAt = fromNullTime(retired)
	return &k, nil
}

// lockKeyRing takes the row lock that orders every change of the key ring
// (see key_ring_lock in the schema). It is held until tx ends. At READ
// COMMITTED each later statement of tx reads what the previous holder
// committed.
func (db *DB) lockKeyRing(ctx context.Context, tx pgx.Tx, op string) error {
	var id int
	if err := tx.QueryRow(ctx, `SELECT id FROM key_ring_lock WHERE id = 1 FOR UPDATE`).Scan(&id); err != nil {
		return db.wrap(ctx, op, err)
	}
	return nil
}

func insertKey(ctx context.Context, tx pgx.Tx, k *authd.Key) (*authd.Key, error) {
	return scanKey(tx.QueryRow(ctx, `INSERT INTO keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, NULL) RETURNING `+keyColumns,
		k.ID, k.Alg, nonNil(k.Private), nonNil(k.Public), k.CreatedAt))
}

// EnsureKey implements authd.KeyStore.
//
// Every node calls it at start. The common case, a current key exists, is
// one read without a transaction. Otherwise a transaction takes the
// key_ring_lock row, looks again and inserts k only if there is still no
// current key: nodes starting at once queue on that row, and all but the
// first find the first one's key. The partial unique index
// keys_one_current (one row WHERE retired_at IS NULL) refuses a second
// current key whatever happens.
//
// NOTE: the private key is stored as given (PKCS#8 DER or the HMAC secret):
// the database is as sensitive as a key file.
func (db *DB) EnsureKey(ctx context.Context, k *authd.Key) (*authd.Key, error) {
	const op = "ensure key"
	cur, err := scanKey(db.pool.QueryRow(ctx, currentKeySQL))
	if err == nil {
		return cur, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, db.wrap(ctx, op, err)
	}
	err = db.tx(ctx, op, func(tx pgx.Tx) error {
		if err := db.lockKeyRing(ctx, tx, op); err != nil {
			return err
		}
		var err error
		cur, err = scanKey(tx.QueryRow(ctx, currentKeySQL))
		if err == nil {
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return db.wrap(ctx, op, err)
		}
		cur, err = insertKey(ctx, tx, k)
		return db.wrap(ctx, op, err)
	})
	if err != nil {
		return nil, err
	}
	return cur, nil
}

// RotateKey implements authd.KeyStore: under the key_ring_lock row, the
// current key is retired at k.CreatedAt and k inserted, in one
// transaction; on ErrConflict (k.ID exists) nothing changes. Concurrent
// rotations run one after another, each retiring the key the previous one
// inserted, so exactly one key is current afterwards.
func (db *DB) RotateKey(ctx context.Context, k *authd.Key) error {
	const op = "rotate key"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		if err := db.lockKeyRing(ctx, tx, op); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE keys SET retired_at = $1 WHERE retired_at IS NULL`, k.CreatedAt); err != nil {
			return db.wrap(ctx, op, err)
		}
		_, err := insertKey(ctx, tx, k)
		return db.wrap(ctx, op, err)
	})
}

// Keys implements authd.KeyStore: the current key first, then newest
// first.
func (db *DB) Keys(ctx context.Context, retiredAfter time.Time) ([]*authd.Key, error) {
	const op = "list keys"
	rows, err := db.pool.Query(ctx, `SELECT `+keyColumns+` FROM keys
		WHERE retired_at IS NULL OR retired_at > $1
		ORDER BY retired_at IS NOT NULL, created_at DESC, id DESC`, retiredAfter)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return collect(ctx, db, op, rows, scanKey)
}

// EnsureIDKey implements authd.IDKeyStore: one INSERT … ON CONFLICT DO
// NOTHING on the one-row table, then one read; concurrent callers all read
// the row the first one inserted.
func (db *DB) EnsureIDKey(ctx context.Context, k *authd.Key) (*authd.Key, error) {
	const op = "ensure ID-token key"
	if _, err := db.pool.Exec(ctx, `INSERT INTO id_key (one, id, alg, private, public, created_at) VALUES (1, $1, $2, $3, $4, $5)
		ON CONFLICT (one) DO NOTHING`, k.ID, k.Alg, nonNil(k.Private), nonNil(k.Public), k.CreatedAt); err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	var cur authd.Key
	if err := db.pool.QueryRow(ctx, `SELECT id, alg, private, public, created_at FROM id_key WHERE one = 1`).
		Scan(&cur.ID, &cur.Alg, &cur.Private, &cur.Public, &cur.CreatedAt); err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return &cur, nil
}
