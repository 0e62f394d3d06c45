package pagecursor_test

import (
	"errors"
	"testing"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/pagecursor"
)

func TestCursors(t *testing.T) {
	if id, err := pagecursor.ParseUser(pagecursor.User("aB-_9")); err != nil || id != "aB-_9" {
		t.Fatalf("user round trip: %q %v", id, err)
	}
	if id, err := pagecursor.ParseEvent(pagecursor.Event(42)); err != nil || id != 42 {
		t.Fatalf("event round trip: %d %v", id, err)
	}
	if id, err := pagecursor.ParseUser(""); err != nil || id != "" {
		t.Fatalf("first page: %q %v", id, err)
	}
	for _, bad := range []string{"x", "u", "u!!", "uYQ=", "e", "e0", "e-1", "e042", "e1x", "e99999999999999999999", "YQ"} {
		_, uerr := pagecursor.ParseUser(bad)
		_, eerr := pagecursor.ParseEvent(bad)
		var inv *authd.InvalidError
		if !errors.As(uerr, &inv) || !errors.As(eerr, &inv) {
			t.Errorf("cursor %q: user %v, event %v; want InvalidError from both", bad, uerr, eerr)
		}
	}
}

func TestCheckLimit(t *testing.T) {
	for n, ok := range map[int]bool{-1: false, 0: false, 1: true, pagecursor.MaxLimit: true, pagecursor.MaxLimit + 1: false} {
		if err := pagecursor.CheckLimit(n); (err == nil) != ok {
			t.Errorf("limit %d: %v", n, err)
		}
	}
}

func TestContains(t *testing.T) {
	for in, want := range map[string]string{"ann": "%ann%", "a%b": `%a\%b%`, "a_b": `%a\_b%`, `a\b`: `%a\\b%`} {
		if got := pagecursor.Contains(in); got != want {
			t.Errorf("Contains(%q) = %q, want %q", in, got, want)
		}
	}
}
