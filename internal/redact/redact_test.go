package redact_test

import (
	"strings"
	"testing"

	"github.com/authd/authd/internal/redact"
)

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://ann:s3cret@db:5432/authd?sslmode=disable", "postgres://ann:xxxxx@db:5432/authd?sslmode=disable"},
		{"redis://:s3cret@127.0.0.1:6379/0", "redis://:xxxxx@127.0.0.1:6379/0"},
		{"redis-cluster://u:s3cret@h1:7000,h2:7001", "redis-cluster://u:xxxxx@h1:7000,h2:7001"},
		{"postgres://ann:p%zz@ss@db/authd", "postgres://ann:xxxxx@db/authd"},       // url.Parse refuses it
		{"postgres://ann:pw/with/slash@db/authd", "postgres://ann:xxxxx@db/authd"}, // unencoded: still hidden
		{"postgres://ann@db/authd", "postgres://ann@db/authd"},
		{"postgres://db/authd?user=a@b", "postgres://db/authd?user=a@b"},
		{"sqlite:authd.db", "sqlite:authd.db"},
		{"redis://u:p@ss@h:1/0?x=a@b", "redis://u:xxxxx@h:1/0?x=a@b"},
		{"redis://h:1/0?password=not-parsed", "redis://h:1/0?password=not-parsed"},
		{"redis-cluster://:secret@a:1,b:2", "redis-cluster://:xxxxx@a:1,b:2"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := redact.URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzURL(f *testing.F) {
	f.Add("postgres://ann:s3cret@db/authd")
	f.Add("redis-cluster://u:p@h1:1,h2:2")
	f.Fuzz(func(t *testing.T, raw string) {
		out := redact.URL(raw)
		if out != raw && !strings.Contains(out, ":xxxxx@") {
			t.Fatalf("URL(%q) = %q changed something else than a password", raw, out)
		}
	})
}
