// Package keyword is the embedded full-text index: bleve with BM25 scoring
// (k1 = 0.9, b = 0.4, pinned: Anserini's values, better than bleve's
// Elasticsearch defaults 1.2 / 0.75 on short scientific abstracts), English analysis (stop words,
// possessives, Porter stemming) on chunk text, and a keyword-analysed,
// stored document field used as the access filter. Text is indexed but not
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
	if !storesDocument(idx.Mapping()) {
		_ = idx.Close()
		return nil, fmt.Errorf("keyword: %s: %w", path, ErrOldFormat)
	}
	return &Index{idx: idx}, nil
}

// ErrOldFormat means an index written by an older penny, which did not
// store each chunk's document: rebuild it from the store.
var ErrOldFormat = errors.New("index of an older format")

// storesDocument reports whether the mapping stores the document field.
func storesDocument(m mapping.IndexMapping) bool {
	im, ok := m.(*mapping.IndexMappingImpl)
	if !ok || im.DefaultMapping == nil {
		return false
	}
	p := im.DefaultMapping.Properties[fieldDoc]
	return p != nil && len(p.Fields) > 0 && p.Fields[0].Store
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
	doc.Store = true // read back to filter ranked hits (see Search)
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
//
// A small filter is part of the query: a conjunction with a disjunction of
// one term per allowed document, scored at zero weight so that it selects
// without changing a score. bleve walks one term searcher per allowed
// document for every candidate, which is slow for a large filter (78 ms on
// 100k chunks with 1,000 allowed documents, measured), so a filter of more
// than preFilterMax documents is applied inside the index instead: the
// ranked hits are read in pages and only allowed ones kept, until k are
// found. Scores do not depend on the filter, so both ways return the same
// top k; when the allowed documents are too rare among the ranked hits
// (postFilterDepth read without k found), the query runs pre-filtered.
func (x *Index) Search(ctx context.Context, q string, k int, f vector.Filter) ([]vector.Hit, error) {
	if k <= 0 || f.Empty() {
		return nil, nil
	}
	match := bleve.NewMatchQuery(q)
	match.SetField(fieldText)
	if len(f.Documents) > preFilterMax {
		if hits, ok, err := x.postFiltered(ctx, match, k, f); err != nil || ok {
			return hits, err
		}
	}
	allowed := make([]query.Query, 0, len(f.Documents))
	for id := range f.Documents {
		t := bleve.NewTermQuery(id)
		t.SetField(fieldDoc)
		t.SetBoost(0) // selects, does not score
		allowed = append(allowed, t)
	}
	return x.run(ctx, bleve.NewConjunctionQuery(match, bleve.NewDisjunctionQuery(allowed...)), k, 0)
}

// Filtering thresholds: see Search.
const (
	preFilterMax    = 64
	postFilterDepth = 4096
)

// postFiltered reads match's ranked hits page by page and keeps those of
// allowed documents; ok is false when postFilterDepth hits held fewer than
// k allowed ones (and more hits remain).
func (x *Index) postFiltered(ctx context.Context, match query.Query, k int, f vector.Filter) ([]vector.Hit, bool, error) {
	var out []vector.Hit
	page := max(4*k, 64)
	for from := 0; from < postFilterDepth; from += page {
		req := bleve.NewSearchRequestOptions(match, page, from, false)
		req.Fields = []string{fieldDoc}
		res, err := x.idx.SearchInContext(ctx, req)
		if err != nil {
			return nil, false, fmt.Errorf("keyword: search: %w", err)
		}
		for _, h := range res.Hits {
			if doc, _ := h.Fields[fieldDoc].(string); f.Allows(doc) {
				out = append(out, vector.Hit{ID: h.ID, Score: h.Score})
				if len(out) == k {
					return out, true, nil
				}
			}
		}
		if len(res.Hits) < page {
			return out, true, nil // every hit was read
		}
	}
	return nil, false, nil
}

// run searches and returns the hits of one page.
func (x *Index) run(ctx context.Context, q query.Query, size, from int) ([]vector.Hit, error) {
	req := bleve.NewSearchRequestOptions(q, size, from, false)
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
