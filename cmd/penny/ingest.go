package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/penny-dev/penny/app/documents"
)

// ingest uploads files and folders to a running penny through the same
// API as any upload, one file per request (so one bad file does not sink
// the others), shows progress until every document is ready or failed,
// and prints a summary. It exits 1 when anything was refused or failed.
func ingest(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", envOr(getenv, "PENNY_URL", "http://localhost:8080"), "penny's address (env PENNY_URL)")
	collection := fs.String("collection", "", "collection to put the documents in (default: default)")
	parallel := fs.Int("parallel", 4, "uploads at a time")
	timeout := fs.Duration("timeout", 30*time.Minute, "how long to wait for the documents to be ready")
	if err := fs.Parse(args); err != nil {
		return err
	}
	key := getenv("PENNY_API_KEY")
	if key == "" {
		return errors.New("set PENNY_API_KEY to an API key (create one with POST /api/keys)")
	}
	if fs.NArg() == 0 {
		//lint:ignore ST1005 a usage line: PATH... means one or more paths
		return errors.New("usage: penny ingest [--url URL] [--collection NAME] PATH...")
	}
	files, skipped, err := findFiles(fs.Args())
	if err != nil {
		return err
	}
	c := &client{base: strings.TrimRight(*url, "/"), key: key, http: &http.Client{Timeout: 5 * time.Minute}}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	type result struct {
		path, id, status, err string
		duplicate             bool
		chunks                int
	}
	results := make([]result, len(files))
	sem := make(chan struct{}, max(1, *parallel))
	var wg sync.WaitGroup
	for i, path := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i].path = path
			doc, err := c.upload(ctx, path, *collection)
			if err != nil {
				results[i].status, results[i].err = "refused", err.Error()
				return
			}
			results[i].id, results[i].status, results[i].duplicate = doc.ID, doc.Status, doc.Duplicate
		}()
	}
	wg.Wait()

	// Follow the queued documents until they are ready or failed.
	for {
		pending := 0
		counts := map[string]int{}
		for i := range results {
			r := &results[i]
			if r.id != "" && r.status != "ready" && r.status != "failed" {
				doc, err := c.document(ctx, r.id)
				if err == nil {
					r.status, r.err, r.chunks = doc.Status, doc.Error, doc.Chunks
				}
			}
			counts[r.status]++
			if r.status != "ready" && r.status != "failed" && r.status != "refused" {
				pending++
			}
		}
		done := len(results) - pending
		fmt.Fprintf(stdout, "\r[%-30s] %d/%d  ready %d  failed %d  refused %d  in progress %d ",
			strings.Repeat("=", 30*done/max(1, len(results))), done, len(results), counts["ready"], counts["failed"], counts["refused"], pending)
		if pending == 0 || ctx.Err() != nil {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	fmt.Fprintln(stdout)

	ready, failed, dups, chunks := 0, 0, 0, 0
	var problems []string
	for _, r := range results {
		switch r.status {
		case "ready":
			ready++
			chunks += r.chunks
		default:
			failed++
			problems = append(problems, fmt.Sprintf("  %s: %s %s", r.path, r.status, r.err))
		}
		if r.duplicate {
			dups++
		}
	}
	fmt.Fprintf(stdout, "%d files: %d ready (%d already there), %d not ready; %d chunks; %d files skipped (not a supported format)\n",
		len(results), ready, dups, failed, chunks, skipped)
	for _, p := range problems {
		fmt.Fprintln(stdout, p)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files are not ready", failed, len(results))
	}
	return nil
}

func envOr(getenv func(string) string, k, def string) string {
	if v := getenv(k); v != "" {
		return v
	}
	return def
}

// findFiles expands folders (skipping hidden ones) into supported files.
func findFiles(paths []string) ([]string, int, error) {
	var out []string
	skipped := 0
	for _, root := range paths {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != root && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if _, ok := documents.Formats[strings.ToLower(filepath.Ext(path))]; ok {
				out = append(out, path)
			} else {
				skipped++
			}
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
	}
	sort.Strings(out)
	return out, skipped, nil
}

type client struct {
	base, key string
	http      *http.Client
}

type docJSON struct {
	ID, Status, Error string
	Chunks            int
	Duplicate         bool
}

func (c *client) do(req *http.Request, out any) error {
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return apiError(resp)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// apiError reads penny's {error:{code,message}} from a failed response.
func apiError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Error struct{ Code, Message string }
	}
	if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
		return fmt.Errorf("%s (%s)", e.Error.Message, e.Error.Code)
	}
	return fmt.Errorf("HTTP %d", resp.StatusCode)
}

func (c *client) upload(ctx context.Context, path, collection string) (docJSON, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return docJSON{}, err
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if collection != "" {
		_ = mw.WriteField("collection", collection)
	}
	w, err := mw.CreateFormFile("file", filepath.Base(path))
	if err != nil {
		return docJSON{}, err
	}
	_, _ = w.Write(data)
	_ = mw.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/documents", &buf)
	if err != nil {
		return docJSON{}, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var out struct{ Documents []docJSON }
	if err := c.do(req, &out); err != nil {
		return docJSON{}, err
	}
	if len(out.Documents) != 1 {
		return docJSON{}, errors.New("unexpected answer")
	}
	return out.Documents[0], nil
}

func (c *client) document(ctx context.Context, id string) (docJSON, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/documents/"+id, nil)
	if err != nil {
		return docJSON{}, err
	}
	var d docJSON
	return d, c.do(req, &d)
}
