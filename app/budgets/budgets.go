// Package budgets keeps paid spend inside monthly budgets: global, per
// user, and per API key. Before a paid model is called the router reserves
// the call's estimated cost on every budget that applies; after it, the
// reservation is settled with the real cost. A call is admitted while
// spent + reserved is under the limit, so concurrent calls overshoot a
// budget by at most one reservation. Free models never count. Crossing an
// alert threshold (80 % and 100 % by default) is announced once per month:
// in the log, in GET /api/costs/budgets (a banner for the UI), and by an
// optional webhook — a JSON POST signed with HMAC-SHA256, retried.
package budgets

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/providers/catalog"
	"github.com/penny-dev/penny/providers/router"
	"github.com/penny-dev/penny/storage"
)

// Store is what budgets needs: the ledger (spend so far) and settings.
type Store interface {
	EachLedger(ctx context.Context, f storage.LedgerFilter, fn func(storage.LedgerEntry) error) error
	GetSetting(ctx context.Context, key string) ([]byte, error)
	PutSetting(ctx context.Context, key string, value []byte) error
}

// Limits are the budgets and how alerts go out. Money in micro-dollars.
type Limits struct {
	GlobalMonthlyMicros int64  `json:"globalMonthlyMicros"`
	UserMonthlyMicros   int64  `json:"userMonthlyMicros"`
	Thresholds          []int  `json:"thresholds"`
	WebhookURL          string `json:"webhookUrl,omitempty"`
	WebhookSecret       string `json:"webhookSecret,omitempty"`
}

// Alert is one threshold crossed in one month.
type Alert struct {
	Scope       string    `json:"scope"` // "global", "user:<id>" or "key:<id>"
	Month       string    `json:"month"`
	Threshold   int       `json:"threshold"`
	SpentMicros int64     `json:"spentMicros"`
	LimitMicros int64     `json:"limitMicros"`
	At          time.Time `json:"at"`
}

const (
	limitsKey = "budgets.limits"
	alertsKey = "budgets.alerts"
)

// Service is the budgets capability. Safe for concurrent use.
type Service struct {
	store  Store
	log    *slog.Logger
	now    func() time.Time
	client *http.Client

	tally  Tally
	seeded sync.Map // month + scope → seeded (load)

	mu     sync.Mutex
	limits Limits
	// alertsMu orders this process's read-modify-writes of the stored
	// alert list.
	alertsMu sync.Mutex

	// Changed, if set, is told after an admin stores new limits
	// (scale-out: the other replicas reload).
	Changed func(ctx context.Context)

	hooks chan []byte
	stop  chan struct{}
	done  chan struct{}
}

// Options configure New.
type Options struct {
	// Defaults apply until an admin stores limits.
	Defaults Limits
	Logger   *slog.Logger
	Now      func() time.Time
	// Client sends webhooks. Default: 10 s timeout.
	Client *http.Client
	// RetryBase is the first webhook retry delay (doubling). Default 1s.
	RetryBase time.Duration
	// Tally counts spend and reservations. Default: in memory (one
	// process); replicas share one in Redis.
	Tally Tally
}

// New loads stored limits and alerts and starts the webhook sender.
func New(ctx context.Context, store Store, o Options) (*Service, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.RetryBase == 0 {
		o.RetryBase = time.Second
	}
	if o.Tally == nil {
		o.Tally = NewMemTally()
	}
	s := &Service{store: store, log: o.Logger, now: o.Now, client: o.Client, limits: o.Defaults, tally: o.Tally,
		hooks: make(chan []byte, 64), stop: make(chan struct{}), done: make(chan struct{})}
	if len(s.limits.Thresholds) == 0 {
		s.limits.Thresholds = []int{80, 100}
	}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	fired, err := s.storedAlerts(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range fired { // fired before this start: not again
		if _, err := s.tally.FirstAlert(ctx, a.Month, a.Scope, a.Threshold); err != nil {
			return nil, err
		}
	}
	go s.sendHooks(o.RetryBase)
	return s, nil
}

// Close stops the webhook sender (alerts still queued are dropped; they
// stay listed in the API).
func (s *Service) Close() {
	close(s.stop)
	<-s.done
}

func monthOf(t time.Time) (string, time.Time) {
	t = t.UTC()
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return start.Format("2006-01"), start
}

// applying lists the budgets of a call: scope name and limit.
func (s *Service) applying(call router.Call) map[string]int64 {
	out := map[string]int64{}
	if s.limits.GlobalMonthlyMicros > 0 {
		out["global"] = s.limits.GlobalMonthlyMicros
	}
	if s.limits.UserMonthlyMicros > 0 && call.UserID != "" {
		out["user:"+call.UserID] = s.limits.UserMonthlyMicros
	}
	if call.APIKeyID != "" && call.KeyBudgetMicros > 0 {
		out["key:"+call.APIKeyID] = call.KeyBudgetMicros
	}
	return out
}

// load seeds a scope's spend this month from the ledger, once a month.
// What this process has seen seeded is remembered, so a paid call does not
// ask the tally (a Redis round trip in scale-out) every time.
func (s *Service) load(ctx context.Context, month string, start time.Time, name string) error {
	memo := month + "\x00" + name
	if _, ok := s.seeded.Load(memo); ok {
		return nil
	}
	if known, err := s.tally.Known(ctx, month, name); err != nil {
		return err
	} else if known {
		s.seeded.Store(memo, struct{}{})
		return nil
	}
	kind, id, _ := strings.Cut(name, ":")
	var total int64
	err := s.store.EachLedger(ctx, storage.LedgerFilter{From: start, To: start.AddDate(0, 1, 0)}, func(e storage.LedgerEntry) error {
		if kind == "global" || (kind == "user" && e.UserID == id) || (kind == "key" && e.APIKeyID == id) {
			total += e.CostMicros
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.tally.Seed(ctx, month, name, total); err != nil {
		return err
	}
	s.seeded.Store(memo, struct{}{})
	return nil
}

// Reserve implements router.Budget. Free models never count.
func (s *Service) Reserve(ctx context.Context, call router.Call, m catalog.Model, est int64) (func(int64), error) {
	if m.Free {
		return func(int64) {}, nil
	}
	s.mu.Lock()
	apply := s.applying(call)
	s.mu.Unlock()
	if len(apply) == 0 {
		return func(int64) {}, nil
	}
	month, start := monthOf(s.now())
	for name := range apply {
		if err := s.load(ctx, month, start, name); err != nil {
			return nil, err
		}
	}
	blocked, err := s.tally.Reserve(ctx, month, apply, est)
	if err != nil {
		return nil, err
	}
	if blocked != "" {
		return nil, fmt.Errorf("the %s monthly budget ($%.2f) is spent", describe(blocked), float64(apply[blocked])/1e6)
	}
	var once sync.Once
	return func(actual int64) {
		once.Do(func() { s.settle(apply, month, est, actual) })
	}, nil
}

func (s *Service) settle(apply map[string]int64, month string, est, actual int64) {
	ctx := context.Background()
	spent, err := s.tally.Settle(ctx, month, sortedKeys(apply), est, actual)
	if err != nil {
		s.log.Error("settle budget reservation", slog.Any("error", err))
		return
	}
	s.mu.Lock()
	thresholds := s.limits.Thresholds
	s.mu.Unlock()
	var fired []Alert
	for _, name := range sortedKeys(apply) {
		before, after := spent[name][0], spent[name][1]
		for _, th := range thresholds {
			line := (apply[name]*int64(th) + 99) / 100 // rounded up: tiny budgets still alert
			if before >= line || after < line {
				continue
			}
			if first, err := s.tally.FirstAlert(ctx, month, name, th); err != nil || !first {
				continue
			}
			fired = append(fired, Alert{Scope: name, Month: month, Threshold: th, SpentMicros: after, LimitMicros: apply[name], At: s.now().UTC()})
		}
	}
	if len(fired) == 0 {
		return
	}
	s.recordAlerts(ctx, fired)
	s.mu.Lock()
	url, secret := s.limits.WebhookURL, s.limits.WebhookSecret
	s.mu.Unlock()
	for _, a := range fired {
		s.log.Warn("budget threshold crossed", slog.String("scope", a.Scope), slog.Int("threshold", a.Threshold),
			slog.Int64("spentMicros", a.SpentMicros), slog.Int64("limitMicros", a.LimitMicros))
		if url != "" {
			body, _ := json.Marshal(map[string]any{"type": "budget.alert", "alert": a,
				"spentUsd": float64(a.SpentMicros) / 1e6, "limitUsd": float64(a.LimitMicros) / 1e6})
			select {
			case s.hooks <- sign(url, secret, body):
			default:
				s.log.Error("budget webhook queue full; alert not sent", slog.String("scope", a.Scope))
			}
		}
	}
}

// recordAlerts adds fired alerts to the stored list.
func (s *Service) recordAlerts(ctx context.Context, fired []Alert) {
	s.alertsMu.Lock()
	defer s.alertsMu.Unlock()
	alerts, err := s.storedAlerts(ctx)
	if err == nil {
		var raw []byte
		if raw, err = json.Marshal(append(alerts, fired...)); err == nil {
			err = s.store.PutSetting(ctx, alertsKey, raw)
		}
	}
	if err != nil {
		s.log.Error("store budget alerts", slog.Any("error", err))
	}
}

func describe(scope string) string {
	kind, _, _ := strings.Cut(scope, ":")
	switch kind {
	case "user":
		return "user's"
	case "key":
		return "API key's"
	}
	return "global"
}

func sortedKeys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// SignatureHeader carries the webhook's HMAC-SHA256 of the body, as
// "sha256=<hex>", keyed with the webhook secret.
const SignatureHeader = "X-Penny-Signature"

// sign frames a webhook delivery: url, signature and body.
func sign(url, secret string, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	d, _ := json.Marshal(map[string]string{"url": url, "sig": "sha256=" + hex.EncodeToString(mac.Sum(nil)), "body": string(body)})
	return d
}

// sendHooks delivers webhooks, retrying failures up to 4 attempts with
// doubling delays, until Close.
func (s *Service) sendHooks(base time.Duration) {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		case raw := <-s.hooks:
			var d struct{ URL, Sig, Body string }
			_ = json.Unmarshal(raw, &d)
			delay := base
			for attempt := 1; attempt <= 4; attempt++ {
				err := s.post(d.URL, d.Sig, []byte(d.Body))
				if err == nil {
					break
				}
				s.log.Warn("budget webhook failed", slog.Int("attempt", attempt), slog.Any("error", err))
				select {
				case <-s.stop:
					return
				case <-time.After(delay):
				}
				delay *= 2
			}
		}
	}
}

func (s *Service) post(url, sig string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, sig)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// Use is one budget's state this month.
type Use struct {
	Scope       string  `json:"scope"`
	LimitMicros int64   `json:"limitMicros"`
	SpentMicros int64   `json:"spentMicros"`
	Percent     float64 `json:"percent"`
	State       string  `json:"state"` // ok, warning (past the first threshold), exceeded
}

// Status is the answer of GET /api/costs/budgets: the budgets that concern
// the caller and this month's alerts (the UI's banner).
type Status struct {
	Month  string  `json:"month"`
	Uses   []Use   `json:"budgets"`
	Alerts []Alert `json:"alerts"`
	Banner string  `json:"banner,omitempty"`
}

// Status reports the global budget and the caller's own (admins: every
// user's that has spent this month is in the ledger; here their own).
func (s *Service) Status(ctx context.Context, userID string, isAdmin bool) (Status, error) {
	month, start := monthOf(s.now())
	s.mu.Lock()
	apply := s.applying(router.Call{UserID: userID})
	th := append([]int(nil), s.limits.Thresholds...)
	s.mu.Unlock()
	spent := map[string]int64{}
	for name := range apply {
		if err := s.load(ctx, month, start, name); err != nil {
			return Status{}, err
		}
		v, err := s.tally.Spent(ctx, month, name)
		if err != nil {
			return Status{}, err
		}
		spent[name] = v
	}
	alerts, err := s.storedAlerts(ctx)
	if err != nil {
		return Status{}, err
	}
	out := Status{Month: month, Uses: []Use{}, Alerts: []Alert{}}
	first := 100
	if len(th) > 0 {
		first = th[0]
	}
	for _, name := range sortedKeys(apply) {
		u := Use{Scope: name, LimitMicros: apply[name], SpentMicros: spent[name], Percent: 100 * float64(spent[name]) / float64(apply[name]), State: "ok"}
		switch {
		case spent[name] >= apply[name]:
			u.State = "exceeded"
			out.Banner = fmt.Sprintf("The %s monthly budget is spent: paid models are paused until next month; free models still answer.", describe(name))
		case u.Percent >= float64(first):
			u.State = "warning"
			if out.Banner == "" {
				out.Banner = fmt.Sprintf("%.0f%% of the %s monthly budget is spent.", u.Percent, describe(name))
			}
		}
		out.Uses = append(out.Uses, u)
	}
	for _, a := range alerts {
		if a.Month == month && (isAdmin || a.Scope == "global" || a.Scope == "user:"+userID) {
			out.Alerts = append(out.Alerts, a)
		}
	}
	return out, nil
}

// Settings is what admins read and write; the secret is never returned.
type Settings struct {
	GlobalMonthlyUSD float64 `json:"globalMonthlyUsd"`
	UserMonthlyUSD   float64 `json:"userMonthlyUsd"`
	Thresholds       []int   `json:"thresholds"`
	WebhookURL       string  `json:"webhookUrl"`
	WebhookSecret    string  `json:"webhookSecret,omitempty"`
	WebhookSecretSet bool    `json:"webhookSecretSet"`
}

// Settings returns the limits in force.
func (s *Service) Settings() Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Settings{GlobalMonthlyUSD: float64(s.limits.GlobalMonthlyMicros) / 1e6, UserMonthlyUSD: float64(s.limits.UserMonthlyMicros) / 1e6,
		Thresholds: s.limits.Thresholds, WebhookURL: s.limits.WebhookURL, WebhookSecretSet: s.limits.WebhookSecret != ""}
}

// Update validates, stores and applies new limits. An empty secret keeps
// the stored one.
func (s *Service) Update(ctx context.Context, in Settings) (Settings, error) {
	if in.GlobalMonthlyUSD < 0 || in.UserMonthlyUSD < 0 {
		return Settings{}, apperr.Invalid("budgets must be zero (no budget) or positive")
	}
	if len(in.Thresholds) == 0 {
		in.Thresholds = []int{80, 100}
	}
	sort.Ints(in.Thresholds)
	for _, th := range in.Thresholds {
		if th < 1 || th > 1000 {
			return Settings{}, apperr.Invalid("thresholds are percentages from 1 to 1000")
		}
	}
	if in.WebhookURL != "" && !strings.HasPrefix(in.WebhookURL, "http://") && !strings.HasPrefix(in.WebhookURL, "https://") {
		return Settings{}, apperr.Invalid("webhookUrl must be an http(s) URL")
	}
	s.mu.Lock()
	l := Limits{GlobalMonthlyMicros: int64(in.GlobalMonthlyUSD*1e6 + 0.5), UserMonthlyMicros: int64(in.UserMonthlyUSD*1e6 + 0.5),
		Thresholds: in.Thresholds, WebhookURL: in.WebhookURL, WebhookSecret: in.WebhookSecret}
	if l.WebhookSecret == "" {
		l.WebhookSecret = s.limits.WebhookSecret
	}
	s.mu.Unlock()
	raw, err := json.Marshal(l)
	if err != nil {
		return Settings{}, err
	}
	if err := s.store.PutSetting(ctx, limitsKey, raw); err != nil {
		return Settings{}, err
	}
	s.mu.Lock()
	s.limits = l
	s.mu.Unlock()
	if s.Changed != nil {
		s.Changed(ctx)
	}
	return s.Settings(), nil
}

// LimitsKey is the store key of the limits (and the notice another replica
// sends when it changes them).
const LimitsKey = limitsKey

// Reload reads the stored limits (at start, and when another replica
// changed them); without stored limits the defaults stay.
func (s *Service) Reload(ctx context.Context) error {
	raw, err := s.store.GetSetting(ctx, limitsKey)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var l Limits
	if err := json.Unmarshal(raw, &l); err != nil {
		return fmt.Errorf("budgets: stored limits unreadable: %w", err)
	}
	s.mu.Lock()
	s.limits = l
	s.mu.Unlock()
	return nil
}

var _ router.Budget = (*Service)(nil)

// Global returns this month's global spend and budget (limit 0: none).
func (s *Service) Global(ctx context.Context) (int64, int64) {
	s.mu.Lock()
	limit := s.limits.GlobalMonthlyMicros
	s.mu.Unlock()
	month, start := monthOf(s.now())
	if limit == 0 || s.load(ctx, month, start, "global") != nil {
		return 0, limit
	}
	spent, err := s.tally.Spent(ctx, month, "global")
	if err != nil {
		return 0, limit
	}
	return spent, limit
}

// storedAlerts reads the alerts as stored (replicas add to one list).
func (s *Service) storedAlerts(ctx context.Context) ([]Alert, error) {
	raw, err := s.store.GetSetting(ctx, alertsKey)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Alert
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("budgets: stored alerts unreadable: %w", err)
	}
	return out, nil
}
