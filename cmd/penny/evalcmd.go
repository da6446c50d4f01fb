package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/penny-dev/penny/app"
	"github.com/penny-dev/penny/app/config"
	"github.com/penny-dev/penny/app/eval"
)

// evalCmd ingests a BEIR-layout dataset into a temporary data dir (never
// the user's) with the configured providers, and prints nDCG@10 and
// recall@100 for keyword, vector and hybrid retrieval.
func evalCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataset := fs.String("dataset", "", "a BEIR-layout folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv (required)")
	split := fs.String("split", "test", "qrels split to score")
	modes := fs.String("modes", "keyword,vector,hybrid", "retrieval modes to score")
	sweep := fs.String("sweep", "", "also score hybrid with these vector weights (keyword weight 1), e.g. 0.1,0.2,0.5")
	cfg, err := config.Load(fs, args, getenv)
	if err != nil {
		return err
	}
	if *dataset == "" {
		return errors.New("--dataset is required")
	}
	d, err := eval.Load(*dataset, *split)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "penny-eval-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.DataDir, cfg.CacheSize, cfg.IngestWorkers = dir, 0, max(2, runtime.NumCPU())
	cfg.PasswordMemoryKiB, cfg.PasswordTime = 1024, 1
	cfg.LogLevel = "error"
	ctx := context.Background()
	a, err := app.New(ctx, cfg, app.NewLogger(cfg, stderr), version)
	if err != nil {
		return err
	}
	defer a.Close()
	start := time.Now()
	c, err := eval.Ingest(ctx, a, d)
	if err != nil {
		return err
	}
	chunks, _ := a.Store.CountChunks(ctx)
	fmt.Fprintf(stdout, "dataset %s, split %s: %d documents (%d chunks, ingested in %s), %d queries; embedding model %s; hybrid weights vector %.2f, keyword %.2f\n\n",
		*dataset, *split, len(d.Corpus), chunks, time.Since(start).Round(time.Millisecond), len(d.Queries), a.EmbedModel.ID, a.Indexes.Weights[0], a.Indexes.Weights[1])
	fmt.Fprintln(stdout, "| retrieval | nDCG@10 | recall@100 | time |")
	fmt.Fprintln(stdout, "|---|---|---|---|")
	for _, mode := range strings.Split(*modes, ",") {
		s, err := c.Run(ctx, d, strings.TrimSpace(mode))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "| %s | %.3f | %.3f | %s |\n", s.Mode, s.NDCG10, s.Recall100, s.Took.Round(time.Millisecond))
	}
	for _, w := range strings.Split(*sweep, ",") {
		if w = strings.TrimSpace(w); w == "" {
			continue
		}
		vw, err := strconv.ParseFloat(w, 64)
		if err != nil {
			return fmt.Errorf("--sweep: %q is not a number", w)
		}
		a.Indexes.Weights = [2]float64{vw, 1}
		s, err := c.Run(ctx, d, "hybrid")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "| hybrid, vector weight %.2f | %.3f | %.3f | %s |\n", vw, s.NDCG10, s.Recall100, s.Took.Round(time.Millisecond))
	}
	return nil
}
