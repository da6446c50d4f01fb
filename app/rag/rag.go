// Package rag answers questions from a user's documents: embed the
// question, retrieve passages (hybrid, pre-filtered to what the user may
// read and to the asked documents), have the router's model answer with
// [n] citations, and check every citation against the passages given.
package rag

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/app/quality"
	"github.com/penny-dev/penny/app/retrieval"
	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/local"
	"github.com/penny-dev/penny/providers/router"
	"github.com/penny-dev/penny/storage"
	"github.com/penny-dev/penny/storage/cache"
	"github.com/penny-dev/penny/vector"
)

// Store is what rag reads.
type Store interface {
	ReadableDocuments(ctx context.Context, userID string) ([]storage.Document, error)
	ChunksByID(ctx context.Context, ids []string) ([]storage.Chunk, error)
}

// Router is how rag reaches models.
type Router interface {
	Chat(ctx context.Context, call router.Call, req providers.ChatRequest, onDelta func(string) error) (router.Result, error)
	Embed(ctx context.Context, call router.Call, model string, texts []string) (router.EmbedResult, error)
	CheckProvider(provider string) error
	BookHit(ctx context.Context, call router.Call, class string, res router.Result, avoided int64) error
}

// Searcher is the retrieval index.
type Searcher interface {
	Search(ctx context.Context, query []float32, text string, k int, f vector.Filter) ([]vector.Hit, string, error)
}

// Options configure the Service.
type Options struct {
	EmbedModel string
	// MaxChunks is the default number of passages (1-20).
	MaxChunks int
	// MaxQuestionChars caps a question. Default 4000.
	MaxQuestionChars int
	// Cache keeps retrieval results and answers (nil: no caching).
	Cache cache.Cache
	// SemanticThreshold is the cosine similarity at which a new
	// single-turn question reuses the answer of an earlier one of the same
	// user over the same documents (0: off). SemanticTTL bounds reuse.
	SemanticThreshold float64
	SemanticTTL       time.Duration
	// Cascade names the tiers whose answers are checked — empty, a
	// refusal, or groundedness under MinGroundedness — and escalated to the
	// next tier when they fail (answers that are not streamed only).
	Cascade         map[string]bool
	MinGroundedness float64
	Logger          *slog.Logger
	Now             func() time.Time
}

// Service is the RAG capability. Safe for concurrent use.
type Service struct {
	store    Store
	router   Router
	search   Searcher
	opts     Options
	semantic *semantic
}

// New returns the service.
func New(store Store, r Router, search Searcher, opts Options) *Service {
	if opts.MaxQuestionChars == 0 {
		opts.MaxQuestionChars = 4000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SemanticTTL == 0 {
		opts.SemanticTTL = time.Hour
	}
	return &Service{store: store, router: r, search: search, opts: opts, semantic: newSemantic(opts.SemanticThreshold, opts.SemanticTTL)}
}

// Query is one question.
type Query struct {
	UserID    string
	RequestID string
	// Service is the ledger service: rag or chat.
	Service     string
	Question    string
	DocumentIDs []string
	// Collection restricts the answer to one collection's documents.
	Collection string
	Provider   string
	MaxChunks  int
	// History is the conversation before the question (chat).
	History []providers.Message
	// NoCache skips the caches.
	NoCache bool
}

// Source is one passage given to the model.
type Source struct {
	storage.Citation
	Text string `json:"text"`
}

// Cost is what an answer cost, in integer micro-dollars (USD mirrors them
// for display).
type Cost struct {
	Micros         int64   `json:"micros"`
	USD            float64 `json:"usd"`
	BaselineMicros int64   `json:"baselineMicros"`
	BaselineUSD    float64 `json:"baselineUsd"`
}

// NewCost builds a Cost from micro-dollars.
func NewCost(micros, baseline int64) Cost {
	return Cost{Micros: micros, USD: float64(micros) / 1e6, BaselineMicros: baseline, BaselineUSD: float64(baseline) / 1e6}
}

// Answer is the response of POST /api/rag/query.
type Answer struct {
	Answer    string             `json:"answer"`
	Citations []storage.Citation `json:"citations"`
	Sources   []Source           `json:"sources"`
	Cost      Cost               `json:"cost"`
	Provider  string             `json:"provider"`
	Model     string             `json:"model"`
	LatencyMs int64              `json:"latencyMs"`
	// Cached is "miss", "exact" (the same question over the same passages)
	// or "semantic" (a close enough earlier question).
	Cached    string   `json:"cached"`
	Retrieval string   `json:"retrieval"`
	Reasons   []string `json:"reasons,omitempty"`
	Tier      string   `json:"tier,omitempty"`
	Arm       string   `json:"arm,omitempty"`
	// Groundedness is the share of the answer's sentences supported by the
	// passages they cite (-1 when nothing was answered from passages).
	Groundedness float64 `json:"groundedness"`
}

// Answer answers q. With onDelta the answer streams; the final text (with
// any invalid citation removed) is in the returned Answer.
func (s *Service) Answer(ctx context.Context, q Query, onDelta func(string) error) (Answer, error) {
	start := s.opts.Now()
	q.Question = strings.TrimSpace(q.Question)
	if q.Question == "" {
		return Answer{}, apperr.Invalid("question is required")
	}
	if utf8.RuneCountInString(q.Question) > s.opts.MaxQuestionChars {
		return Answer{}, apperr.Invalid("question is longer than %d characters", s.opts.MaxQuestionChars)
	}
	k := q.MaxChunks
	if k == 0 {
		k = s.opts.MaxChunks
	}
	if k < 1 || k > 20 {
		return Answer{}, apperr.Invalid("options.maxChunks must be between 1 and 20")
	}
	if err := s.router.CheckProvider(q.Provider); err != nil {
		return Answer{}, modelError(err)
	}
	filter, titles, err := s.readable(ctx, q.UserID, q.Collection, q.DocumentIDs)
	if err != nil {
		return Answer{}, err
	}
	call := router.Call{UserID: q.UserID, Service: q.Service, RequestID: q.RequestID, Provider: q.Provider, NoCache: q.NoCache, Collection: q.Collection}
	useCache := s.opts.Cache != nil && !q.NoCache
	readable := filterKey(filter)
	question := strings.Join(strings.Fields(strings.ToLower(q.Question)), " ")

	var cost, baseline int64
	var qvec []float32
	var hits []vector.Hit
	mode := ""
	qkey := cache.Key("query", q.UserID, readable, question, fmt.Sprint(k))
	if raw, ok := s.cacheGet(cache.Queries, qkey, useCache); ok {
		var cached struct {
			Hits []vector.Hit
			Mode string
			Vec  []float32
		}
		if json.Unmarshal(raw, &cached) == nil {
			hits, mode, qvec = cached.Hits, cached.Mode, cached.Vec
		}
	}
	if mode == "" {
		if !filter.Empty() {
			emb, err := s.router.Embed(ctx, call, s.opts.EmbedModel, []string{q.Question})
			if err != nil {
				// Rule 1: no other model may stand in; answer from keywords.
				s.opts.Logger.Warn("embedding unavailable; keyword retrieval only", slog.Any("error", err))
			} else {
				qvec = emb.Vectors[0]
				cost, baseline = emb.CostMicros, emb.BaselineMicros
			}
		}
		var err error
		hits, mode, err = s.search.Search(ctx, qvec, q.Question, k, filter)
		if err != nil {
			return Answer{}, err
		}
		if useCache && mode == retrieval.ModeHybrid {
			if raw, err := json.Marshal(map[string]any{"Hits": hits, "Mode": mode, "Vec": qvec}); err == nil {
				s.opts.Cache.Set(ctx, cache.Queries, qkey, raw)
			}
		}
	}
	passages, sources, err := s.passages(ctx, hits, titles)
	if err != nil {
		return Answer{}, err
	}

	out := Answer{Sources: sources, Retrieval: mode, Citations: []storage.Citation{}, Cached: "miss", Groundedness: -1}
	if len(passages) == 0 {
		// Nothing to answer from: no model call, no cost.
		out.Answer = local.NothingFoundAnswer
		if onDelta != nil {
			if err := onDelta(out.Answer); err != nil {
				return Answer{}, err
			}
		}
		out.Cost = NewCost(cost, baseline)
		out.LatencyMs = s.opts.Now().Sub(start).Milliseconds()
		return out, nil
	}

	// The same question over the same passages (chunk ids change when a
	// document is re-indexed) gets the same answer; single-turn only.
	singleTurn := len(q.History) == 0
	ids := make([]string, len(sources))
	for i, src := range sources {
		ids[i] = src.ChunkID
	}
	akey := cache.Key("rag", q.UserID, question, strings.Join(ids, ","), q.Provider)
	if raw, ok := s.cacheGet(cache.Answers, akey, useCache && singleTurn); ok {
		if a, ok := s.replay(ctx, call, raw, "exact", onDelta); ok {
			a.Cost = NewCost(cost, a.Cost.BaselineMicros+baseline)
			a.LatencyMs = s.opts.Now().Sub(start).Milliseconds()
			return a, nil
		}
	}
	// A close question reuses an answer only when its retrieval found the
	// same passages: "Jane's salary?" is close to "John's salary?" in
	// embedding space, but its passages are Jane's.
	semScope := q.UserID + "|" + readable + "|" + strings.Join(ids, ",")
	if useCache && singleTurn && qvec != nil {
		if raw, ok := s.semantic.find(semScope, qvec, s.opts.Now()); ok {
			if a, ok := s.replay(ctx, call, raw, "semantic", onDelta); ok {
				a.Cost = NewCost(cost, a.Cost.BaselineMicros+baseline)
				a.LatencyMs = s.opts.Now().Sub(start).Milliseconds()
				return a, nil
			}
		}
	}

	req := providers.ChatRequest{Messages: prompt(q.History, q.Question, passages), Retrieval: true, Passages: passages}
	texts := map[int]string{}
	for _, p := range passages {
		texts[p.N] = p.Text
	}
	call.Judge = func(answer string) float64 { return quality.Groundedness(answer, texts) } // booked with every answer, shadows included
	res, err := s.router.Chat(ctx, call, req, onDelta)
	if err != nil {
		return Answer{}, modelError(err)
	}
	out.Answer, out.Citations = checkCitations(res.Text, sources)
	out.Groundedness = quality.Groundedness(out.Answer, texts)
	if next := nextTier(res.Tier); onDelta == nil && s.opts.Cascade[res.Tier] && next != "" && res.Cache == "" {
		why := ""
		switch {
		case strings.TrimSpace(out.Answer) == "":
			why = "was empty"
		case quality.Refusal(out.Answer):
			why = "was a refusal"
		case out.Groundedness < s.opts.MinGroundedness:
			why = fmt.Sprintf("scored %.2f groundedness, under %.2f", out.Groundedness, s.opts.MinGroundedness)
		}
		if why != "" {
			up := call
			up.Tier = next
			if res2, err := s.router.Chat(ctx, up, req, nil); err == nil {
				cost += res.CostMicros
				baseline += res.BaselineMicros
				first := fmt.Sprintf("cascade: the %s answer (%s/%s) %s; escalated to %s", res.Tier, res.Provider, res.Model, why, next)
				res = res2
				res.Reasons = append([]string{first}, res2.Reasons...)
				out.Answer, out.Citations = checkCitations(res.Text, sources)
				out.Groundedness = quality.Groundedness(out.Answer, texts)
			}
		}
	}
	out.Provider, out.Model, out.Reasons = res.Provider, res.Model, res.Reasons
	out.Tier, out.Arm = res.Tier, res.Arm
	if res.Cache != "" {
		out.Cached = res.Cache
	}
	if useCache && singleTurn && res.Cache == "" {
		stored := out
		stored.Cost = NewCost(res.CostMicros, res.BaselineMicros)
		if raw, err := json.Marshal(cachedAnswer{Answer: stored, Tier: res.Tier, Usage: res.Usage}); err == nil {
			s.opts.Cache.Set(ctx, cache.Answers, akey, raw)
			if qvec != nil {
				s.semantic.add(semScope, qvec, raw, s.opts.Now())
			}
		}
	}
	cost += res.CostMicros
	baseline += res.BaselineMicros
	out.Cost = NewCost(cost, baseline)
	out.LatencyMs = s.opts.Now().Sub(start).Milliseconds()
	return out, nil
}

// readable returns the filter of documents the user may read — their own
// and those shared with them that are ready, or the asked ones, each of
// which must be readable — and the documents' titles. Every index applies
// this filter before ranking.
func (s *Service) readable(ctx context.Context, userID, collection string, asked []string) (vector.Filter, map[string]string, error) {
	docs, err := s.store.ReadableDocuments(ctx, userID)
	if err != nil {
		return vector.Filter{}, nil, err
	}
	titles := map[string]string{}
	inCollection := false
	for _, d := range docs {
		c := d.Collection
		if c == "" {
			c = "default"
		}
		if collection != "" && c != collection {
			continue
		}
		inCollection = true
		if d.Status == storage.DocumentReady {
			titles[d.ID] = d.Title
		}
	}
	if collection != "" && !inCollection {
		return vector.Filter{}, nil, apperr.New(http.StatusNotFound, "not_found", "collection %q not found", collection)
	}
	if len(asked) == 0 {
		ids := make([]string, 0, len(titles))
		for id := range titles {
			ids = append(ids, id)
		}
		return vector.ForDocuments(ids...), titles, nil
	}
	for _, id := range asked {
		if _, ok := titles[id]; !ok {
			return vector.Filter{}, nil, apperr.New(http.StatusNotFound, "not_found", "document %q not found", id)
		}
	}
	return vector.ForDocuments(asked...), titles, nil
}

func (s *Service) passages(ctx context.Context, hits []vector.Hit, titles map[string]string) ([]providers.Passage, []Source, error) {
	ids := make([]string, len(hits))
	score := map[string]float64{}
	for i, h := range hits {
		ids[i] = h.ID
		score[h.ID] = h.Score
	}
	chunks, err := s.store.ChunksByID(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	passages := make([]providers.Passage, 0, len(chunks))
	sources := make([]Source, 0, len(chunks))
	for _, c := range chunks {
		title, ok := titles[c.DocumentID]
		if !ok {
			continue // deleted or not readable since the index was searched
		}
		n := len(passages) + 1
		passages = append(passages, providers.Passage{N: n, Title: title, Text: c.Text})
		sources = append(sources, Source{Citation: storage.Citation{N: n, DocumentID: c.DocumentID, Title: title, ChunkID: c.ID,
			Start: c.Start, End: c.End, Page: c.Page, Score: score[c.ID]}, Text: c.Text})
	}
	return passages, sources, nil
}

const systemPrompt = `You answer questions using only the numbered passages below from the user's documents.
Cite every statement with the number of the passage it comes from, in square brackets, like [1] or [2][3].
If the passages do not contain the answer, say that the documents do not say.

`

// prompt renders the passages for generative models.
func prompt(history []providers.Message, question string, passages []providers.Passage) []providers.Message {
	var b strings.Builder
	b.WriteString(systemPrompt)
	for _, p := range passages {
		fmt.Fprintf(&b, "[%d] (%s)\n%s\n\n", p.N, p.Title, p.Text)
	}
	msgs := []providers.Message{{Role: "system", Content: b.String()}}
	msgs = append(msgs, history...)
	return append(msgs, providers.Message{Role: "user", Content: question})
}

var citationRE = regexp.MustCompile(`\[(\d{1,3})\]`)

// checkCitations keeps every [n] that names a passage given to the model,
// removes the others from the text, and returns the cited passages in
// order of first mention.
func checkCitations(text string, sources []Source) (string, []storage.Citation) {
	cited := []storage.Citation{}
	seen := map[int]bool{}
	clean := citationRE.ReplaceAllStringFunc(text, func(m string) string {
		n, _ := strconv.Atoi(m[1 : len(m)-1])
		if n < 1 || n > len(sources) {
			return ""
		}
		if !seen[n] {
			seen[n] = true
			cited = append(cited, sources[n-1].Citation)
		}
		return m
	})
	return strings.TrimSpace(clean), cited
}

// modelError turns routing failures into clear API errors.
func modelError(err error) error {
	switch {
	case errors.Is(err, router.ErrUnknownProvider):
		return apperr.New(http.StatusBadRequest, "unknown_provider", "%s", err.Error())
	case errors.Is(err, router.ErrBudget):
		return apperr.New(http.StatusPaymentRequired, "budget_exceeded", "the budget is spent and no free model can answer; it resets next month").Wrap(err)
	case errors.Is(err, router.ErrNoCandidate):
		return apperr.New(http.StatusServiceUnavailable, "no_model", "%s", err.Error())
	}
	if _, ok := apperr.As(err); ok || errors.Is(err, router.ErrLedger) { // the store failed, not a provider
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return apperr.New(http.StatusBadGateway, "provider_error", "every model that could answer failed; try again").Wrap(err)
}

// ModelError is modelError for other capabilities that call the router.
func ModelError(err error) error { return modelError(err) }

var _ Searcher = (*retrieval.Indexes)(nil)

// cachedAnswer is an answer as the caches keep it, with what its model
// call consumed (for the ledger entry of a later hit).
type cachedAnswer struct {
	Answer Answer
	Tier   string
	Usage  providers.Usage
}

func (s *Service) cacheGet(class cache.Class, key string, use bool) ([]byte, bool) {
	if !use {
		return nil, false
	}
	return s.opts.Cache.Get(context.Background(), class, key)
}

// replay serves a cached answer and books the hit: no cost, the cost it
// avoided, the baseline it stood in for.
func (s *Service) replay(ctx context.Context, call router.Call, raw []byte, how string, onDelta func(string) error) (Answer, bool) {
	var c cachedAnswer
	if json.Unmarshal(raw, &c) != nil {
		return Answer{}, false
	}
	a := c.Answer
	avoided := a.Cost.Micros
	a.Cached = how
	a.Reasons = []string{"answered from the " + how + " answer cache (" + a.Provider + "/" + a.Model + ")"}
	hit := router.Result{Provider: a.Provider, Model: a.Model, Tier: c.Tier, Usage: c.Usage, BaselineMicros: a.Cost.BaselineMicros, Reasons: a.Reasons}
	class := "rag"
	if how == "semantic" {
		class = "semantic"
	}
	if err := s.router.BookHit(ctx, call, class, hit, avoided); err != nil {
		s.opts.Logger.Error("book cache hit", slog.Any("error", err))
		return Answer{}, false
	}
	a.Cost = NewCost(0, a.Cost.BaselineMicros)
	if onDelta != nil {
		if err := onDelta(a.Answer); err != nil {
			return Answer{}, false
		}
	}
	return a, true
}

// filterKey identifies a set of readable documents.
func filterKey(f vector.Filter) string {
	ids := make([]string, 0, len(f.Documents))
	for id := range f.Documents {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return cache.Key(ids...)
}

// semantic keeps recent single-turn answers per user and readable set,
// with their question vectors, to reuse for a close enough question.
type semantic struct {
	threshold float64
	ttl       time.Duration
	mu        sync.Mutex
	entries   map[string][]semEntry
}

type semEntry struct {
	vec []float32
	raw []byte
	at  time.Time
}

// semanticPerScope bounds the answers kept per user and readable set.
const semanticPerScope = 256

func newSemantic(threshold float64, ttl time.Duration) *semantic {
	return &semantic{threshold: threshold, ttl: ttl, entries: map[string][]semEntry{}}
}

func (c *semantic) find(scope string, vec []float32, now time.Time) ([]byte, bool) {
	if c.threshold <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	best, bestScore := -1, c.threshold
	for i, e := range c.entries[scope] {
		if now.Sub(e.at) > c.ttl || len(e.vec) != len(vec) {
			continue
		}
		if score := vector.Dot(e.vec, vec); score >= bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return nil, false
	}
	return c.entries[scope][best].raw, true
}

func (c *semantic) add(scope string, vec []float32, raw []byte, now time.Time) {
	if c.threshold <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	list := append(c.entries[scope], semEntry{vec: vector.Normalize(append([]float32(nil), vec...)), raw: raw, at: now})
	if len(list) > semanticPerScope {
		list = list[len(list)-semanticPerScope:]
	}
	c.entries[scope] = list
}

// nextTier is the tier a cascade escalates to ("" after large).
func nextTier(t string) string {
	switch t {
	case "small":
		return "medium"
	case "medium":
		return "large"
	}
	return ""
}
