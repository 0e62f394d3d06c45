package verify

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

// DefaultReplayCapacity is the number of DPoP proofs the verifier's own
// replay set holds (WithReplayCapacity): about 100 bytes each, so some
// 10 MB when full. A proof is held until its iat + 65 s, so the default
// sustains some 1,500 DPoP requests a second to one instance.
const DefaultReplayCapacity = 100000

// ErrReplaySetFull is the error of the verifier's own replay set when
// every record it holds is still alive: it refuses the proof rather than
// forget one that could then be replayed (fail closed). The middleware
// answers 503.
var ErrReplaySetFull = errors.New("verify: DPoP replay set full")

// replaySet is the verifier's own dpop.Replays: in this process only,
// bounded. Keys are kept as their SHA-256 (a proof's jti may be 256 bytes;
// the digest is 32), with a min-heap of expiries so that expired records
// are dropped, soonest first, as new ones come.
//
// NOTE: when it is full of live records it refuses (ErrReplaySetFull)
// instead of evicting one: a record evicted while alive is a proof that
// can be sent again. Only requests with a valid bound token and a valid
// proof of its key reach it, so filling it takes a token holder's own
// key; WithReplayCapacity or a shared set (WithReplays) are the remedies
// for a service busier than the bound.
type replaySet struct {
	mu       sync.Mutex
	capacity int
	live     map[[32]byte]int64 // key digest → expiry (Unix ns)
	byExp    expiryHeap
}

func newReplaySet(capacity int) *replaySet {
	return &replaySet{capacity: capacity, live: make(map[[32]byte]int64)}
}

// Remember is authd.ReplaySet's Remember, in this process: true, and key
// recorded until expiresAt, when key is not recorded or its record
// expired before now; false, changing nothing, when it is alive.
func (s *replaySet) Remember(_ context.Context, key string, expiresAt, now time.Time) (bool, error) {
	d := sha256.Sum256([]byte(key))
	exp, t := expiresAt.UnixNano(), now.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(t)
	if e, ok := s.live[d]; ok && e >= t {
		return false, nil
	}
	if len(s.live) >= s.capacity {
		return false, ErrReplaySetFull
	}
	s.live[d] = exp
	heap.Push(&s.byExp, expiry{at: exp, key: d})
	return true, nil
}

// pruneLocked drops the records that expired before now, soonest first.
// A heap entry whose key was recorded again with another expiry is stale
// and only popped.
func (s *replaySet) pruneLocked(now int64) {
	for len(s.byExp) > 0 && s.byExp[0].at < now {
		e := heap.Pop(&s.byExp).(expiry)
		if s.live[e.key] == e.at {
			delete(s.live, e.key)
		}
	}
}

// Len is the number of records held, expired or not.
func (s *replaySet) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live)
}

type expiry struct {
	at  int64
	key [32]byte
}

type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
