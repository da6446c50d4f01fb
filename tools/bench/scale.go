package main

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/penny-dev/penny/app"
	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/local"
	"github.com/penny-dev/penny/providers/router"
	"github.com/penny-dev/penny/storage"
	"github.com/penny-dev/penny/storage/bolt"
	"github.com/penny-dev/penny/vector"
)

// vocabulary is n words picked by a Zipf law, as in text: the most
// frequent are English stop words (which the analyser drops, as it drops
// "the" and "of" from real text), the rest made-up pronounceable words.
type vocabulary struct {
	words []string
	zipf  *rand.Zipf
}

func newVocabulary(rng *rand.Rand, n int) *vocabulary {
	syl := []string{"ba", "ko", "ri", "tan", "mel", "su", "dor", "ve", "lin", "gra", "pho", "nex", "cal", "tri", "mon", "sa", "pel", "qui", "ro", "den"}
	seen := map[string]bool{}
	v := &vocabulary{words: strings.Fields("the of and to a in is that for it as was with be by on not he this are or his from at which but have an they you were her she there been their has would had we all will")}
	for len(v.words) < n {
		var b strings.Builder
		for range 2 + rng.IntN(3) {
			b.WriteString(syl[rng.IntN(len(syl))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			v.words = append(v.words, w)
		}
	}
	v.zipf = rand.NewZipf(rng, 1.1, 2, uint64(n-1))
	return v
}

func (v *vocabulary) text(words int) string {
	parts := make([]string, words)
	for i := range parts {
		parts[i] = v.words[v.zipf.Uint64()]
	}
	return strings.Join(parts, " ") + "."
}

// scale puts docs × perDoc chunks (about 120 words each, embedded by the
// built-in embedder) straight into a store, then measures what a user of
// that instance meets: the first start (both indexes built from the
// store), a start from the snapshot, the heap the App holds, and hybrid
// retrieval (question embedding + keyword and nearest-neighbour search
// over the user's 1,000 documents, fused) — the part of a document answer
// before the model is called.
func scale(b *strings.Builder, docs, perDoc int) {
	dir := benchDir("scale")
	defer os.RemoveAll(dir)
	cfg := benchConfig(dir)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 7))
	vocab := newVocabulary(rng, 30000)
	emb := local.New()

	st, err := bolt.Open(cfg.StorePath(), bolt.Options{})
	if err != nil {
		log.Fatal(err)
	}
	owner := storage.User{ID: storage.NewID(), Email: "bench@example.com", Role: storage.RoleAdmin, CreatedAt: time.Now().UTC()}
	if err := st.CreateUser(ctx, owner); err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	for d := range docs {
		doc := storage.Document{ID: storage.NewID(), OwnerID: owner.ID, Collection: "default", Title: fmt.Sprint("report ", d), Filename: fmt.Sprint("report-", d, ".md"),
			ContentType: "text/markdown", Status: storage.DocumentReady, Chunks: perDoc, EmbedModel: local.EmbedModel, CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
		texts := make([]string, perDoc)
		for i := range texts {
			texts[i] = vocab.text(120)
		}
		res, err := emb.Embed(ctx, providers.EmbedRequest{Model: local.EmbedModel, Texts: texts})
		if err != nil {
			log.Fatal(err)
		}
		chunks := make([]storage.Chunk, perDoc)
		off := 0
		for i, t := range texts {
			chunks[i] = storage.Chunk{ID: storage.NewID(), DocumentID: doc.ID, OwnerID: owner.ID, Ordinal: i, Heading: doc.Title, Text: t,
				Start: off, End: off + len(t), Tokens: len(t) / 4, EmbedModel: local.EmbedModel, Vector: res.Vectors[i]}
			off += len(t) + 1
		}
		if err := st.CreateDocuments(ctx, []storage.Document{doc}, chunks); err != nil {
			log.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		log.Fatal(err)
	}
	fill := time.Since(start)

	open := func() (*app.App, time.Duration) {
		start := time.Now()
		a := startApp(cfg)
		return a, time.Since(start)
	}
	a, rebuild := open()
	if err := a.Close(); err != nil { // saves the vector snapshot
		log.Fatal(err)
	}
	bin, err := buildPenny()
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(bin)
	type serveRun struct {
		took time.Duration
		rss  int64
	}
	starts := repeat(func(int) serveRun {
		took, rss := serveProcess(bin, dir)
		return serveRun{took, rss}
	})
	serveStart := medianBy(starts, func(s serveRun) time.Duration { return s.took })
	rss := medianBy(starts, func(s serveRun) int64 { return s.rss })
	a, _ = open()
	defer a.Close()

	readable, err := a.Store.ReadableDocuments(ctx, owner.ID)
	if err != nil {
		log.Fatal(err)
	}
	ids := make([]string, len(readable))
	for i, d := range readable {
		ids[i] = d.ID
	}
	filter := vector.ForDocuments(ids...)
	const queries = 500
	type latencies struct{ p50, p95, p99 time.Duration }
	runs := repeat(func(int) latencies {
		lat := make([]time.Duration, 0, queries)
		for range queries {
			q := vocab.text(6 + rng.IntN(6))
			t := time.Now()
			e, err := a.Router.Embed(ctx, router.Call{UserID: owner.ID, Service: storage.ServiceRAG, NoCache: true}, a.EmbedModel.ID, []string{q})
			if err != nil {
				log.Fatal(err)
			}
			if _, _, err := a.Indexes.Search(ctx, e.Vectors[0], q, 20, filter); err != nil {
				log.Fatal(err)
			}
			lat = append(lat, time.Since(t))
		}
		return latencies{pct(lat, 50), pct(lat, 95), pct(lat, 99)}
	})
	n := docs * perDoc
	fmt.Fprintf(b, "\n## An instance with %d chunks\n\n%d documents × %d chunks of about 120 words (30,000 words picked by a Zipf law, the most frequent of them English stop words), embedded by the built-in embedder, written straight into the store (%s); then the real App:\n\n", n, docs, perDoc, fill.Round(time.Millisecond))
	fmt.Fprintln(b, "| measurement | value |\n|---|---|")
	fmt.Fprintf(b, "| first start: both indexes built from the store | %s |\n", rebuild.Round(time.Millisecond))
	fmt.Fprintf(b, "| `penny serve`: process start to `/readyz` answering 200, from the saved indexes (median of %d starts) | %s |\n", rounds, serveStart.Round(time.Millisecond))
	fmt.Fprintf(b, "| `penny serve`: resident memory when ready (median) | %.0f MiB (%.0f bytes a chunk) |\n", float64(rss)/(1<<20), float64(rss)/float64(n))
	fmt.Fprintf(b, "| hybrid retrieval p50 / p95 / p99 (medians of %d rounds of %d queries of 6–11 words, one user's %d documents) | %s / %s / %s |\n", rounds, queries, len(ids),
		ms(medianBy(runs, func(l latencies) time.Duration { return l.p50 })), ms(medianBy(runs, func(l latencies) time.Duration { return l.p95 })),
		ms(medianBy(runs, func(l latencies) time.Duration { return l.p99 })))
	fmt.Fprintln(b, "\nHybrid retrieval is what a document answer does before the model is called: embed the question (the built-in embedder; no cache), search the keyword index (BM25, pre-filtered to the readable documents) and the vector index (HNSW, the same filter), fuse. Goals: hybrid retrieval p95 ≤ 20 ms at 100k chunks (issue 4); start-up ≤ 1 s from the snapshot at 100k (issue 4).")
}

// serveProcess starts the real binary bin on dir and returns the time from
// process start until /readyz answers 200, and its resident memory then.
func serveProcess(bin, dir string) (time.Duration, int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data-dir", dir)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "PENNY_OLLAMA_URL=off", "PENNY_PROBE_INTERVAL=0", "PENNY_LOG_LEVEL=error"}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	for {
		if time.Since(start) > 5*time.Minute {
			log.Fatal("scale: penny serve did not become ready")
		}
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		log.Fatal(err)
	}
	var rss int64
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			rss = kb << 10
		}
	}
	return took, rss
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
