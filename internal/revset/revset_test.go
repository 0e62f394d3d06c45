package revset_test

import (
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/internal/revset"
)

func TestSet(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var s revset.Set
	if s.Revoked("j", "s") || s.Len() != 0 {
		t.Fatal("the zero Set is not empty")
	}
	if !s.Add(revset.Entry{revset.JTI, "j1", t0}, revset.Entry{revset.SID, "s1", t0}) {
		t.Fatal("Add of new ids reported nothing new")
	}
	if s.Add(revset.Entry{revset.JTI, "j1", t0.Add(time.Hour)}) {
		t.Fatal("Add of a held id reported it new")
	}
	if s.Add(revset.Entry{revset.JTI, "", t0}, revset.Entry{0, "x", t0}) || s.Len() != 2 {
		t.Fatalf("an empty id or an unknown kind was added (len %d)", s.Len())
	}
	tests := []struct {
		jti, sid string
		want     bool
	}{
		{"j1", "", true},
		{"", "s1", true},
		{"s1", "", false}, // kinds are apart: a sid never matches a jti
		{"", "j1", false},
		{"", "", false},
		{"j2", "s2", false},
	}
	for _, tt := range tests {
		if got := s.Revoked(tt.jti, tt.sid); got != tt.want {
			t.Errorf("Revoked(%q, %q) = %v, want %v", tt.jti, tt.sid, got, tt.want)
		}
	}
	// j1 was extended to t0+1h: pruning at t0+1m keeps it, drops s1.
	s.Prune(t0.Add(time.Minute))
	if !s.Revoked("j1", "") || s.Revoked("", "s1") || s.Len() != 1 {
		t.Fatalf("after Prune: j1 %v, s1 %v, len %d", s.Revoked("j1", ""), s.Revoked("", "s1"), s.Len())
	}
	s.Replace(revset.Entry{revset.SID, "s9", t0})
	if s.Revoked("j1", "") || !s.Revoked("", "s9") || s.Len() != 1 {
		t.Fatal("Replace did not make its entries the whole set")
	}
}

func TestSetConcurrent(t *testing.T) {
	var s revset.Set
	var wg sync.WaitGroup
	exp := time.Now().Add(time.Hour)
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				s.Add(revset.Entry{revset.Kind(1 + j%2), string(rune('a'+i)) + string(rune('a'+j%26)), exp})
				s.Revoked("x", "y")
				s.Prune(time.Now())
			}
		})
	}
	wg.Wait()
	if s.Len() != 8*26 {
		t.Fatalf("len %d, want %d", s.Len(), 8*26)
	}
}
