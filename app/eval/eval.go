// Package eval measures retrieval quality on a BEIR-layout dataset
// (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) through penny's real
// ingestion (upload, queue, chunking, embedding, indexing) and retrieval
// (query embedding, hybrid search, access filter) paths: nDCG@10 and
// recall@100 per retrieval mode.
package eval

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/penny-dev/penny/app"
	"github.com/penny-dev/penny/app/documents"
	"github.com/penny-dev/penny/providers/router"
	"github.com/penny-dev/penny/storage"
	"github.com/penny-dev/penny/vector"
)

// Dataset is a loaded BEIR dataset.
type Dataset struct {
	Corpus  []Doc
	Queries []Query
	// Qrels maps a query id to its relevant corpus ids.
	Qrels map[string]map[string]bool
}

// Doc is one corpus entry; Query one query.
type (
	Doc struct {
		ID    string `json:"_id"`
		Title string `json:"title"`
		Text  string `json:"text"`
	}
	Query struct {
		ID    string `json:"_id"`
		Text  string `json:"text"`
		Split string `json:"split"`
	}
)

// Load reads a dataset; only queries judged in the split's qrels are kept.
func Load(dir, split string) (Dataset, error) {
	var d Dataset
	if err := readJSONL(filepath.Join(dir, "corpus.jsonl"), func(raw []byte) error {
		var doc Doc
		if err := json.Unmarshal(raw, &doc); err != nil {
			return err
		}
		d.Corpus = append(d.Corpus, doc)
		return nil
	}); err != nil {
		return d, err
	}
	f, err := os.Open(filepath.Join(dir, "qrels", split+".tsv"))
	if err != nil {
		return d, err
	}
	defer f.Close()
	d.Qrels = map[string]map[string]bool{}
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		parts := strings.Split(sc.Text(), "\t")
		if first || len(parts) < 3 {
			continue
		}
		if score, _ := strconv.Atoi(parts[2]); score <= 0 {
			continue
		}
		if d.Qrels[parts[0]] == nil {
			d.Qrels[parts[0]] = map[string]bool{}
		}
		d.Qrels[parts[0]][parts[1]] = true
	}
	if err := sc.Err(); err != nil {
		return d, err
	}
	err = readJSONL(filepath.Join(dir, "queries.jsonl"), func(raw []byte) error {
		var q Query
		if err := json.Unmarshal(raw, &q); err != nil {
			return err
		}
		if d.Qrels[q.ID] != nil {
			d.Queries = append(d.Queries, q)
		}
		return nil
	})
	return d, err
}

func readJSONL(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}

// Corpus is a dataset ingested into an App.
type Corpus struct {
	a      *app.App
	user   string
	filter vector.Filter
	// byDoc maps penny document ids to corpus ids.
	byDoc map[string]string
}

// Ingest uploads the corpus through the documents service, one Markdown
// file per entry with its title as the heading (so that, as for any
// uploaded Markdown, every chunk carries the title), and waits until every
// one is ready.
func Ingest(ctx context.Context, a *app.App, d Dataset) (*Corpus, error) {
	s, err := a.Auth.Register(ctx, "eval@penny.invalid", "penny-eval-password", "")
	if err != nil {
		return nil, err
	}
	c := &Corpus{a: a, user: s.User.ID, byDoc: map[string]string{}}
	var all []string
	for start := 0; start < len(d.Corpus); start += 200 {
		var files []documents.File
		for _, doc := range d.Corpus[start:min(start+200, len(d.Corpus))] {
			files = append(files, documents.File{Name: doc.ID + ".md", Data: []byte(markdown(doc))})
		}
		docs, err := a.Documents.Upload(ctx, c.user, "eval", "", files)
		if err != nil {
			return nil, err
		}
		for _, pd := range docs {
			c.byDoc[pd.ID] = strings.TrimSuffix(pd.Filename, ".md")
			all = append(all, pd.ID)
		}
	}
	ready, err := a.Documents.Wait(ctx, c.user, all)
	if err != nil {
		return nil, err
	}
	for _, r := range ready {
		if r.Status != storage.DocumentReady {
			return nil, fmt.Errorf("eval: %s is %s: %s", r.Filename, r.Status, r.Error)
		}
	}
	c.filter = vector.ForDocuments(all...)
	return c, nil
}

// markdown is a corpus entry as a Markdown document: the title as its
// heading (an entry without one is headed by its id), then the text.
func markdown(d Doc) string {
	title := strings.Join(strings.Fields(d.Title), " ")
	if title == "" {
		title = d.ID
	}
	return "# " + title + "\n\n" + d.Text
}

// Scores are the metrics of one retrieval mode.
type Scores struct {
	Mode      string
	NDCG10    float64
	Recall100 float64
	Queries   int
	Took      time.Duration
}

// Run scores the queries with the Indexes' current weights; mode is
// "hybrid", "keyword" (BM25 only) or "vector" (nearest neighbours only).
func (c *Corpus) Run(ctx context.Context, d Dataset, mode string) (Scores, error) {
	start := time.Now()
	out := Scores{Mode: mode, Queries: len(d.Queries)}
	for _, q := range d.Queries {
		var vec []float32
		if mode != "keyword" {
			emb, err := c.a.Router.Embed(ctx, router.Call{UserID: c.user, Service: storage.ServiceRAG}, c.a.EmbedModel.ID, []string{q.Text})
			if err != nil {
				return out, err
			}
			vec = emb.Vectors[0]
		}
		text := q.Text
		if mode == "vector" {
			text = ""
		}
		hits, _, err := c.a.Indexes.Search(ctx, vec, text, 300, c.filter)
		if err != nil {
			return out, err
		}
		ranked := c.documents(ctx, hits)
		out.NDCG10 += NDCG(ranked, d.Qrels[q.ID], 10)
		out.Recall100 += Recall(ranked, d.Qrels[q.ID], 100)
	}
	out.NDCG10 /= float64(len(d.Queries))
	out.Recall100 /= float64(len(d.Queries))
	out.Took = time.Since(start)
	return out, nil
}

// documents turns ranked chunks into ranked corpus ids (a document ranks
// at its best chunk).
func (c *Corpus) documents(ctx context.Context, hits []vector.Hit) []string {
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	chunks, _ := c.a.Store.ChunksByID(ctx, ids)
	seen := map[string]bool{}
	var out []string
	for _, ch := range chunks {
		if id := c.byDoc[ch.DocumentID]; !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// NDCG is nDCG@k with binary relevance.
func NDCG(ranked []string, relevant map[string]bool, k int) float64 {
	dcg, idcg := 0.0, 0.0
	for i := 0; i < min(k, len(ranked)); i++ {
		if relevant[ranked[i]] {
			dcg += 1 / math.Log2(float64(i+2))
		}
	}
	for i := 0; i < min(k, len(relevant)); i++ {
		idcg += 1 / math.Log2(float64(i+2))
	}
	if idcg == 0 {
		return 0
	}
	return dcg / idcg
}

// Recall is recall@k.
func Recall(ranked []string, relevant map[string]bool, k int) float64 {
	if len(relevant) == 0 {
		return 0
	}
	hit := 0
	for i := 0; i < min(k, len(ranked)); i++ {
		if relevant[ranked[i]] {
			hit++
		}
	}
	return float64(hit) / float64(len(relevant))
}
