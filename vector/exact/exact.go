// Package exact is the brute-force nearest-neighbour index: it compares the
// query with every stored vector. It is the reference that approximate
// indexes are measured against, and fast enough for small collections.
package exact

import (
	"container/heap"
	"context"
	"fmt"
	"sync"

	"github.com/penny-dev/penny/vector"
)

type entry struct {
	doc string
	vec []float32
}

// Index is an exact cosine-similarity index. The zero value is not usable;
// call New.
type Index struct {
	dim   int
	mu    sync.RWMutex
	items map[string]entry
}

// New returns an empty index for vectors of dim dimensions.
func New(dim int) *Index { return &Index{dim: dim, items: map[string]entry{}} }

// Upsert adds or replaces items; vectors are copied and normalised.
func (x *Index) Upsert(ctx context.Context, items []vector.Item) error {
	for _, it := range items {
		if len(it.Vector) != x.dim {
			return fmt.Errorf("exact: item %s has %d dimensions, index has %d", it.ID, len(it.Vector), x.dim)
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, it := range items {
		v := vector.Normalize(append([]float32(nil), it.Vector...))
		x.items[it.ID] = entry{doc: it.DocumentID, vec: v}
	}
	return nil
}

// Delete removes ids.
func (x *Index) Delete(ctx context.Context, ids []string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, id := range ids {
		delete(x.items, id)
	}
	return nil
}

// Len is the number of items.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.items)
}

// Search scans every item that passes f and keeps the k most similar.
func (x *Index) Search(ctx context.Context, query []float32, k int, f vector.Filter) ([]vector.Hit, error) {
	if len(query) != x.dim {
		return nil, fmt.Errorf("exact: query has %d dimensions, index has %d", len(query), x.dim)
	}
	if k <= 0 || f.Empty() {
		return nil, nil
	}
	q := vector.Normalize(append([]float32(nil), query...))
	h := &minHeap{}
	x.mu.RLock()
	for id, e := range x.items {
		if !f.Allows(e.doc) {
			continue
		}
		s := vector.Dot(q, e.vec)
		if h.Len() < k {
			heap.Push(h, vector.Hit{ID: id, Score: s})
		} else if better(vector.Hit{ID: id, Score: s}, (*h)[0]) {
			(*h)[0] = vector.Hit{ID: id, Score: s}
			heap.Fix(h, 0)
		}
	}
	x.mu.RUnlock()
	out := make([]vector.Hit, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(h).(vector.Hit)
	}
	return out, nil
}

// better orders hits by score, then id, so results are deterministic.
func better(a, b vector.Hit) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.ID < b.ID
}

// minHeap keeps the worst of the current best k on top.
type minHeap []vector.Hit

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(vector.Hit)) }
func (h *minHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	*h = old[:len(old)-1]
	return v
}

var _ vector.Index = (*Index)(nil)
