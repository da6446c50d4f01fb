package main

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/penny-dev/penny/vector"
	"github.com/penny-dev/penny/vector/exact"
	"github.com/penny-dev/penny/vector/hnsw"
)

// hnswBench: recall@10 and queries/s of penny's HNSW against the exact
// scan on n clustered 384-d vectors; build time, memory per vector, and
// start-up from the snapshot.
func hnswBench(b *strings.Builder, n int) {
	const dim, queries = 384, 500
	rng := rand.New(rand.NewPCG(42, 1))
	centres := make([][]float32, 200)
	for i := range centres {
		centres[i] = make([]float32, dim)
		for j := range centres[i] {
			centres[i][j] = float32(rng.NormFloat64())
		}
	}
	gen := func(count int, prefix string) []vector.Item {
		out := make([]vector.Item, count)
		for i := range out {
			v := make([]float32, dim)
			c := centres[rng.IntN(len(centres))]
			for j := range v {
				v[j] = c[j] + 0.5*float32(rng.NormFloat64())
			}
			out[i] = vector.Item{ID: fmt.Sprint(prefix, i), DocumentID: fmt.Sprint("d", i%1000), Vector: v}
		}
		return out
	}
	items, qs := gen(n, "c"), gen(queries, "q")
	docs := make([]string, 1000)
	for i := range docs {
		docs[i] = fmt.Sprint("d", i)
	}
	all := vector.ForDocuments(docs...)
	ctx := context.Background()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	h := hnsw.New(dim, hnsw.Options{})
	for i := 0; i < len(items); i += 1000 {
		if err := h.Upsert(ctx, items[i:min(i+1000, len(items))]); err != nil {
			log.Fatal(err)
		}
	}
	build := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	perVector := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)

	ex := exact.New(dim)
	if err := ex.Upsert(ctx, items); err != nil {
		log.Fatal(err)
	}
	var want [][]vector.Hit
	start = time.Now()
	for _, q := range qs {
		hits, _ := ex.Search(ctx, q.Vector, 10, all)
		want = append(want, hits)
	}
	exactQPS := float64(queries) / time.Since(start).Seconds()
	start = time.Now()
	var got [][]vector.Hit
	for _, q := range qs {
		hits, _ := h.Search(ctx, q.Vector, 10, all)
		got = append(got, hits)
	}
	hnswQPS := float64(queries) / time.Since(start).Seconds()
	var lat []time.Duration
	for _, q := range qs[:200] {
		t := time.Now()
		_, _ = h.Search(ctx, q.Vector, 10, all)
		lat = append(lat, time.Since(t))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	recall := 0.0
	for i := range qs {
		set := map[string]bool{}
		for _, w := range want[i] {
			set[w.ID] = true
		}
		for _, g := range got[i] {
			if set[g.ID] {
				recall++
			}
		}
	}
	recall /= float64(10 * queries)

	dir, _ := os.MkdirTemp("", "penny-bench-hnsw")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "vectors.hnsw")
	if err := h.Save(path, "bench"); err != nil {
		log.Fatal(err)
	}
	st, _ := os.Stat(path)
	start = time.Now()
	if _, _, err := hnsw.Load(path, hnsw.Options{}); err != nil {
		log.Fatal(err)
	}
	load := time.Since(start)

	fmt.Fprintf(b, "\n## Nearest-neighbour index (penny's HNSW)\n\n%d clustered 384-d vectors (200 centres), %d queries, M 16, efConstruction 200, efSearch 96; the exact scan is `vector/exact` in the same run.\n\n", n, queries)
	fmt.Fprintln(b, "| measurement | value |\n|---|---|")
	fmt.Fprintf(b, "| recall@10 against the exact scan | %.3f |\n", recall)
	fmt.Fprintf(b, "| queries/s, HNSW | %.0f |\n| queries/s, exact scan | %.0f |\n| speed-up | %.1f× |\n", hnswQPS, exactQPS, hnswQPS/exactQPS)
	fmt.Fprintf(b, "| search latency p50 / p95 | %s / %s |\n", us(lat[len(lat)/2]), us(lat[len(lat)*95/100]))
	fmt.Fprintf(b, "| build time (one writer) | %s |\n| heap per vector | %.0f bytes (the vector itself: %d) |\n", build.Round(time.Millisecond), perVector, 4*dim)
	fmt.Fprintf(b, "| snapshot size / load time | %.1f MiB / %s |\n", float64(st.Size())/(1<<20), load.Round(time.Millisecond))
	fmt.Fprintln(b, "\nGoals (issue 4): recall ≥ 0.97 at ≥ 30× the exact scan's speed at 100k; start-up from the snapshot ≤ 1 s at 100k.")
}
