// Package migration reads the versioned SQL migrations a store package
// embeds: files named NNNN_description.sql, versions from 1 without gaps.
// Applying them is each store's own business (transactions differ).
package migration

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migration is one embedded migration.
type Migration struct {
	Version int
	Name    string // the file name
	SQL     string
}

// List returns the migrations matching dir/*.sql in fsys, in version order,
// or an error naming the first file that breaks the naming rule.
func List(fsys fs.FS, dir string) ([]Migration, error) {
	names, err := fs.Glob(fsys, dir+"/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 4 || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", base)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: want version %04d (versions have no gaps or duplicates)", m.Name, i+1)
		}
	}
	return ms, nil
}
