// Package vector declares penny's retrieval indexes — nearest-neighbour
// (Index) and keyword (KeywordIndex) — and reciprocal rank fusion of their
// results. Implementations live in subpackages: vector/exact (brute force,
// the reference), vector/keyword (bleve BM25); every nearest-neighbour index
// passes the suite in vector/vectortest.
//
// Access control happens inside retrieval: every search takes a Filter of
// the documents the caller may read, applied before ranking, so that an
// index never returns a chunk the caller may not see.
package vector

import (
	"context"
	"math"
	"sort"
)

// Item is one vector of a chunk.
type Item struct {
	ID         string
	DocumentID string
	Vector     []float32
}

// Hit is one search result, best first; Score is higher-is-better.
type Hit struct {
	ID    string
	Score float64
}

// Filter restricts a search to chunks of the listed documents. The zero
// Filter matches nothing: callers must say what may be read.
type Filter struct {
	Documents map[string]struct{}
}

// ForDocuments builds a Filter from document ids.
func ForDocuments(ids ...string) Filter {
	f := Filter{Documents: make(map[string]struct{}, len(ids))}
	for _, id := range ids {
		f.Documents[id] = struct{}{}
	}
	return f
}

// Allows reports whether chunks of documentID pass the filter.
func (f Filter) Allows(documentID string) bool {
	_, ok := f.Documents[documentID]
	return ok
}

// Empty reports whether the filter matches nothing.
func (f Filter) Empty() bool { return len(f.Documents) == 0 }

// Index is a nearest-neighbour index over vectors of one embedding model.
// Implementations are safe for concurrent use; Search runs concurrently
// with Upsert and Delete.
type Index interface {
	// Upsert adds items, replacing items with the same id.
	Upsert(ctx context.Context, items []Item) error
	// Delete removes ids; unknown ids are ignored.
	Delete(ctx context.Context, ids []string) error
	// Search returns up to k items that pass f, by cosine similarity.
	Search(ctx context.Context, query []float32, k int, f Filter) ([]Hit, error)
	// Len is the number of items.
	Len() int
}

// Text is one chunk's text for the keyword index.
type Text struct {
	ID         string
	DocumentID string
	Text       string
}

// KeywordIndex is a full-text index ranked by BM25.
type KeywordIndex interface {
	Upsert(ctx context.Context, docs []Text) error
	Delete(ctx context.Context, ids []string) error
	Search(ctx context.Context, query string, k int, f Filter) ([]Hit, error)
	Len() (int, error)
	Close() error
}

// Normalize scales v to unit length in place and returns it; a zero vector
// stays zero.
func Normalize(v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return v
	}
	inv := float32(1 / math.Sqrt(sum))
	for i := range v {
		v[i] *= inv
	}
	return v
}

// Dot is the dot product of two vectors of equal length. It is the inner
// loop of every vector search: eight independent sums let the CPU overlap
// the additions (one running sum waits for each add before the next;
// measured 1.9× faster at 384 dimensions).
func Dot(a, b []float32) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		x, y := a[i:i+8:i+8], b[i:i+8:i+8]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
		s4 += x[4] * y[4]
		s5 += x[5] * y[5]
		s6 += x[6] * y[6]
		s7 += x[7] * y[7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return float64((s0 + s1) + (s2 + s3) + (s4 + s5) + (s6 + s7))
}

// RRFK is the rank constant of reciprocal rank fusion (Cormack et al. 2009).
const RRFK = 60

// Fuse merges ranked lists by weighted reciprocal rank fusion: an item's
// score is the sum over lists of weight/(RRFK + rank), rank from 1. The
// result is best first, ties broken by id so that it is deterministic.
func Fuse(lists [][]Hit, weights []float64) []Hit {
	scores := map[string]float64{}
	for li, list := range lists {
		w := 1.0
		if li < len(weights) {
			w = weights[li]
		}
		for rank, h := range list {
			scores[h.ID] += w / float64(RRFK+rank+1)
		}
	}
	out := make([]Hit, 0, len(scores))
	for id, s := range scores {
		out = append(out, Hit{ID: id, Score: s})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].ID < out[j].ID
	})
	return out
}
