package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/penny-dev/penny/app/auth"
	"github.com/penny-dev/penny/app/httpapi"
	"github.com/penny-dev/penny/providers/providertest"
)

// gateway measures penny's /v1 against calling the fake upstream directly,
// both over HTTP on loopback, with the real App (bbolt ledger included).
func gateway(b *strings.Builder) {
	fake := providertest.NewOpenAI("sk-bench")
	defer fake.Close()
	dir := benchDir("gw")
	defer os.RemoveAll(dir)
	cfg := benchConfig(dir)
	cfg.GatewayRPM = 1_000_000_000
	cfg.Providers.OpenAIKey, cfg.Providers.OpenAIBaseURL = "sk-bench", fake.BaseURL()
	ctx := context.Background()
	a := startApp(cfg)
	srv := httptest.NewServer(httpapi.New(a))
	defer func() { srv.Close(); _ = a.Close() }()
	sess, err := a.Auth.Register(ctx, "bench@example.com", "correct horse battery", "")
	if err != nil {
		log.Fatal(err)
	}
	_, key, err := a.Auth.CreateAPIKey(ctx, auth.Principal{UserID: sess.User.ID, Role: sess.User.Role}, "bench", auth.KeyLimits{})
	if err != nil {
		log.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: 2048, MaxIdleConnsPerHost: 2048, IdleConnTimeout: time.Minute}}
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Summarize the attached meeting notes in three bullet points."}]}`
	streamBody := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Summarize the attached meeting notes in three bullet points."}]}`
	post := func(url, auth, body string) func(context.Context) error {
		return func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/chat/completions", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+auth)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Cache-Control", "no-cache") // measure the uncached path
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != 200 {
				return fmt.Errorf("HTTP %d", resp.StatusCode)
			}
			return nil
		}
	}
	direct, via := post(fake.BaseURL(), "sk-bench", body), post(srv.URL+"/v1", key, body)

	fmt.Fprintln(b, "\n## Gateway (`/v1/chat/completions`)")
	fmt.Fprintf(b, "\nThe same request sent over HTTP on loopback to the fake OpenAI directly and to penny's `/v1` (auth by API key, per-key limits, routing, the upstream call, a durable ledger entry), with `Cache-Control: no-cache` so penny's caches are bypassed and every request reaches the upstream. The real App runs on a temporary data dir. Latencies: 2,000 calls (500 streams) per measurement, medians of %d rounds of direct and through-penny back to back; \"added\" is the median of the rounds' differences.\n", rounds)
	fmt.Fprintln(b, "\n| measurement | direct | through penny | added |")
	fmt.Fprintln(b, "|---|---|---|---|")
	d, p, added := pairedRounds(func() result { return measure(direct, 2000, 1) }, func() result { return measure(via, 2000, 1) })
	fmt.Fprintf(b, "| latency p50, concurrency 1 | %s | %s | %s |\n", us(d.p50), us(p.p50), us(added.p50))
	fmt.Fprintf(b, "| latency p99, concurrency 1 | %s | %s | %s |\n", us(d.p99), us(p.p99), us(added.p99))
	dt, pt, addedT := pairedRounds(func() result { return ttft(hc, fake.BaseURL(), "sk-bench", streamBody, 500) }, func() result { return ttft(hc, srv.URL+"/v1", key, streamBody, 500) })
	fmt.Fprintf(b, "| streaming time to first token, p50 | %s | %s | %s |\n", us(dt.p50), us(pt.p50), us(addedT.p50))
	fmt.Fprintf(b, "| streaming time to first token, p99 | %s | %s | %s |\n", us(dt.p99), us(pt.p99), us(addedT.p99))

	fmt.Fprintln(b, "\nSustained throughput through penny, 3 s per row:")
	fmt.Fprintln(b, "\n| concurrency | requests/s | p50 | p99 | errors |")
	fmt.Fprintln(b, "|---|---|---|---|---|")
	for _, conc := range []int{8, 32, 64, 128} {
		rps, r, errs := sustained(via, conc, 3*time.Second)
		fmt.Fprintf(b, "| %d | %.0f | %s | %s | %d |\n", conc, rps, us(r.p50), us(r.p99), errs)
	}

	fake.SetScript(providertest.Always(providertest.Fault{Drip: 20 * time.Millisecond}))
	n, done, maxGap := streams(hc, srv.URL+"/v1", key, streamBody, 512)
	fmt.Fprintf(b, "\nConcurrent streams: %d streams opened at once through penny against an upstream that drips a token every 20 ms; %d finished with `[DONE]`; the longest gap between two chunks a client saw was %s.\n", n, done, maxGap.Round(time.Millisecond))
	fmt.Fprintln(b, "\nGoals (issue 7): p99 added ≤ 150 µs, ≥ 5,000 requests/s with p99 < 20 ms, time to first token added ≤ 1 ms, ≥ 512 concurrent streams. The fake upstream, penny and the load generator share this machine's 2 cores.")
}

// ttft measures the time from sending a streamed request to reading the
// first content chunk.
func ttft(hc *http.Client, url, key, body string, n int) result {
	lat := make([]time.Duration, 0, n)
	for range n {
		req, _ := http.NewRequest(http.MethodPost, url+"/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Cache-Control", "no-cache") // measure the uncached path
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		rd := bufio.NewReader(resp.Body)
		for {
			line, err := rd.ReadBytes('\n')
			if err != nil {
				log.Fatalf("stream ended before content: %v", err)
			}
			if bytes.Contains(line, []byte(`"content":"`)) && !bytes.Contains(line, []byte(`"content":""`)) {
				lat = append(lat, time.Since(start))
				break
			}
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return result{p50: lat[len(lat)/2], p99: lat[len(lat)*99/100]}
}

// sustained runs conc workers for d and reports requests/s and latency.
func sustained(fn func(context.Context) error, conc int, d time.Duration) (float64, result, int64) {
	var mu sync.Mutex
	var lat []time.Duration
	var errs atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				start := time.Now()
				if err := fn(context.Background()); err != nil {
					errs.Add(1)
					continue
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		return 0, result{}, errs.Load()
	}
	return float64(len(lat)) / d.Seconds(), result{p50: lat[len(lat)/2], p99: lat[len(lat)*99/100]}, errs.Load()
}

// streams opens n streams at once and reports how many finished and the
// longest pause between chunks any client saw.
func streams(hc *http.Client, url, key, body string, n int) (int, int, time.Duration) {
	var done atomic.Int64
	var mu sync.Mutex
	var maxGap time.Duration
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, url+"/chat/completions", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Cache-Control", "no-cache") // measure the uncached path
			resp, err := hc.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			rd := bufio.NewReader(resp.Body)
			last := time.Now()
			var gap time.Duration
			for {
				line, err := rd.ReadBytes('\n')
				if err != nil {
					break
				}
				if len(bytes.TrimSpace(line)) == 0 {
					continue
				}
				gap = max(gap, time.Since(last))
				last = time.Now()
				if bytes.HasPrefix(line, []byte("data: [DONE]")) {
					done.Add(1)
					break
				}
			}
			mu.Lock()
			maxGap = max(maxGap, gap)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return n, int(done.Load()), maxGap
}
