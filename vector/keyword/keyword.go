// Package keyword is the embedded full-text index: bleve with BM25 scoring
// (k1 = 0.9, b = 0.4, pinned: Anserini's values, better than bleve's
// Elasticsearch defaults 1.2 / 0.75 on short scientific abstracts), English analysis (stop words,
// possessives, Porter stemming) on chunk text, and a keyword-analysed
// document field used as the access pre-filter. Text is indexed but not
// stored and no term vectors are kept: chunk text lives in the store.
package keyword

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/penny-dev/penny/vector"
)

const (
	fieldText = "text"
	fieldDoc  = "doc"
	// batchSize caps one bleve batch (memory per batch).
	batchSize = 500
)

// BM25 parameters penny pins.
const (
	K1 = 0.9
	B  = 0.4
)

// pinBM25 sets bleve's BM25 parameters, which are package variables of
// bleve's search package, once, before any index is used.
var pinBM25 sync.Once

// Index is a bleve-backed vector.KeywordIndex.
type Index struct {
	idx bleve.Index
}

// Open opens the index at path, creating it when missing. An empty path
// gives an in-memory index (tests).
func Open(path string) (*Index, error) {
	pinBM25.Do(func() { search.BM25_k1, search.BM25_b = K1, B })
	if path == "" {
		idx, err := bleve.NewMemOnly(newMapping())
		if err != nil {
			return nil, fmt.Errorf("keyword: new: %w", err)
		}
		return &Index{idx: idx}, nil
	}
	idx, err := bleve.Open(path)
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		idx, err = bleve.New(path, newMapping())
	}
	if err != nil {
		return nil, fmt.Errorf("keyword: open %s: %w", path, err)
	}
	return &Index{idx: idx}, nil
}

// Remove deletes the index files at path (to rebuild from the store).
func Remove(path string) error { return os.RemoveAll(path) }

func newMapping() mapping.IndexMapping {
	im := bleve.NewIndexMapping()
	im.ScoringModel = index.BM25Scoring
	im.DefaultAnalyzer = en.AnalyzerName

	text := bleve.NewTextFieldMapping()
	text.Analyzer = en.AnalyzerName
	text.Store = false
	text.IncludeTermVectors = false
	text.IncludeInAll = false

	doc := bleve.NewTextFieldMapping()
	doc.Analyzer = keyword.Name
	doc.Store = false
	doc.IncludeTermVectors = false
	doc.IncludeInAll = false

	dm := bleve.NewDocumentStaticMapping()
	dm.AddFieldMappingsAt(fieldText, text)
	dm.AddFieldMappingsAt(fieldDoc, doc)
	im.DefaultMapping = dm
	return im
}

// Upsert indexes docs, replacing same ids, in capped batches.
func (x *Index) Upsert(ctx context.Context, docs []vector.Text) error {
	for start := 0; start < len(docs); start += batchSize {
		b := x.idx.NewBatch()
		for _, d := range docs[start:min(start+batchSize, len(docs))] {
			if err := b.Index(d.ID, map[string]any{fieldText: d.Text, fieldDoc: d.DocumentID}); err != nil {
				return fmt.Errorf("keyword: index %s: %w", d.ID, err)
			}
		}
		if err := x.idx.Batch(b); err != nil {
			return fmt.Errorf("keyword: batch: %w", err)
		}
	}
	return nil
}

// Delete removes ids.
func (x *Index) Delete(ctx context.Context, ids []string) error {
	for start := 0; start < len(ids); start += batchSize {
		b := x.idx.NewBatch()
		for _, id := range ids[start:min(start+batchSize, len(ids))] {
			b.Delete(id)
		}
		if err := x.idx.Batch(b); err != nil {
			return fmt.Errorf("keyword: delete batch: %w", err)
		}
	}
	return nil
}

// Search ranks chunks of the allowed documents by BM25 against q.
func (x *Index) Search(ctx context.Context, q string, k int, f vector.Filter) ([]vector.Hit, error) {
	if k <= 0 || f.Empty() {
		return nil, nil
	}
	match := bleve.NewMatchQuery(q)
	match.SetField(fieldText)
	allowed := make([]query.Query, 0, len(f.Documents))
	for id := range f.Documents {
		t := bleve.NewTermQuery(id)
		t.SetField(fieldDoc)
		allowed = append(allowed, t)
	}
	req := bleve.NewSearchRequestOptions(bleve.NewConjunctionQuery(match, bleve.NewDisjunctionQuery(allowed...)), k, 0, false)
	req.Score = "" // default scoring (the mapping's BM25)
	res, err := x.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("keyword: search: %w", err)
	}
	hits := make([]vector.Hit, len(res.Hits))
	for i, h := range res.Hits {
		hits[i] = vector.Hit{ID: h.ID, Score: h.Score}
	}
	return hits, nil
}

// Len is the number of indexed chunks.
func (x *Index) Len() (int, error) {
	n, err := x.idx.DocCount()
	return int(n), err
}

// Close flushes and closes the index.
func (x *Index) Close() error { return x.idx.Close() }

var _ vector.KeywordIndex = (*Index)(nil)
