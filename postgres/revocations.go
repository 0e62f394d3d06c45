package postgres

import (
	"context"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/seqcursor"
	"github.com/jackc/pgx/v5/pgtype"
)

// The revocation feed.
//
// Every entry carries a seq, and a reader's cursor is the seq up to which
// it has read. The classic trap of such a feed on PostgreSQL is a sequence
// (bigserial, identity): seqs are handed out when a transaction asks, not
// when it commits, so a transaction holding seq 41 may commit after one
// holding seq 42. A reader that saw 42 moves its cursor past 41 and never
// sees it: the entry is lost for that reader.
//
// Here the seq comes from the single row of revocation_seq, incremented by
// the very statement that writes the entry:
//
//	WITH s AS (UPDATE revocation_seq SET n = n + 1 … RETURNING n)
//	INSERT INTO revocations … SELECT …, s.n FROM s ON CONFLICT …
//
// The UPDATE takes the row's lock and keeps it until the statement's
// transaction commits. The next writer blocks on that lock, so it can take
// seq N+1 only after the writer of N has committed (PostgreSQL makes a
// transaction visible before it releases its locks): commits happen in seq
// order, and once N+1 is visible, everything up to N+1 is. The reader then
// reads, in one statement and so in one snapshot, the entries after its
// cursor together with revocation_seq.n, and returns n as the next cursor.
// Every seq up to that n belongs to a committed write the snapshot sees
// (counter and entry commit together), and no entry of that snapshot lies
// beyond it. Nothing between two cursors can be missed, and nothing is
// returned twice to a reader that follows its cursors.
//
// The cost is that revocations are written one at a time across all
// nodes, each holding the lock for one single-statement transaction; they
// are rare (logouts, password changes, RFC 7009 revocations), reads never
// wait, and the statement is one round trip.
//
// On CockroachDB (SERIALIZABLE) the same holds: the second writer reads
// the counter the first wrote, so it commits at a later timestamp, and a
// reader at any timestamp sees a prefix of the seqs.
//
// n never goes back, so pruning the newest entries cannot let a new entry
// take a position an old cursor already passed.

// The cursor format is internal/seqcursor, shared with the sqlite package.

// Revoke implements authd.RevocationList. An id already listed with an
// ExpiresAt at least as late is left alone (the seq it took is simply not
// used); otherwise the entry is inserted, or updated with the later
// ExpiresAt and a new seq, so that readers whose cursor passed it are
// given it again: they must learn the later ExpiresAt.
func (db *DB) Revoke(ctx context.Context, r authd.Revocation) error {
	_, err := db.exec(ctx, "revoke", `WITH s AS (
			UPDATE revocation_seq SET n = n + 1 WHERE id = 1 RETURNING n
		)
		INSERT INTO revocations AS r (kind, id, expires_at, seq)
		SELECT $1, $2, $3, s.n FROM s
		ON CONFLICT (kind, id) DO UPDATE SET expires_at = excluded.expires_at, seq = excluded.seq
		WHERE r.expires_at < excluded.expires_at`,
		r.Kind, r.ID, r.ExpiresAt)
	return err
}

// RevokedSince implements authd.RevocationList: see the comment at the top
// of this file for why no entry is ever lost. Entries left out because
// they expired still move the cursor past them.
func (db *DB) RevokedSince(ctx context.Context, cursor string, now time.Time) ([]authd.Revocation, string, error) {
	const op = "revoked since"
	from, err := seqcursor.Parse(cursor)
	if err != nil {
		return nil, "", err
	}
	// One statement, one snapshot: the LEFT JOIN returns revocation_seq's
	// row once with NULLs when no entry matches.
	rows, err := db.pool.Query(ctx, `SELECT s.n, r.kind, r.id, r.expires_at
		FROM revocation_seq s
		LEFT JOIN revocations r ON r.seq > $1 AND r.expires_at > $2
		WHERE s.id = 1
		ORDER BY r.seq`, from, now)
	if err != nil {
		return nil, "", db.wrap(ctx, op, err)
	}
	defer rows.Close()
	out := []authd.Revocation{}
	high := int64(-1)
	for rows.Next() {
		var (
			kind, id pgtype.Text
			expires  pgtype.Timestamptz
		)
		if err := rows.Scan(&high, &kind, &id, &expires); err != nil {
			return nil, "", db.wrap(ctx, op, err)
		}
		if kind.Valid {
			out = append(out, authd.Revocation{Kind: kind.String, ID: id.String, ExpiresAt: expires.Time})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, "", db.wrap(ctx, op, err)
	}
	if high < 0 {
		return nil, "", db.wrap(ctx, op, errNoSeqRow)
	}
	// A cursor beyond the counter comes from another database (or one
	// restored from a backup): the counter is the truth, and the reader
	// receives again what it may have missed rather than skip what comes.
	return out, seqcursor.Format(high), nil
}

// errNoSeqRow: revocation_seq lost its row, which the schema seeds.
var errNoSeqRow = &schemaError{"revocation_seq has no row"}

type schemaError struct{ msg string }

func (e *schemaError) Error() string { return "damaged schema: " + e.msg }

// PruneRevocations implements authd.RevocationList.
func (db *DB) PruneRevocations(ctx context.Context, now time.Time) error {
	_, err := db.exec(ctx, "prune revocations", `DELETE FROM revocations WHERE expires_at < $1`, now)
	return err
}
