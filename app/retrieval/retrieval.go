// Package retrieval owns the search indexes of the embedded mode: a
// nearest-neighbour index bound to one embedding model and a keyword index.
// It keeps them in step with the store (add, remove, rebuild) and answers
// hybrid queries — vector and keyword results fused by reciprocal rank —
// pre-filtered to the documents the caller may read.
package retrieval

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/penny-dev/penny/storage"
	"github.com/penny-dev/penny/vector"
)

// Chunks is the part of the store retrieval reads.
type Chunks interface {
	EachChunk(ctx context.Context, fn func(storage.Chunk) error) error
	CountChunks(ctx context.Context) (int, error)
}

// Indexes pairs the vector index (of EmbedModel) with the keyword index.
type Indexes struct {
	// EmbedModel is the one embedding model the vector index holds
	// (design rule 1: one embedding space per index).
	EmbedModel string
	Vectors    vector.Index
	Keywords   vector.KeywordIndex
	// Weights are the RRF weights of vector and keyword results. Default
	// 1, 1. A vector weight of 0 ranks by keywords and lets nearest
	// neighbours only fill in what the words missed.
	Weights [2]float64
	// NewVectors makes an empty vector index (to rebuild).
	NewVectors func() vector.Index
	Logger     *slog.Logger
}

// Add indexes chunks in both indexes. Chunks of another embedding model
// are refused.
func (x *Indexes) Add(ctx context.Context, chunks []storage.Chunk) error {
	items := make([]vector.Item, 0, len(chunks))
	texts := make([]vector.Text, 0, len(chunks))
	for _, c := range chunks {
		if c.EmbedModel != x.EmbedModel {
			return fmt.Errorf("retrieval: chunk %s is embedded with %s, the index holds %s", c.ID, c.EmbedModel, x.EmbedModel)
		}
		items = append(items, vector.Item{ID: c.ID, DocumentID: c.DocumentID, Vector: c.Vector})
		texts = append(texts, vector.Text{ID: c.ID, DocumentID: c.DocumentID, Text: indexText(c)})
	}
	if err := x.Vectors.Upsert(ctx, items); err != nil {
		return err
	}
	return x.Keywords.Upsert(ctx, texts)
}

// indexText is what both indexes see: the heading path gives a chunk its
// context.
func indexText(c storage.Chunk) string {
	if c.Heading == "" {
		return c.Text
	}
	return c.Heading + "\n" + c.Text
}

// EmbedText is the text of a chunk to embed.
func EmbedText(c storage.Chunk) string { return indexText(c) }

// Remove deletes chunk ids from both indexes.
func (x *Indexes) Remove(ctx context.Context, ids []string) error {
	if err := x.Vectors.Delete(ctx, ids); err != nil {
		return err
	}
	return x.Keywords.Delete(ctx, ids)
}

// Load fills the vector index from the store (unless vectorsLoaded: it
// came from a snapshot that matches the store) and rebuilds the keyword
// index when its size disagrees with the store (a crash between the store
// write and the index write).
func (x *Indexes) Load(ctx context.Context, store Chunks, rebuildKeywords func() (vector.KeywordIndex, error), vectorsLoaded bool) error {
	want, err := store.CountChunks(ctx)
	if err != nil {
		return err
	}
	have, err := x.Keywords.Len()
	if err != nil {
		return err
	}
	keywords := have != want
	if keywords && vectorsLoaded {
		vectorsLoaded = false // one pass over the store fills both
		x.Vectors = x.NewVectors()
	}
	if vectorsLoaded && !keywords {
		return nil
	}
	if keywords {
		x.Logger.Warn("keyword index disagrees with the store; rebuilding", slog.Int("indexed", have), slog.Int("stored", want))
		if x.Keywords, err = rebuildKeywords(); err != nil {
			return err
		}
	}
	batch := make([]storage.Chunk, 0, 256)
	done, logged := 0, time.Now()
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		done += len(batch)
		if time.Since(logged) >= 5*time.Second {
			x.Logger.Info("rebuilding search indexes", slog.Int("done", done), slog.Int("total", want))
			logged = time.Now()
		}
		var err error
		if keywords {
			err = x.Add(ctx, batch)
		} else {
			items := make([]vector.Item, len(batch))
			for i, c := range batch {
				items[i] = vector.Item{ID: c.ID, DocumentID: c.DocumentID, Vector: c.Vector}
			}
			err = x.Vectors.Upsert(ctx, items)
		}
		batch = batch[:0]
		return err
	}
	err = store.EachChunk(ctx, func(c storage.Chunk) error {
		if c.EmbedModel != x.EmbedModel {
			return nil // another space: served by its own index, not this one
		}
		batch = append(batch, c)
		if len(batch) == cap(batch) {
			return flush()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("retrieval: load: %w", err)
	}
	return flush()
}

// Mode says which retrievers answered.
const (
	ModeHybrid  = "hybrid"
	ModeKeyword = "keyword"
)

// Search runs keyword search on text and, when query is non-nil, vector
// search, both pre-filtered by f, and fuses them. It returns up to k hits
// and the mode used.
func (x *Indexes) Search(ctx context.Context, query []float32, text string, k int, f vector.Filter) ([]vector.Hit, string, error) {
	// Ask each retriever for more than k so that fusion has room to agree.
	depth := max(4*k, 20)
	kw, err := x.Keywords.Search(ctx, text, depth, f)
	if err != nil {
		return nil, "", err
	}
	if query == nil {
		return kw[:min(k, len(kw))], ModeKeyword, nil
	}
	vec, err := x.Vectors.Search(ctx, query, depth, f)
	if err != nil {
		return nil, "", err
	}
	w := x.Weights
	if w == [2]float64{} {
		w = [2]float64{1, 1}
	}
	var fused []vector.Hit
	if w[0] == 0 {
		// Keyword order first; nearest neighbours only fill in what the
		// words missed.
		fused = append(fused, kw...)
		seen := map[string]bool{}
		for _, h := range kw {
			seen[h.ID] = true
		}
		for _, h := range vec {
			if !seen[h.ID] {
				fused = append(fused, h)
			}
		}
	} else {
		fused = vector.Fuse([][]vector.Hit{vec, kw}, w[:])
	}
	return fused[:min(k, len(fused))], ModeHybrid, nil
}
