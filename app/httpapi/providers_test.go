package httpapi_test

import (
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/apptest"
	"github.com/penny-dev/penny/providers/providertest"
	"github.com/penny-dev/penny/storage"
)

type fakes struct {
	cf *providertest.Cloudflare
	oa *providertest.OpenAI
	an *providertest.Anthropic
}

func withProviders(t *testing.T) (*apptest.TestApp, fakes) {
	return withProvidersEnv(t, nil)
}

// withProvidersEnv is withProviders with more settings.
func withProvidersEnv(t *testing.T, extra map[string]string) (*apptest.TestApp, fakes) {
	f := fakes{cf: providertest.NewCloudflare("acct", "cf-token"), oa: providertest.NewOpenAI("sk-test"), an: providertest.NewAnthropic("sk-ant")}
	t.Cleanup(func() { f.cf.Close(); f.oa.Close(); f.an.Close() })
	env := map[string]string{
		"CLOUDFLARE_ACCOUNT_ID": "acct", "CLOUDFLARE_API_TOKEN": "cf-token", "PENNY_CLOUDFLARE_BASE_URL": f.cf.BaseURL(),
		"OPENAI_API_KEY": "sk-test", "PENNY_OPENAI_BASE_URL": f.oa.BaseURL(),
		"ANTHROPIC_API_KEY": "sk-ant", "PENNY_ANTHROPIC_BASE_URL": f.an.URL + "/",
		// These tests repeat prompts on purpose to see routing; caching
		// has its own tests.
		"PENNY_CACHE_SIZE": "0",
	}
	maps.Copy(env, extra)
	return apptest.New(t, env), f
}

// TestRoutingThroughRealProviders drives the running server against
// wire-faithful fakes of Cloudflare, OpenAI and Anthropic: cheapest first,
// failover, keyword fallback, the rollback switch, health, and the ledger.
func TestRoutingThroughRealProviders(t *testing.T) {
	ta, f := withProviders(t)
	require.Equal(t, "@cf/baai/bge-m3", ta.EmbedModel.ID, "the cheapest configured embedding model binds the index")
	admin := ta.Register("admin@example.com")
	upload(t, ta, admin.Token, apptest.File{Name: "herons.md", Content: herons})
	require.Positive(t, f.cf.Requests(), "chunks were embedded by Cloudflare")

	ask := func(q string) ragAnswer {
		t.Helper()
		r := ta.Do(http.MethodPost, "/api/rag/query", admin.Token, map[string]any{"question": q})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var a ragAnswer
		r.Decode(t, &a)
		return a
	}

	// Cheapest first: a simple question goes to Cloudflare's small model.
	a := ask("Where do grey herons nest?")
	require.Equal(t, "cloudflare", a.Provider)
	require.Equal(t, "@cf/meta/llama-3.2-3b-instruct", a.Model)
	require.Equal(t, "hybrid", a.Retrieval)
	require.Regexp(t, `\[1\]`, a.Answer)
	require.Len(t, a.Citations, 1)
	require.Zero(t, a.Cost.Micros, "inside Cloudflare's free daily neurons")
	require.Positive(t, a.Cost.BaselineMicros)

	// Cloudflare goes down: embeddings fail (keyword retrieval, said so),
	// generation fails over to the next candidate, OpenAI.
	f.cf.SetScript(providertest.Always(providertest.Fault{Status: 503}))
	a = ask("Where do grey herons nest?")
	require.Equal(t, "openai", a.Provider)
	require.Equal(t, "gpt-4o-mini", a.Model)
	require.Equal(t, "keyword", a.Retrieval)
	require.Positive(t, a.Cost.Micros, "OpenAI is paid")
	require.Contains(t, strings.Join(a.Reasons, "|"), "cloudflare/@cf/meta/llama-3.2-3b-instruct failed (unavailable)")

	// Health shows it.
	r := ta.Do(http.MethodGet, "/api/health/providers", admin.Token, nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.Contains(t, string(r.Body), `"provider":"cloudflare"`)
	require.Contains(t, string(r.Body), "503")

	// Rollback switch: everything to Anthropic, without a restart.
	r = ta.Do(http.MethodPut, "/api/admin/routing", admin.Token, map[string]any{"forceProvider": "anthropic", "cheapPercent": 100})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	a = ask("Where do grey herons nest?")
	require.Equal(t, "anthropic", a.Provider)
	require.Contains(t, strings.Join(a.Reasons, "|"), "rollback switch")
	r = ta.Do(http.MethodPut, "/api/admin/routing", admin.Token, map[string]any{"forceProvider": "mistral"})
	require.Equal(t, http.StatusBadRequest, r.Status)
	r = ta.Do(http.MethodGet, "/api/admin/routing", admin.Token, nil)
	require.Equal(t, "anthropic", r.JSON(t)["forceProvider"])

	// The ledger has every attempt, with its tier, arm and outcome.
	var sum struct {
		ByProvider []struct {
			Key           string
			Calls, Errors int
			CostMicros    int64
		}
	}
	ta.Do(http.MethodGet, "/api/costs/summary", admin.Token, nil).Decode(t, &sum)
	byProvider := map[string][2]int{}
	for _, l := range sum.ByProvider {
		byProvider[l.Key] = [2]int{l.Calls, l.Errors}
	}
	require.Equal(t, 1, byProvider["openai"][0])
	require.Equal(t, 1, byProvider["anthropic"][0])
	require.Positive(t, byProvider["cloudflare"][1], "failed attempts are booked too")
}

// TestShadowTrafficThroughTheServer: during a migration everyone stays on
// OpenAI (cheapPercent 0) while shadowPercent copies their document
// questions to Cloudflare in the background; the quality report then
// shows the shadow arm's groundedness, cost and latency beside the
// control arm's. A change that leaves a field out keeps its value.
func TestShadowTrafficThroughTheServer(t *testing.T) {
	ta, f := withProviders(t)
	admin := ta.Register("admin@example.com")
	upload(t, ta, admin.Token, apptest.File{Name: "herons.md", Content: herons})
	r := ta.Do(http.MethodPut, "/api/admin/routing", admin.Token, map[string]any{"cheapPercent": 0, "shadowPercent": 100})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	r = ta.Do(http.MethodPut, "/api/admin/routing", admin.Token, map[string]any{"forceProvider": ""})
	require.Equal(t, http.StatusOK, r.Status)
	require.EqualValues(t, 100, r.JSON(t)["shadowPercent"], "left out, kept")
	require.EqualValues(t, 0, r.JSON(t)["cheapPercent"])
	require.Equal(t, http.StatusBadRequest, ta.Do(http.MethodPut, "/api/admin/routing", admin.Token, map[string]any{"shadowPercent": 101}).Status)

	before := f.cf.Requests()
	r = ta.Do(http.MethodPost, "/api/rag/query", admin.Token, map[string]any{"question": "Where do grey herons nest?"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	require.Equal(t, "openai", r.JSON(t)["provider"], "the user is answered by the control arm")
	ta.Router.Close() // wait for the shadow call
	require.Greater(t, f.cf.Requests(), before+1, "the question was embedded and shadowed on Cloudflare")

	var report struct {
		Arms []struct {
			Arm          string
			Calls        int
			Groundedness *float64
		}
	}
	r = ta.Do(http.MethodGet, "/api/quality/report", admin.Token, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	r.Decode(t, &report)
	arms := map[string]bool{}
	for _, a := range report.Arms {
		arms[a.Arm] = true
		require.Equal(t, 1, a.Calls, a.Arm)
		require.NotNil(t, a.Groundedness, a.Arm)
	}
	require.True(t, arms["control"] && arms["shadow"], string(r.Body))
}

// TestStreamBreakAfterFirstTokenIsAnError: once text reached the client,
// a provider failure ends the stream with an error event — never a silent
// clean end, never a second answer appended.
func TestStreamBreakAfterFirstTokenIsAnError(t *testing.T) {
	ta, f := withProviders(t)
	admin := ta.Register("admin@example.com")
	r := ta.Do(http.MethodPut, "/api/admin/routing", admin.Token, map[string]any{"forceProvider": "openai", "cheapPercent": 100})
	require.Equal(t, http.StatusOK, r.Status)
	chatID := ta.Do(http.MethodPost, "/api/chats", admin.Token, nil).JSON(t)["id"].(string)

	// Whole answer streamed from OpenAI.
	r = ta.Do(http.MethodPost, "/api/chats/"+chatID+"/messages", admin.Token, map[string]any{"content": "Hello there"}, "Accept", "text/event-stream")
	events := parseSSE(t, r.Body)
	require.Equal(t, "done", events[len(events)-1].name)
	require.Contains(t, events[len(events)-1].data, "Hello from gpt-4o-mini")

	// Cut after two tokens.
	f.oa.SetScript(providertest.Always(providertest.Fault{Cut: true, CutAfterTokens: 2}))
	r = ta.Do(http.MethodPost, "/api/chats/"+chatID+"/messages", admin.Token, map[string]any{"content": "Hello again"}, "Accept", "text/event-stream")
	require.Equal(t, http.StatusOK, r.Status)
	events = parseSSE(t, r.Body)
	require.GreaterOrEqual(t, len(events), 3)
	require.Equal(t, "delta", events[0].name)
	last := events[len(events)-1]
	require.Equal(t, "error", last.name)
	require.Contains(t, last.data, "provider_error")

	// Cut before the first token with the switch on: nothing else may
	// answer (forced means OpenAI only), so the client gets a clean JSON
	// error before any event.
	f.oa.SetScript(providertest.Always(providertest.Fault{Cut: true}))
	r = ta.Do(http.MethodPost, "/api/chats/"+chatID+"/messages", admin.Token, map[string]any{"content": "And again"}, "Accept", "text/event-stream")
	require.Equal(t, http.StatusBadGateway, r.Status)
	require.Equal(t, "provider_error", r.ErrorCode(t))

	// Without the switch the next candidate answers, before any token was sent.
	require.Equal(t, http.StatusOK, ta.Do(http.MethodPut, "/api/admin/routing", admin.Token, map[string]any{"forceProvider": "", "cheapPercent": 100}).Status)
	f.cf.SetScript(providertest.Always(providertest.Fault{Cut: true}))
	r = ta.Do(http.MethodPost, "/api/chats/"+chatID+"/messages", admin.Token, map[string]any{"content": "Hi"}, "Accept", "text/event-stream")
	events = parseSSE(t, r.Body)
	last = events[len(events)-1]
	require.Equal(t, "done", last.name, last.data)
	require.Contains(t, last.data, `"provider":"local"`, "the small tier: cloudflare ×2 and openai cut before the first token; the built-in provider answers")
	require.Contains(t, last.data, "unavailable right now", "and says plainly that the models are down")

	var msgs struct{ Messages []storage.Message }
	ta.Do(http.MethodGet, "/api/chats/"+chatID+"/messages", admin.Token, nil).Decode(t, &msgs)
	for _, m := range msgs.Messages {
		require.NotEmpty(t, m.Content)
	}
}

func TestRoutingAdminOnly(t *testing.T) {
	ta := apptest.New(t, map[string]string{"PENNY_REGISTRATION": "open"})
	ta.Register("admin@example.com")
	member := ta.Register("m@example.com")
	for _, tc := range []struct{ method, path string }{{"GET", "/api/admin/routing"}, {"PUT", "/api/admin/routing"}, {"GET", "/api/health/providers"}} {
		require.Equal(t, http.StatusForbidden, ta.Do(tc.method, tc.path, member.Token, nil).Status, tc.path)
		require.Equal(t, http.StatusUnauthorized, ta.Do(tc.method, tc.path, "", nil).Status, tc.path)
	}
}

// TestLocalModelServer: an Ollama-style server's models are found at start,
// are free, and come first in their tiers.
func TestLocalModelServer(t *testing.T) {
	ol := providertest.NewOllama("llama3.2:3b", "nomic-embed-text")
	defer ol.Close()
	ta := apptest.New(t, map[string]string{"PENNY_OLLAMA_URL": ol.URL})
	u := ta.Register("ada@example.com")
	chatID := ta.Do(http.MethodPost, "/api/chats", u.Token, nil).JSON(t)["id"].(string)
	r := ta.Do(http.MethodPost, "/api/chats/"+chatID+"/messages", u.Token, map[string]any{"content": "Hello"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	var reply struct {
		Message storage.Message
		Cost    struct{ Micros, BaselineMicros int64 }
	}
	r.Decode(t, &reply)
	require.Equal(t, "ollama", reply.Message.Provider)
	require.Equal(t, "llama3.2:3b", reply.Message.Model)
	require.Contains(t, reply.Message.Content, "Hello from llama3.2:3b")
	require.Zero(t, reply.Cost.Micros, "local models are free")
	require.Positive(t, reply.Cost.BaselineMicros)

	// The server goes away: the built-in provider answers, and says why.
	ol.SetScript(providertest.Always(providertest.Fault{Status: 500, Body: `{"error":{"message":"boom","type":"api_error","param":null,"code":null}}`}))
	r = ta.Do(http.MethodPost, "/api/chats/"+chatID+"/messages", u.Token, map[string]any{"content": "Hello?"})
	r.Decode(t, &reply)
	require.Equal(t, "local", reply.Message.Provider)
}

// TestBudgetsOverHTTP: a spent budget moves requests to free models, says
// so in a banner, and refuses with 402 only when nothing free may answer.
func TestBudgetsOverHTTP(t *testing.T) {
	ta, _ := withProviders(t)
	admin := ta.Register("admin@example.com")
	r := ta.Do(http.MethodPut, "/api/admin/budgets", admin.Token, map[string]any{"userMonthlyUsd": 0.000001})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	require.Equal(t, http.StatusOK, ta.Do(http.MethodPut, "/api/admin/routing", admin.Token, map[string]any{"forceProvider": "openai", "cheapPercent": 100}).Status)
	chatID := ta.Do(http.MethodPost, "/api/chats", admin.Token, nil).JSON(t)["id"].(string)
	send := func() apptest.Response {
		return ta.Do(http.MethodPost, "/api/chats/"+chatID+"/messages", admin.Token, map[string]any{"content": "Hello"})
	}
	r = send()
	require.Equal(t, http.StatusCreated, r.Status, "the first call fits")
	r = send()
	require.Equal(t, http.StatusPaymentRequired, r.Status, "forced to a paid provider with the budget spent")
	require.Equal(t, "budget_exceeded", r.ErrorCode(t))

	require.Equal(t, http.StatusOK, ta.Do(http.MethodPut, "/api/admin/routing", admin.Token, map[string]any{"forceProvider": "", "cheapPercent": 100}).Status)
	r = send()
	require.Equal(t, http.StatusCreated, r.Status)
	require.Contains(t, string(r.Body), `"provider":"local"`, "paid models left the list; the free one answers")

	var st struct {
		Banner  string
		Budgets []struct{ Scope, State string }
		Alerts  []struct{ Threshold int }
	}
	ta.Do(http.MethodGet, "/api/costs/budgets", admin.Token, nil).Decode(t, &st)
	require.Contains(t, st.Banner, "user's monthly budget is spent")
	require.Equal(t, "exceeded", st.Budgets[0].State)
	require.Len(t, st.Alerts, 2, "80 % and 100 %, once each")

	r = ta.Do(http.MethodGet, "/api/admin/budgets", admin.Token, nil)
	require.Contains(t, string(r.Body), `"userMonthlyUsd":0.000001`)

	// A change that names one field keeps the others.
	r = ta.Do(http.MethodPut, "/api/admin/budgets", admin.Token, map[string]any{"globalMonthlyUsd": 200})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	require.Contains(t, string(r.Body), `"userMonthlyUsd":0.000001`)
	require.Contains(t, string(r.Body), `"globalMonthlyUsd":200`)
}

// TestCachesOverHTTP: a repeated question is answered from the caches,
// booked as a hit with the cost it avoided; a close question reuses the
// answer semantically; another user never gets a cached answer.
func TestCachesOverHTTP(t *testing.T) {
	f := fakes{cf: providertest.NewCloudflare("acct", "cf-token")}
	defer f.cf.Close()
	ta := apptest.New(t, map[string]string{"CLOUDFLARE_ACCOUNT_ID": "acct", "CLOUDFLARE_API_TOKEN": "cf-token",
		"PENNY_CLOUDFLARE_BASE_URL": f.cf.BaseURL(), "PENNY_REGISTRATION": "open", "PENNY_SEMANTIC_CACHE": "0.9"})
	ada := ta.Register("ada@example.com")
	upload(t, ta, ada.Token, apptest.File{Name: "herons.md", Content: herons})
	ask := func(token, q string) ragAnswer {
		r := ta.Do(http.MethodPost, "/api/rag/query", token, map[string]any{"question": q})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var a ragAnswer
		r.Decode(t, &a)
		return a
	}
	first := ask(ada.Token, "Where do grey herons nest?")
	require.Equal(t, "miss", first.Cached)
	calls := f.cf.Requests()

	again := ask(ada.Token, "where do grey herons   nest?")
	require.Equal(t, "exact", again.Cached)
	require.Equal(t, first.Answer, again.Answer)
	require.Equal(t, first.Citations, again.Citations)
	require.Equal(t, calls, f.cf.Requests(), "no provider call at all: the query results were cached too")
	require.Zero(t, again.Cost.Micros)

	close := ask(ada.Token, "Where do the grey herons nest?")
	require.Equal(t, "semantic", close.Cached, "a close enough question reuses the answer")

	// Close in embedding space but about another document: answered anew
	// (found by the crash test: "What does the kestrel12 do?" was once
	// answered with the kestrel2 passage).
	upload(t, ta, ada.Token, apptest.File{Name: "kestrel-a.md", Content: "The kestrel12x13 hovers over the meadow."},
		apptest.File{Name: "kestrel-b.md", Content: "The kestrel2x23 nests in the old church tower."})
	a := ask(ada.Token, "What does the kestrel12x13 do?")
	b := ask(ada.Token, "What does the kestrel2x23 do?")
	require.Contains(t, a.Answer, "meadow")
	require.Equal(t, "miss", b.Cached, "a close question over other passages is not a cache hit")
	require.Contains(t, b.Answer, "church tower")

	var m struct {
		Total struct {
			CacheHits          int
			CacheSavingsMicros int64
		}
		Groups map[string][]struct{ Key string }
	}
	ta.Do(http.MethodGet, "/api/costs/metrics?groupBy=cache", ada.Token, nil).Decode(t, &m)
	require.Equal(t, 2, m.Total.CacheHits, "the two hits above; the kestrel questions missed")

	bob := ta.Register("bob@example.com")
	upload(t, ta, bob.Token, apptest.File{Name: "herons.md", Content: herons})
	require.Equal(t, "miss", ask(bob.Token, "Where do grey herons nest?").Cached, "never across users")
}
