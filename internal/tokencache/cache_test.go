package tokencache_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/authd/authd/internal/tokencache"
)

// held returns which of toks c holds, with their entries.
func held(c *tokencache.Cache[int], toks ...string) map[string]int {
	m := map[string]int{}
	for _, tok := range toks {
		if e, ok := c.Get(tok); ok {
			m[tok] = e
		}
	}
	return m
}

func TestCache(t *testing.T) {
	all := []string{"a", "b", "c", "d", "e"}
	tests := []struct {
		name string
		size int
		do   func(c *tokencache.Cache[int])
		want map[string]int
	}{
		{"under the bound", 3, func(c *tokencache.Cache[int]) { c.Put("a", 1); c.Put("b", 2) }, map[string]int{"a": 1, "b": 2}},
		{"oldest insertion evicted", 3, func(c *tokencache.Cache[int]) {
			for i, tok := range all {
				c.Put(tok, i)
			}
		}, map[string]int{"c": 2, "d": 3, "e": 4}},
		{"a hit does not save an entry (FIFO, not LRU)", 2, func(c *tokencache.Cache[int]) {
			c.Put("a", 1)
			c.Put("b", 2)
			c.Get("a")
			c.Put("c", 3)
		}, map[string]int{"b": 2, "c": 3}},
		{"put again replaces the entry, keeps its place", 2, func(c *tokencache.Cache[int]) {
			c.Put("a", 1)
			c.Put("b", 2)
			c.Put("a", 10)
			c.Put("c", 3)
		}, map[string]int{"b": 2, "c": 3}},
		{"flush empties", 2, func(c *tokencache.Cache[int]) {
			c.Put("a", 1)
			c.Put("b", 2)
			c.Flush()
			c.Put("c", 3)
		}, map[string]int{"c": 3}},
		{"empty token not kept", 2, func(c *tokencache.Cache[int]) { c.Put("", 1); c.Put("a", 2) }, map[string]int{"a": 2}},
		{"size one", 1, func(c *tokencache.Cache[int]) { c.Put("a", 1); c.Put("b", 2) }, map[string]int{"b": 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tokencache.New[int](tc.size)
			tc.do(c)
			got := held(c, append(all, "")...)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) || c.Len() != len(tc.want) {
				t.Fatalf("held %v (Len %d), want %v", got, c.Len(), tc.want)
			}
		})
	}
}

// TestCacheConcurrent: parallel gets and puts keep the bound (run with
// -race).
func TestCacheConcurrent(t *testing.T) {
	c := tokencache.New[*[]string](64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				tok := fmt.Sprint(g, ".", i%100)
				if e, ok := c.Get(tok); ok && !slices.Equal(*e, []string{tok}) {
					t.Errorf("entry of %s is %v", tok, *e)
				}
				c.Put(tok, &[]string{tok})
				if i%250 == 0 {
					c.Flush()
				}
			}
		})
	}
	wg.Wait()
	if n := c.Len(); n > 64 {
		t.Fatalf("%d entries in a cache of 64", n)
	}
}
