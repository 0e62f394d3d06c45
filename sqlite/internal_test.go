package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/seqcursor"
)

// FuzzRevokedSinceCursor: the cursor is the one piece of outside input this
// package parses (GET /v1/revocations?since=). The parser never panics,
// accepts only canonical cursors (each parses back to itself), and
// RevokedSince either refuses a cursor with an *authd.InvalidError or
// returns a cursor that it accepts again, that never goes backwards, and
// that is stable once nothing is new.
func FuzzRevokedSinceCursor(f *testing.F) {
	for _, c := range []string{"", "r0", "r1", "r2", "r3", "r01", "r-1", "r+1", "R1", "r", "x", " r1",
		"r9223372036854775807", "r9223372036854775808", "r18446744073709551616", "r1\x00", "r١"} {
		f.Add(c)
	}
	db, err := Open(f.Context(), filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	now := time.Now()
	for i, id := range []string{"a", "b", "c"} {
		if err := db.Revoke(f.Context(), authd.Revocation{Kind: authd.RevokeJTI, ID: id, ExpiresAt: now.Add(time.Duration(i+1) * time.Hour)}); err != nil {
			f.Fatal(err)
		}
	}

	f.Fuzz(func(t *testing.T, c string) {
		seq, perr := seqcursor.Parse(c)
		rs, next, err := db.RevokedSince(t.Context(), c, now)
		if perr != nil {
			var inv *authd.InvalidError
			if !errors.As(perr, &inv) || !errors.As(err, &inv) {
				t.Fatalf("cursor %q: parse error %v, RevokedSince error %v; want *authd.InvalidError from both", c, perr, err)
			}
			return
		}
		if c != "" && seqcursor.Format(seq) != c {
			t.Fatalf("cursor %q accepted as %d, which formats as %q: not canonical", c, seq, seqcursor.Format(seq))
		}
		if seq < 0 {
			t.Fatalf("cursor %q parsed to a negative seq %d", c, seq)
		}
		if err != nil {
			t.Fatalf("RevokedSince(%q): %v", c, err)
		}
		nseq, err := seqcursor.Parse(next)
		if err != nil || seqcursor.Format(nseq) != next || nseq < seq {
			t.Fatalf("RevokedSince(%q) returned cursor %q (%d, %v): want a canonical cursor at or after %d", c, next, nseq, err, seq)
		}
		if want := max(0, 3-int(min(seq, 3))); len(rs) != want {
			t.Fatalf("RevokedSince(%q) returned %d entries, want %d", c, len(rs), want)
		}
		rs2, next2, err := db.RevokedSince(t.Context(), next, now)
		if err != nil || len(rs2) != 0 || next2 != next {
			t.Fatalf("RevokedSince(%q) again: %d entries, cursor %q, %v; want none and the same cursor", next, len(rs2), next2, err)
		}
	})
}

func TestCursorRoundTrip(t *testing.T) {
	for _, seq := range []int64{0, 1, 9, 10, 12345, 1<<63 - 1} {
		c := seqcursor.Format(seq)
		got, err := seqcursor.Parse(c)
		if err != nil || got != seq {
			t.Fatalf("seqcursor.Parse(seqcursor.Format(%d)) = %d, %v", seq, got, err)
		}
	}
}

func TestDecodeList(t *testing.T) {
	for _, l := range [][]string{
		nil, {}, {"admin"}, {"admin", "ops"}, {""}, {"", ""}, {"a,b"}, {"a]", "[b"},
		{`qu"ote`}, {`back\slash`}, {"sp ace"}, {"tab\t"}, {"<html>&"}, {"ünï", "🙂"}, {"bad\xff"}, {"nul\x00"},
	} {
		enc := encodeList(l)
		got, err := decodeList(enc)
		if err != nil {
			t.Fatalf("decodeList(%s): %v", enc, err)
		}
		var want []string
		json.Unmarshal([]byte(enc), &want)
		if !slices.Equal(got, want) || got == nil {
			t.Fatalf("decodeList(%s) = %q, want %q (non-nil)", enc, got, want)
		}
	}
	for _, bad := range []string{"", "[", `["a"`, `["a",]`, `["a""b"]`, `[1]`, `{"a":1}`, `["a",`} {
		if got, err := decodeList(bad); err == nil {
			t.Errorf("decodeList(%q) = %q, want an error", bad, got)
		}
	}
	// The fast path agrees with encoding/json on random lists.
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune(`ab,[]" \ü🙂` + "\x00\t")
	for range 2000 {
		l := make([]string, r.IntN(4))
		for i := range l {
			var b strings.Builder
			for range r.IntN(6) {
				b.WriteRune(alphabet[r.IntN(len(alphabet))])
			}
			l[i] = b.String()
		}
		got, err := decodeList(encodeList(l))
		if err != nil || !slices.Equal(got, l) {
			t.Fatalf("round trip of %q: %q, %v", l, got, err)
		}
	}
}

func TestZeroTimeRoundTrip(t *testing.T) {
	if got := fromMicros(micros(time.Time{})); !got.IsZero() {
		t.Fatalf("zero time reads back as %v", got)
	}
	far := time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
	if got := fromMicros(micros(far)); !got.Equal(far) {
		t.Fatalf("%v reads back as %v", far, got)
	}
}

// TestConnectionSettings checks that every pooled connection, not only the
// first, carries the pragmas of the DSN, that readers cannot write and that
// write transactions take the write lock at BEGIN.
func TestConnectionSettings(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "settings.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()

	pragma := func(q interface {
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}, name string) string {
		var v string
		if err := q.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}
	want := map[string]string{"busy_timeout": "5000", "foreign_keys": "1", "journal_mode": "wal", "synchronous": "1"}

	// Hold every read connection at once so that each is a distinct one.
	var conns []*sql.Conn
	for range 4 {
		c, err := db.read.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		for name, v := range want {
			if got := pragma(c, name); got != v {
				t.Errorf("read connection %d: %s = %s, want %s", i, name, got, v)
			}
		}
		if got := pragma(c, "query_only"); got != "1" {
			t.Errorf("read connection %d: query_only = %s, want 1", i, got)
		}
		if _, err := c.ExecContext(ctx, `DELETE FROM users`); err == nil {
			t.Errorf("read connection %d accepted a write", i)
		}
		c.Close()
	}
	for name, v := range want {
		if got := pragma(db.write, name); got != v {
			t.Errorf("write connection: %s = %s, want %s", name, got, v)
		}
	}

	// A write transaction holds the file's write lock from BEGIN: another
	// connection cannot begin a write, even before the first statement.
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", "file:"+db.Path()+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, `BEGIN IMMEDIATE`); err == nil {
		other.ExecContext(ctx, `ROLLBACK`)
		t.Error("another connection took the write lock while a write transaction was open: BEGIN is not IMMEDIATE")
	} else if w := db.wrap(ctx, "test", err); !errors.Is(w, authd.ErrUnavailable) {
		t.Errorf("SQLITE_BUSY maps to %v, want ErrUnavailable", w)
	}
	tx.Rollback()
}

func TestNewFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "private.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("new database file has mode %v, want no access for group and others (it holds signing keys)", fi.Mode().Perm())
	}
}
