package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/penny-dev/penny/app"
	"github.com/penny-dev/penny/app/auth"
	"github.com/penny-dev/penny/app/httpapi"
	"github.com/penny-dev/penny/providers/providertest"
	"github.com/penny-dev/penny/storage"
)

// loadRig is a penny with fake Cloudflare and OpenAI that answer after a
// realistic 0.2–1.5 s, a signed-in user with an API key, a document and
// chats to talk in.
type loadRig struct {
	a       *app.App
	srv     *httptest.Server
	cf, oa  *httptest.Server
	cfFake  *providertest.Cloudflare
	key     string
	mu      sync.Mutex
	session auth.Session // refreshed before its access token expires, as a client does
	chats   []string
	dir     string
}

// providerDelay spreads answers over 0.2–1.5 s (deterministic by request
// number); embeddings take 20 ms.
func providerDelay(n int, r *http.Request) *providertest.Fault {
	if strings.Contains(r.URL.Path, "embed") || strings.Contains(r.URL.Path, "bge") {
		return &providertest.Fault{Delay: 20 * time.Millisecond}
	}
	return &providertest.Fault{Delay: time.Duration(200+(n*7919)%1300) * time.Millisecond}
}

func newLoadRig() *loadRig {
	cf := providertest.NewCloudflare("acct", "cf-load")
	oa := providertest.NewOpenAI("sk-load")
	cf.SetScript(providerDelay)
	oa.SetScript(providerDelay)
	cf.ForgetBodies() // the fakes share penny's heap, which the soak watches
	oa.ForgetBodies()
	dir := benchDir("load")
	cfg := benchConfig(dir)
	cfg.GatewayRPM, cfg.CacheSize = 1_000_000_000, 0
	cfg.Providers.CloudflareAccountID, cfg.Providers.CloudflareToken, cfg.Providers.CloudflareBaseURL = "acct", "cf-load", cf.BaseURL()
	cfg.Providers.OpenAIKey, cfg.Providers.OpenAIBaseURL = "sk-load", oa.BaseURL()
	ctx := context.Background()
	a := startApp(cfg)
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = httpapi.Server(httpapi.New(a)) // penny's own timeouts, as penny serve runs it
	srv.Start()
	r := &loadRig{a: a, srv: srv, cf: cf.Server, oa: oa.Server, cfFake: cf, dir: dir}
	sess, err := a.Auth.Register(ctx, "load@example.com", "correct horse battery", "")
	if err != nil {
		log.Fatal(err)
	}
	r.session = sess
	if _, r.key, err = a.Auth.CreateAPIKey(ctx, auth.Principal{UserID: sess.User.ID, Role: sess.User.Role}, "load", auth.KeyLimits{}); err != nil {
		log.Fatal(err)
	}
	if st, _ := r.post("/api/documents?wait=true", "multipart/form-data; boundary=b", uploadBody(0)); st != http.StatusCreated {
		log.Fatalf("load: upload: HTTP %d", st)
	}
	for i := range 64 {
		st, body := r.post("/api/chats", "application/json", []byte(fmt.Sprintf(`{"title":"load %d"}`, i)))
		if st != http.StatusCreated {
			log.Fatalf("load: chat: HTTP %d", st)
		}
		r.chats = append(r.chats, jsonField(body, "id"))
	}
	return r
}

// token is a valid access token: the session's, refreshed a minute before
// it expires (the runs outlast its 15 minutes).
func (r *loadRig) token() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Until(r.session.AccessExpiresAt) < time.Minute {
		sess, err := r.a.Auth.Refresh(context.Background(), r.session.RefreshToken)
		if err != nil {
			log.Fatalf("load: refresh the session: %v", err)
		}
		r.session = sess
	}
	return r.session.AccessToken
}

func (r *loadRig) close() {
	r.srv.Close()
	_ = r.a.Close()
	r.cf.Close()
	r.oa.Close()
	_ = os.RemoveAll(r.dir)
}

func (r *loadRig) post(path, ctype string, body []byte) (int, []byte) {
	req, _ := http.NewRequest(http.MethodPost, r.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+r.token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes()
}

func jsonField(body []byte, name string) string {
	_, rest, _ := strings.Cut(string(body), `"`+name+`":"`)
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

func uploadBody(i int64) []byte {
	return []byte(fmt.Sprintf("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"note-%d.md\"\r\nContent-Type: text/markdown\r\n\r\n"+
		"# Note %d\n\nThe harbour office opens at eight; ferry %d leaves from pier %d after the morning tide.\r\n--b--\r\n", i, i, i, i%9))
}

// kinds of traffic, in the mix's order.
const (
	kindGateway = "gateway chat"
	kindRAG     = "document question"
	kindChat    = "chat message"
	kindUpload  = "upload"
)

// targeter mixes the traffic: per 10 requests 5 gateway calls, 3 document
// questions, 1 chat message, 1 upload (a document question too when
// uploads is false).
func (r *loadRig) targeter(uploads bool) vegeta.Targeter {
	var n atomic.Int64
	bearer := func(tok string) http.Header {
		return http.Header{"Authorization": {"Bearer " + tok}, "Content-Type": {"application/json"}, "Cache-Control": {"no-cache"}}
	}
	return func(t *vegeta.Target) error {
		i := n.Add(1)
		t.Method = http.MethodPost
		switch i % 10 {
		case 0, 1, 2, 3, 4:
			t.URL, t.Header = r.srv.URL+"/v1/chat/completions", bearer(r.key)
			t.Body = []byte(fmt.Sprintf(`{"model":"auto","messages":[{"role":"user","content":"Draft a two-line reply to ticket %d."}]}`, i))
		case 5, 6, 7:
			t.URL, t.Header = r.srv.URL+"/api/rag/query", bearer(r.token())
			t.Body = []byte(fmt.Sprintf(`{"question":"When does ferry %d leave?"}`, i%50))
		case 8:
			t.URL, t.Header = r.srv.URL+"/api/chats/"+r.chats[i%int64(len(r.chats))]+"/messages", bearer(r.token())
			t.Body = []byte(fmt.Sprintf(`{"content":"And the harbour office, question %d?"}`, i))
		case 9:
			if !uploads {
				t.URL, t.Header = r.srv.URL+"/api/rag/query", bearer(r.token())
				t.Body = []byte(fmt.Sprintf(`{"question":"Which pier does ferry %d use?"}`, i%50))
				break
			}
			t.URL = r.srv.URL + "/api/documents"
			t.Header = http.Header{"Authorization": {"Bearer " + r.token()}, "Content-Type": {"multipart/form-data; boundary=b"}}
			t.Body = uploadBody(i)
		}
		return nil
	}
}

func kindOf(url string) string {
	switch {
	case strings.HasSuffix(url, "/v1/chat/completions"):
		return kindGateway
	case strings.HasSuffix(url, "/api/rag/query"):
		return kindRAG
	case strings.Contains(url, "/messages"):
		return kindChat
	}
	return kindUpload
}

type loadResult struct {
	requests, errors int
	why              map[string]int             // errors by kind, status and the start of the answer
	byKind           map[string][]time.Duration // client latency
	added            []time.Duration            // client latency minus the provider time on the ledger (synchronous kinds)
	rps              float64
}

// attack runs users concurrent users for d and accounts for every result.
// Each user sends its next request as soon as the last one is answered, or,
// when every > 0, every that often (the rate is users/every, open loop).
func (r *loadRig) attack(users int, every, d time.Duration) loadResult {
	return r.attackWith(r.targeter(true), users, every, d)
}

func (r *loadRig) attackWith(tr vegeta.Targeter, users int, every, d time.Duration) loadResult {
	rate := vegeta.Rate{Freq: 0}
	if every > 0 {
		rate = vegeta.Rate{Freq: users, Per: every}
	}
	start := time.Now()
	// Our own transport, closed after the attack: every attack's idle
	// connections would otherwise stay open for the rest of the run.
	transport := &http.Transport{MaxIdleConns: users, MaxIdleConnsPerHost: users}
	defer transport.CloseIdleConnections()
	atk := vegeta.NewAttacker(vegeta.Client(&http.Client{Transport: transport}), vegeta.Workers(uint64(users)), vegeta.MaxWorkers(uint64(users)),
		vegeta.Connections(users), vegeta.KeepAlive(true), vegeta.Timeout(60*time.Second))
	out := loadResult{byKind: map[string][]time.Duration{}, why: map[string]int{}}
	type sync struct {
		rid string
		lat time.Duration
	}
	var synced []sync
	for res := range atk.Attack(tr, rate, d, fmt.Sprint(users)) {
		out.requests++
		if res.Error != "" || res.Code >= 400 {
			out.errors++
			out.why[fmt.Sprintf("%s %d %.120s", kindOf(res.URL), res.Code, res.Error+string(res.Body))]++
			continue
		}
		k := kindOf(res.URL)
		out.byKind[k] = append(out.byKind[k], res.Latency)
		if k != kindUpload {
			synced = append(synced, sync{res.Headers.Get("X-Request-Id"), res.Latency})
		}
	}
	out.rps = float64(out.requests) / time.Since(start).Seconds()
	if out.errors > 0 {
		log.Printf("load: %d users: %d errors: %s", users, out.errors, reasons(out.why))
	}
	provider := map[string]time.Duration{}
	err := r.a.Store.EachLedger(context.Background(), storage.LedgerFilter{From: start.Add(-time.Second), To: time.Now().Add(time.Minute)},
		func(e storage.LedgerEntry) error {
			provider[e.RequestID] += time.Duration(e.LatencyMs) * time.Millisecond
			return nil
		})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range synced {
		out.added = append(out.added, max(0, s.lat-provider[s.rid]))
	}
	return out
}

func pct(l []time.Duration, p int) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func heapMiB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// soakHeapProfile, if set, is where the soak writes a heap profile when
// it ends (-memprofile).
var soakHeapProfile string

// userPeriod is how often a user who reads the answer before asking again
// sends a request in the paced load levels.
const userPeriod = 5 * time.Second

// loadBench writes the load section: mixed traffic at each number of
// users, paced and flat out, a soak, and a provider killed mid-run.
func loadBench(b *strings.Builder, levels []int, levelRounds int, d, soak time.Duration) {
	fmt.Fprintln(b, "\n## Load: mixed traffic from many users")
	fmt.Fprintf(b, "\nThe real App over HTTP on loopback, generated with vegeta: per 10 requests 5 gateway chat calls (`/v1/chat/completions`, no cache), 3 document questions (`/api/rag/query`), 1 chat message and 1 upload. Fake Cloudflare and OpenAI answer every model call after 0.2–1.5 s (embeddings 20 ms). *Added* is each synchronous request's latency minus the provider time booked on the ledger for that request id (what penny itself adds: routing, retrieval, storage, HTTP, and waiting for a CPU). Each level runs %d times for %s; a row sums requests and errors and shows the median of the runs' rates and percentiles. Generator, penny and fakes share the machine and one process.\n", levelRounds, d)
	rig := newLoadRig()
	defer rig.close()
	for _, mode := range []struct {
		title string
		every time.Duration
	}{
		{fmt.Sprintf("Users who send a request every %s (reading the answer in between; open loop at users/%s requests a second)", userPeriod, userPeriod), userPeriod},
		{"Users who send the next request the moment an answer arrives (closed loop, no pause: the machine's ceiling)", 0},
	} {
		fmt.Fprintf(b, "\n%s:\n", mode.title)
		fmt.Fprintln(b, "\n| users | requests | req/s | errors | gateway p95 | question p95 | chat p95 | upload p95 | added p50 | added p95 | added p99 | heap after |")
		fmt.Fprintln(b, "|---|---|---|---|---|---|---|---|---|---|---|---|")
		for _, users := range levels {
			runs := make([]loadResult, levelRounds)
			requests, errors := 0, 0
			for i := range runs {
				runs[i] = rig.attack(users, mode.every, d)
				requests, errors = requests+runs[i].requests, errors+runs[i].errors
			}
			p95 := func(kind string) string {
				return ms(medianBy(runs, func(r loadResult) time.Duration { return pct(r.byKind[kind], 95) }))
			}
			added := func(p int) string {
				return ms(medianBy(runs, func(r loadResult) time.Duration { return pct(r.added, p) }))
			}
			fmt.Fprintf(b, "| %d | %d | %.0f | %d | %s | %s | %s | %s | %s | %s | %s | %.0f MiB |\n", users, requests,
				medianBy(runs, func(r loadResult) float64 { return r.rps }), errors,
				p95(kindGateway), p95(kindRAG), p95(kindChat), p95(kindUpload), added(50), added(95), added(99), heapMiB())
		}
	}

	// Soak: the largest paced level without uploads (whose vectors the
	// index keeps in memory by design), the heap sampled after a GC.
	soakUsers := slices.Max(levels)
	var samples []float64
	total := loadResult{why: map[string]int{}}
	for elapsed := time.Duration(0); elapsed < soak; elapsed += 30 * time.Second {
		r := rig.attackWith(rig.targeter(false), soakUsers, userPeriod, 30*time.Second)
		total.requests += r.requests
		total.errors += r.errors
		for k, n := range r.why {
			total.why[k] += n
		}
		total.added = append(total.added, r.added...)
		samples = append(samples, heapMiB())
	}
	if soakHeapProfile != "" {
		runtime.GC()
		writeProfile("heap", soakHeapProfile)
	}
	if len(samples) > 0 {
		fmt.Fprintf(b, "\nSoak: %d paced users for %s, the same mix without uploads (an upload's vectors stay in the in-memory index by design): %d requests, %d errors, added p95 %s; heap after GC every 30 s: %s MiB (first %.0f, last %.0f, max %.0f). The store grows with every message and ledger entry; the heap should not.%s\n",
			soakUsers, soak, total.requests, total.errors, ms(pct(total.added, 95)), joinFloats(samples), samples[0], samples[len(samples)-1], slices.Max(samples), errorsLine(total.why))
	}

	// A provider killed mid-run: Cloudflare (first choice) goes away.
	done := make(chan loadResult)
	go func() { done <- rig.attack(100, 0, 20*time.Second) }()
	time.Sleep(5 * time.Second)
	kill := time.Now()
	rig.cf.Listener.Close() // first: no new connection is accepted after the kill
	rig.cf.CloseClientConnections()
	r := <-done
	inFlight, byModel := doomed(rig, "cloudflare", kill)
	fmt.Fprintf(b, "\nProvider killed: 100 users flat out for 20 s; after 5 s the fake Cloudflare (every tier's first choice) stops listening. %d requests, %d user-visible errors. Failed Cloudflare calls: %d were in flight when it died; started after it died, per model (each has its own breaker, which opens after 3 failures in a row or at once on a refused connection, then lets one probe through per cooldown window of 30 s, doubling): %s. Everything else went to OpenAI.%s\n",
		r.requests, r.errors, inFlight, byModel, errorsLine(r.why))
	fmt.Fprintln(b, "\nGoals (issue 9): 0 errors; added p95 ≤ 50 ms at 1,000 users; no heap growth over the soak; a killed provider → the next candidate, ≤ 1 doomed attempt per breaker window, no user-visible error.")
}

// doomed counts provider's failed calls on the ledger: those started before
// kill, and those started after it, per model.
func doomed(rig *loadRig, provider string, kill time.Time) (inFlight int, after string) {
	byModel := map[string]int{}
	_ = rig.a.Store.EachLedger(context.Background(), storage.LedgerFilter{From: kill.Add(-time.Minute), To: time.Now().Add(time.Hour)},
		func(e storage.LedgerEntry) error {
			if e.Provider != provider || e.Outcome != storage.OutcomeError {
				return nil
			}
			if e.Time.Add(-time.Duration(e.LatencyMs) * time.Millisecond).Before(kill) {
				inFlight++
			} else {
				byModel[e.Model]++
			}
			return nil
		})
	var parts []string
	for _, m := range slices.Sorted(maps.Keys(byModel)) {
		parts = append(parts, fmt.Sprintf("%d (%s)", byModel[m], m))
	}
	if len(parts) == 0 {
		return inFlight, "none"
	}
	return inFlight, strings.Join(parts, ", ")
}

func joinFloats(v []float64) string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = fmt.Sprintf("%.0f", f)
	}
	return strings.Join(parts, ", ")
}

// intList parses "100,500,1000".
func intList(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			log.Fatalf("bench: %q is not a number of users", f)
		}
		out = append(out, n)
	}
	return out
}

// reasons lists the most common errors, most common first.
func reasons(why map[string]int) string {
	keys := slices.Collect(maps.Keys(why))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(why[b]-why[a], strings.Compare(a, b)) })
	parts := make([]string, 0, 3)
	for _, k := range keys[:min(3, len(keys))] {
		parts = append(parts, fmt.Sprintf("%d × %s", why[k], k))
	}
	return strings.Join(parts, "; ")
}

// errorsLine is " Errors: …" naming the most common errors, or nothing.
func errorsLine(why map[string]int) string {
	if len(why) == 0 {
		return ""
	}
	return " Errors: " + reasons(why) + "."
}
