package main

import (
	"runtime"
	"testing"

	"github.com/authd/authd/password"
)

// TestParseSize: --hash-memory-budget takes bytes, binary and decimal
// units, and refuses the rest.
func TestParseSize(t *testing.T) {
	ok := []struct {
		in   string
		want uint64
	}{
		{"0", 0},
		{"67108864", 64 << 20},
		{"64MiB", 64 << 20},
		{"64mib", 64 << 20},
		{"64 MiB", 64 << 20},
		{"128MB", 128e6},
		{"1GiB", 1 << 30},
		{"2GB", 2e9},
		{"512KiB", 512 << 10},
		{"512kB", 512e3},
		{"100B", 100},
		{"1TiB", 1 << 40},
	}
	for _, tt := range ok {
		if got, err := parseSize(tt.in); err != nil || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "MiB", "-1", "1.5GiB", "64M", "64 mebibytes", "1e6", "0x10", "99999999999999999999", "20000000TiB"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
	for _, n := range []uint64{0, 1, 1000, 64 << 20, 3 << 30, 128e6} {
		if got, err := parseSize(fmtSize(n)); err != nil || got != n {
			t.Errorf("parseSize(fmtSize(%d) = %q) = %d, %v", n, fmtSize(n), got, err)
		}
	}
}

// TestHashConcurrency: the hasher serve makes runs as many hashes at once
// as fit in --hash-memory-budget, at least one, at most GOMAXPROCS.
func TestHashConcurrency(t *testing.T) {
	p := password.DefaultParams() // 19 MiB
	procs := runtime.GOMAXPROCS(0)
	tests := []struct {
		budget uint64
		want   int
	}{
		{0, procs},
		{1, 1},
		{19 << 20, 1},
		{defaultHashMemoryBudget, min(3, procs)},
		{1 << 40, procs},
	}
	for _, tt := range tests {
		if got := hashConcurrency(p, tt.budget); got != tt.want {
			t.Errorf("hashConcurrency(%s) = %d, want %d", fmtSize(tt.budget), got, tt.want)
		}
	}
}
