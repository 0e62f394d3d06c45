package migration_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/authd/authd/internal/migration"
)

func TestList(t *testing.T) {
	f := func(names ...string) fstest.MapFS {
		m := fstest.MapFS{}
		for _, n := range names {
			m["m/"+n] = &fstest.MapFile{Data: []byte("-- " + n)}
		}
		return m
	}
	tests := []struct {
		name  string
		fs    fstest.MapFS
		want  []string
		error string
	}{
		{"ordered", f("0002_b.sql", "0001_a.sql"), []string{"0001_a.sql", "0002_b.sql"}, ""},
		{"gap", f("0001_a.sql", "0003_c.sql"), nil, "want version 0002"},
		{"duplicate", f("0001_a.sql", "0001_b.sql"), nil, "want version 0002"},
		{"bad name", f("1_a.sql"), nil, "NNNN_description"},
		{"zero", f("0000_a.sql"), nil, "NNNN_description"},
		{"none", f(), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := migration.List(tt.fs, "m")
			if tt.error != "" {
				if err == nil || !strings.Contains(err.Error(), tt.error) {
					t.Fatalf("err %v, want %q", err, tt.error)
				}
				return
			}
			if err != nil || len(ms) != len(tt.want) {
				t.Fatalf("%v %v", ms, err)
			}
			for i, m := range ms {
				if m.Name != tt.want[i] || m.Version != i+1 || m.SQL != "-- "+m.Name {
					t.Fatalf("%d: %+v", i, m)
				}
			}
		})
	}
}
