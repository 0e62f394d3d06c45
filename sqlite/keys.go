package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/authd/authd"
)

const keyColumns = `id, alg, private, public, created_at, retired_at`

func scanKey(row scanner) (*authd.Key, error) {
	var (
		k       authd.Key
		created int64
		retired sql.NullInt64
	)
	if err := row.Scan(&k.ID, &k.Alg, &k.Private, &k.Public, &created, &retired); err != nil {
		return nil, err
	}
	k.CreatedAt, k.RetiredAt = fromMicros(created), fromNullMicros(retired)
	return &k, nil
}

func insertKey(ctx context.Context, tx *sql.Tx, k *authd.Key) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, NULL)`,
		k.ID, k.Alg, nonNil(k.Private), nonNil(k.Public), micros(k.CreatedAt))
	return err
}

// EnsureKey implements authd.KeyStore. The check and the insert share one
// BEGIN IMMEDIATE transaction, so nodes starting at once (threads or
// processes) end up with one current key; the keys_one_current index would
// refuse a second one anyway.
//
// NOTE: the private key is stored as given (PKCS#8 DER or the HMAC secret):
// the database file is as sensitive as a key file, and is created with the
// process's umask.
func (db *DB) EnsureKey(ctx context.Context, k *authd.Key) (*authd.Key, error) {
	const op = "ensure key"
	var cur *authd.Key
	err := db.tx(ctx, op, func(tx *sql.Tx) error {
		var err error
		cur, err = scanKey(tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM keys WHERE retired_at IS NULL`))
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return db.wrap(ctx, op, err)
		}
		if err := insertKey(ctx, tx, k); err != nil {
			return db.wrap(ctx, op, err)
		}
		c := *k
		c.RetiredAt = time.Time{}
		cur = &c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return cur, nil
}

// RotateKey implements authd.KeyStore: the previous current key is retired
// at k.CreatedAt and k inserted, in one transaction; on ErrConflict nothing
// changes.
func (db *DB) RotateKey(ctx context.Context, k *authd.Key) error {
	const op = "rotate key"
	return db.tx(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE keys SET retired_at = ? WHERE retired_at IS NULL`, micros(k.CreatedAt)); err != nil {
			return db.wrap(ctx, op, err)
		}
		if err := insertKey(ctx, tx, k); err != nil {
			return db.wrap(ctx, op, err)
		}
		return nil
	})
}

// Keys implements authd.KeyStore.
func (db *DB) Keys(ctx context.Context, retiredAfter time.Time) ([]*authd.Key, error) {
	const op = "list keys"
	rows, err := db.read.QueryContext(ctx, `SELECT `+keyColumns+` FROM keys
		WHERE retired_at IS NULL OR retired_at > ?
		ORDER BY retired_at IS NOT NULL, created_at DESC, id DESC`, micros(retiredAfter))
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return collect(ctx, db, op, rows, scanKey)
}

// EnsureIDKey implements authd.IDKeyStore: INSERT … ON CONFLICT DO NOTHING
// on the one-row table, then the row, in one transaction.
func (db *DB) EnsureIDKey(ctx context.Context, k *authd.Key) (*authd.Key, error) {
	const op = "ensure ID-token key"
	var cur authd.Key
	err := db.tx(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO id_key (one, id, alg, private, public, created_at) VALUES (1, ?, ?, ?, ?, ?)
			ON CONFLICT (one) DO NOTHING`, k.ID, k.Alg, nonNil(k.Private), nonNil(k.Public), micros(k.CreatedAt)); err != nil {
			return db.wrap(ctx, op, err)
		}
		var created int64
		if err := tx.QueryRowContext(ctx, `SELECT id, alg, private, public, created_at FROM id_key WHERE one = 1`).
			Scan(&cur.ID, &cur.Alg, &cur.Private, &cur.Public, &created); err != nil {
			return db.wrap(ctx, op, err)
		}
		cur.CreatedAt = fromMicros(created)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &cur, nil
}
