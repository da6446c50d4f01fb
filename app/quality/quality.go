// Package quality measures how well answers serve: users' thumbs up and
// down, a groundedness score for every document answer (computed locally,
// no model call), and a report per provider, model and A/B arm with the
// sample counts, so that small samples look small.
package quality

import (
	"context"
	"errors"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/providers/local"
	"github.com/penny-dev/penny/storage"
)

var (
	citationRE       = regexp.MustCompile(`\[(\d{1,3})\]`)
	leadingCitations = regexp.MustCompile(`^(\s*\[\d{1,3}\])+`)
)

// Groundedness is the share of an answer's sentences that are supported by
// the passages they cite: a sentence counts when it cites a passage and at
// least half of its content words appear in the passages it cites.
// passages maps citation numbers to passage text. An answer with no
// sentence scores 0.
func Groundedness(answer string, passages map[int]string) float64 {
	// A citation after the full stop ("… rivers. [1] Next …") belongs to
	// the sentence before it.
	var sentences []string
	for _, s := range local.Sentences(answer) {
		if lead := leadingCitations.FindString(s); lead != "" && len(sentences) > 0 {
			sentences[len(sentences)-1] += " " + lead
			s = strings.TrimSpace(s[len(lead):])
		}
		if s != "" {
			sentences = append(sentences, s)
		}
	}
	total, supported := 0, 0
	for _, s := range sentences {
		words := local.Terms(citationRE.ReplaceAllString(s, ""))
		if len(words) == 0 {
			continue
		}
		total++
		cited := map[string]bool{}
		for _, m := range citationRE.FindAllStringSubmatch(s, -1) {
			n, _ := strconv.Atoi(m[1])
			for _, t := range local.Terms(passages[n]) {
				cited[t] = true
			}
		}
		if len(cited) == 0 {
			continue
		}
		hits := 0
		for _, w := range words {
			if cited[w] {
				hits++
			}
		}
		if float64(hits) >= 0.5*float64(len(words)) {
			supported++
		}
	}
	if total == 0 {
		return 0
	}
	return float64(supported) / float64(total)
}

var refusalRE = regexp.MustCompile(`(?i)\b(i (can(no|')t|am (not able|unable)|won't) (help|answer|assist|provide)|as an ai\b|i'm sorry, but i can)`)

// Refusal reports whether an answer declines to answer.
func Refusal(answer string) bool { return refusalRE.MatchString(answer) }

// Store is what quality reads and writes.
type Store interface {
	SetFeedback(ctx context.Context, userID, messageID string, f storage.Feedback) (storage.Message, error)
	EachMessage(ctx context.Context, from, to time.Time, fn func(storage.Message) error) error
	EachLedger(ctx context.Context, f storage.LedgerFilter, fn func(storage.LedgerEntry) error) error
}

// Service is the quality capability.
type Service struct {
	store Store
	now   func() time.Time
}

// New returns the service.
func New(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now}
}

// Feedback rates one of the user's answers.
func (s *Service) Feedback(ctx context.Context, userID, messageID, rating, comment string) (storage.Message, error) {
	if rating != "up" && rating != "down" {
		return storage.Message{}, apperr.Invalid("rating must be up or down")
	}
	if utf8.RuneCountInString(comment) > 2000 {
		return storage.Message{}, apperr.Invalid("comment must have at most 2000 characters")
	}
	m, err := s.store.SetFeedback(ctx, userID, messageID, storage.Feedback{Rating: rating, Comment: strings.TrimSpace(comment), At: s.now().UTC()})
	if errors.Is(err, storage.ErrNotFound) {
		return m, apperr.NotFound("message")
	}
	if err == nil && m.Role != "assistant" {
		return m, apperr.New(http.StatusBadRequest, "invalid_request", "only answers can be rated")
	}
	return m, err
}

// Row is one provider/model/arm of the report. Rates are nil when there
// is no sample; the counts say how many samples each rate rests on.
type Row struct {
	Provider            string   `json:"provider"`
	Model               string   `json:"model"`
	Arm                 string   `json:"arm"`
	Calls               int      `json:"calls"`
	Errors              int      `json:"errors"`
	ErrorRate           *float64 `json:"errorRate"`
	Answers             int      `json:"answers"`
	Rated               int      `json:"rated"`
	Up                  int      `json:"up"`
	Down                int      `json:"down"`
	Satisfaction        *float64 `json:"satisfaction"`
	Grounded            int      `json:"groundednessSamples"`
	Groundedness        *float64 `json:"groundedness"`
	P50Ms               *float64 `json:"latencyP50Ms"`
	P95Ms               *float64 `json:"latencyP95Ms"`
	CostPerAnswerMicros *int64   `json:"costPerAnswerMicros"`
	latencies           []int64
	cost                int64
	groundSum           float64
}

// Report is the answer of GET /api/quality/report.
type Report struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Rows []Row     `json:"rows"`
	Arms []Row     `json:"arms"`
}

// Report aggregates generation calls from the ledger and ratings and
// groundedness from the answers in [from, to).
func (s *Service) Report(ctx context.Context, from, to time.Time) (Report, error) {
	if !to.After(from) {
		return Report{}, apperr.Invalid("to must be after from")
	}
	rows, arms := map[string]*Row{}, map[string]*Row{}
	get := func(m map[string]*Row, provider, model, arm string) *Row {
		k := provider + "\x00" + model + "\x00" + arm
		if m[k] == nil {
			m[k] = &Row{Provider: provider, Model: model, Arm: arm}
		}
		return m[k]
	}
	err := s.store.EachLedger(ctx, storage.LedgerFilter{From: from, To: to}, func(e storage.LedgerEntry) error {
		if e.Kind != "chat" || e.CacheHit {
			return nil
		}
		for _, r := range []*Row{get(rows, e.Provider, e.Model, e.Arm), get(arms, "", "", e.Arm)} {
			r.Calls++
			r.cost += e.CostMicros
			if e.Outcome != storage.OutcomeOK {
				r.Errors++
				continue
			}
			r.Answers++
			r.latencies = append(r.latencies, e.LatencyMs)
			if e.Groundedness != nil {
				r.Grounded++
				r.groundSum += *e.Groundedness
			}
		}
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	err = s.store.EachMessage(ctx, from, to, func(m storage.Message) error {
		if m.Role != "assistant" || m.Provider == "" {
			return nil
		}
		for _, r := range []*Row{get(rows, m.Provider, m.Model, m.Arm), get(arms, "", "", m.Arm)} {
			if m.Feedback != nil {
				r.Rated++
				if m.Feedback.Rating == "up" {
					r.Up++
				} else {
					r.Down++
				}
			}
		}
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	return Report{From: from, To: to, Rows: finish(rows), Arms: finish(arms)}, nil
}

func ratio(a, b int) *float64 {
	if b == 0 {
		return nil
	}
	r := float64(a) / float64(b)
	return &r
}

func percentile(sorted []int64, p int) *float64 {
	if len(sorted) == 0 {
		return nil
	}
	v := float64(sorted[(len(sorted)-1)*p/100])
	return &v
}

func finish(m map[string]*Row) []Row {
	out := make([]Row, 0, len(m))
	for _, r := range m {
		r.ErrorRate = ratio(r.Errors, r.Calls)
		r.Satisfaction = ratio(r.Up, r.Rated)
		if r.Grounded > 0 {
			g := math.Round(1000*r.groundSum/float64(r.Grounded)) / 1000
			r.Groundedness = &g
		}
		sort.Slice(r.latencies, func(i, j int) bool { return r.latencies[i] < r.latencies[j] })
		r.P50Ms, r.P95Ms = percentile(r.latencies, 50), percentile(r.latencies, 95)
		if r.Answers > 0 {
			c := r.cost / int64(r.Answers)
			r.CostPerAnswerMicros = &c
		}
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Calls != out[j].Calls {
			return out[i].Calls > out[j].Calls
		}
		return out[i].Provider+out[i].Model+out[i].Arm < out[j].Provider+out[j].Model+out[j].Arm
	})
	return out
}
