package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	goopenai "github.com/sashabaranov/go-openai"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/apptest"
	"github.com/penny-dev/penny/providers/providertest"
)

func apiKey(t *testing.T, ta *apptest.TestApp, token string, body map[string]any) string {
	r := ta.Do(http.MethodPost, "/api/keys", token, body)
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return r.JSON(t)["key"].(string)
}

func client(ta *apptest.TestApp, key string) *goopenai.Client {
	cfg := goopenai.DefaultConfig(key)
	cfg.BaseURL = ta.URL + "/v1"
	return goopenai.NewClientWithConfig(cfg)
}

// TestGatewayWithGoOpenAI: unchanged go-openai client code, only the base
// URL and key differ from talking to OpenAI.
func TestGatewayWithGoOpenAI(t *testing.T) {
	ta, _ := withProviders(t)
	admin := ta.Register("admin@example.com")
	c := client(ta, apiKey(t, ta, admin.Token, map[string]any{"name": "sdk"}))
	ctx := context.Background()

	models, err := c.ListModels(ctx)
	require.NoError(t, err)
	ids := map[string]bool{}
	for _, m := range models.Models {
		ids[m.ID] = true
	}
	for _, want := range []string{"auto", "auto:large", "gpt-4o-mini", "@cf/meta/llama-3.2-3b-instruct", "claude-sonnet-5", "@cf/baai/bge-m3"} {
		require.True(t, ids[want], want)
	}

	resp, err := c.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: "auto",
		Messages: []goopenai.ChatCompletionMessage{{Role: "user", Content: "Say hello"}}})
	require.NoError(t, err)
	require.Contains(t, resp.Choices[0].Message.Content, "Hello from @cf/meta/llama-3.2-3b-instruct")
	require.Equal(t, "@cf/meta/llama-3.2-3b-instruct", resp.Model)
	require.Positive(t, resp.Usage.TotalTokens)
	require.Equal(t, "cloudflare", resp.Header().Get("X-Penny-Provider"))
	require.NotEmpty(t, resp.Header().Get("X-Penny-Cost-Usd"))

	// A fixed tier and a pinned model.
	resp, err = c.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: "auto:large",
		Messages: []goopenai.ChatCompletionMessage{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}}})
	require.NoError(t, err)
	require.Equal(t, "@cf/meta/llama-3.3-70b-instruct-fp8-fast", resp.Model)
	resp, err = c.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: "claude-sonnet-5",
		Messages: []goopenai.ChatCompletionMessage{{Role: "user", Content: "Hi"}}})
	require.NoError(t, err)
	require.Equal(t, "anthropic", resp.Header().Get("X-Penny-Provider"))

	// Streaming with usage.
	stream, err := c.CreateChatCompletionStream(ctx, goopenai.ChatCompletionRequest{Model: "gpt-4o-mini", Stream: true,
		StreamOptions: &goopenai.StreamOptions{IncludeUsage: true}, Messages: []goopenai.ChatCompletionMessage{{Role: "user", Content: "Stream please"}}})
	require.NoError(t, err)
	var text strings.Builder
	var usage *goopenai.Usage
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if chunk.Usage != nil {
			usage = chunk.Usage
		}
		if len(chunk.Choices) > 0 {
			text.WriteString(chunk.Choices[0].Delta.Content)
		}
	}
	stream.Close()
	require.Equal(t, "Hello from gpt-4o-mini. You said: Stream please", text.String())
	require.NotNil(t, usage)
	require.Positive(t, usage.CompletionTokens)

	// Embeddings.
	emb, err := c.CreateEmbeddings(ctx, goopenai.EmbeddingRequestStrings{Model: "auto", Input: []string{"herons", "finance"}})
	require.NoError(t, err)
	require.Len(t, emb.Data, 2)
	require.Len(t, emb.Data[0].Embedding, 1024, "auto = the index's model, bge-m3")
	emb, err = c.CreateEmbeddings(ctx, goopenai.EmbeddingRequestStrings{Model: "text-embedding-3-small", Input: []string{"x"}, EncodingFormat: goopenai.EmbeddingEncodingFormatBase64})
	require.NoError(t, err)
	require.Len(t, emb.Data[0].Embedding, 1536, "base64 decoded by the client")

	// OpenAI-shaped errors that client retry logic understands.
	_, err = c.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: "gpt-99", Messages: []goopenai.ChatCompletionMessage{{Role: "user", Content: "x"}}})
	var apiErr *goopenai.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 404, apiErr.HTTPStatusCode)
	require.Equal(t, "model_not_found", apiErr.Code)
	_, err = client(ta, "pk-wrong").ListModels(ctx)
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 401, apiErr.HTTPStatusCode)
	require.Equal(t, "invalid_api_key", apiErr.Code)
	_, err = c.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: "auto"})
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 400, apiErr.HTTPStatusCode)

	// Every call is on the ledger under the gateway service.
	var sum struct {
		ByService []struct {
			Key   string
			Calls int
		}
	}
	ta.Do(http.MethodGet, "/api/costs/summary", admin.Token, nil).Decode(t, &sum)
	calls := map[string]int{}
	for _, l := range sum.ByService {
		calls[l.Key] = l.Calls
	}
	require.Equal(t, 6, calls["gateway"], "4 chats + 2 embedding calls")
}

func TestGatewayKeyLimits(t *testing.T) {
	ta, _ := withProviders(t)
	admin := ta.Register("admin@example.com")
	ctx := context.Background()
	msgs := []goopenai.ChatCompletionMessage{{Role: "user", Content: "Hi"}}

	// Requests per minute.
	c := client(ta, apiKey(t, ta, admin.Token, map[string]any{"name": "slow", "rpm": 2}))
	for range 2 {
		_, err := c.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: "auto", Messages: msgs})
		require.NoError(t, err)
	}
	_, err := c.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: "auto", Messages: msgs})
	var apiErr *goopenai.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 429, apiErr.HTTPStatusCode)
	require.Equal(t, "rate_limit_exceeded", apiErr.Code)

	// Monthly budget: once spent, paid models leave the list; a request
	// that only a paid model could serve is refused with 402.
	c = client(ta, apiKey(t, ta, admin.Token, map[string]any{"name": "tight", "monthlyBudgetUsd": 0.000001}))
	resp, err := c.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: "gpt-4o-mini", Messages: msgs})
	require.NoError(t, err, "the first call is inside the budget")
	require.Equal(t, "openai", resp.Header().Get("X-Penny-Provider"))
	resp, err = c.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: "auto", Messages: msgs})
	require.NoError(t, err)
	require.Equal(t, "local", resp.Header().Get("X-Penny-Provider"), "spent: only free models remain")
	_, err = c.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: "gpt-4o-mini", Messages: msgs})
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 402, apiErr.HTTPStatusCode)
	require.Equal(t, "insufficient_quota", apiErr.Code)

	// Another key of the same user is not affected.
	other := client(ta, apiKey(t, ta, admin.Token, map[string]any{"name": "other"}))
	resp, err = other.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: "gpt-4o-mini", Messages: msgs})
	require.NoError(t, err)
	require.Equal(t, "openai", resp.Header().Get("X-Penny-Provider"))
}

func TestGatewayStreamErrorAfterFirstToken(t *testing.T) {
	ta, f := withProviders(t)
	admin := ta.Register("admin@example.com")
	c := client(ta, apiKey(t, ta, admin.Token, map[string]any{"name": "k"}))
	f.oa.SetScript(providertest.Always(providertest.Fault{Cut: true, CutAfterTokens: 2}))
	stream, err := c.CreateChatCompletionStream(context.Background(), goopenai.ChatCompletionRequest{Model: "gpt-4o-mini", Stream: true,
		Messages: []goopenai.ChatCompletionMessage{{Role: "user", Content: "Hi"}}})
	require.NoError(t, err)
	defer stream.Close()
	var got error
	for {
		_, err := stream.Recv()
		if err != nil {
			got = err
			break
		}
	}
	require.False(t, errors.Is(got, io.EOF), "never a silent clean end")
	var apiErr *goopenai.APIError
	require.ErrorAs(t, got, &apiErr)
	require.Equal(t, "provider_error", apiErr.Code)
}

func TestGatewayNeedsAKey(t *testing.T) {
	ta := apptest.New(t, nil)
	r := ta.Do(http.MethodGet, "/v1/models", "", nil)
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Contains(t, string(r.Body), `"code":"invalid_api_key"`)
	require.Contains(t, string(r.Body), `"type":"invalid_request_error"`)
	r = ta.Do(http.MethodGet, "/v1/nothing", "", nil)
	require.Equal(t, http.StatusUnauthorized, r.Status, "authentication comes before routing")

	admin := ta.Register("admin@example.com")
	key := apiKey(t, ta, admin.Token, map[string]any{"name": "k"})
	r = ta.Do(http.MethodGet, "/v1/nothing", key, nil)
	require.Equal(t, http.StatusNotFound, r.Status)
	require.Contains(t, string(r.Body), `"type":"invalid_request_error"`, "OpenAI-shaped")
	r = ta.Do(http.MethodGet, "/api/documents", key, nil)
	require.Equal(t, http.StatusOK, r.Status)
}

// TestGatewayToolsPassThrough: tools reach providers that take them
// (OpenAI protocol); the others are skipped with the reason.
func TestGatewayToolsPassThrough(t *testing.T) {
	ta, f := withProviders(t)
	admin := ta.Register("admin@example.com")
	c := client(ta, apiKey(t, ta, admin.Token, map[string]any{"name": "tools"}))
	ctx := context.Background()
	tools := []goopenai.Tool{{Type: goopenai.ToolTypeFunction, Function: &goopenai.FunctionDefinition{Name: "get_weather",
		Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}}}
	msgs := []goopenai.ChatCompletionMessage{{Role: "user", Content: "Weather in Paris?"}}

	resp, err := c.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: "auto", Messages: msgs, Tools: tools})
	require.NoError(t, err)
	require.Equal(t, "openai", resp.Header().Get("X-Penny-Provider"), "Cloudflare and the built-in provider do not take tools here")
	require.Equal(t, goopenai.FinishReasonToolCalls, resp.Choices[0].FinishReason)
	call := resp.Choices[0].Message.ToolCalls[0]
	require.Equal(t, "get_weather", call.Function.Name)
	require.Contains(t, f.oa.Bodies()[len(f.oa.Bodies())-1], `"name":"get_weather"`)

	// The tool's result goes back; the model answers with it.
	msgs = append(msgs, resp.Choices[0].Message, goopenai.ChatCompletionMessage{Role: "tool", ToolCallID: call.ID, Content: "18°C, sunny"})
	resp, err = c.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: "auto", Messages: msgs, Tools: tools})
	require.NoError(t, err)
	require.Equal(t, "The tool said: 18°C, sunny", resp.Choices[0].Message.Content)

	// Streamed: the tool call arrives as one delta, then finish_reason tool_calls.
	stream, err := c.CreateChatCompletionStream(ctx, goopenai.ChatCompletionRequest{Model: "auto", Stream: true, Tools: tools,
		Messages: []goopenai.ChatCompletionMessage{{Role: "user", Content: "Weather?"}}})
	require.NoError(t, err)
	var names []string
	var finish goopenai.FinishReason
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if len(chunk.Choices) == 0 {
			continue
		}
		for _, tc := range chunk.Choices[0].Delta.ToolCalls {
			names = append(names, tc.Function.Name)
		}
		if chunk.Choices[0].FinishReason != "" {
			finish = chunk.Choices[0].FinishReason
		}
	}
	stream.Close()
	require.Equal(t, []string{"get_weather"}, names)
	require.Equal(t, goopenai.FinishReasonToolCalls, finish)

	// Pinned to a provider that does not take tools: a clear 400.
	_, err = c.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: "claude-sonnet-5", Messages: msgs[:1], Tools: tools})
	var apiErr *goopenai.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 400, apiErr.HTTPStatusCode)
	require.Contains(t, apiErr.Message, "tools")
}

// TestCollectionsAndRAGModel: documents grouped in collections, questions
// restricted to one, and model "rag:<collection>" on the gateway.
func TestCollectionsAndRAGModel(t *testing.T) {
	ta := apptest.New(t, map[string]string{"PENNY_REGISTRATION": "open"})
	ada := ta.Register("ada@example.com")
	r := ta.UploadTo(ada.Token, "birds", apptest.File{Name: "herons.md", Content: herons})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	require.Contains(t, string(r.Body), `"collection":"birds"`)
	upload(t, ta, ada.Token, apptest.File{Name: "q3.txt", Content: finance})
	require.Equal(t, http.StatusBadRequest, ta.UploadTo(ada.Token, "no/slashes", apptest.File{Name: "x.txt", Content: "x y z"}).Status)

	var list struct {
		Documents []struct{ Title, Collection string }
	}
	ta.Do(http.MethodGet, "/api/documents?collection=birds", ada.Token, nil).Decode(t, &list)
	require.Len(t, list.Documents, 1)
	require.Equal(t, "Herons", list.Documents[0].Title)

	// A question restricted to a collection never sees the others.
	var a ragAnswer
	ta.Do(http.MethodPost, "/api/rag/query", ada.Token, map[string]any{"question": "How did revenue change?", "collection": "birds"}).Decode(t, &a)
	require.NotContains(t, a.Answer, "twelve percent")
	r = ta.Do(http.MethodPost, "/api/rag/query", ada.Token, map[string]any{"question": "x", "collection": "nope"})
	require.Equal(t, http.StatusNotFound, r.Status)

	c := client(ta, apiKey(t, ta, ada.Token, map[string]any{"name": "rag"}))
	ctx := context.Background()
	models, err := c.ListModels(ctx)
	require.NoError(t, err)
	var ids []string
	for _, m := range models.Models {
		ids = append(ids, m.ID)
	}
	require.Contains(t, ids, "rag:birds")
	require.Contains(t, ids, "rag:default")

	resp, err := c.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: "rag:birds",
		Messages: []goopenai.ChatCompletionMessage{{Role: "user", Content: "Where do grey herons nest?"}}})
	require.NoError(t, err)
	require.Contains(t, resp.Choices[0].Message.Content, "heronries")
	require.Regexp(t, `\[\d\]`, resp.Choices[0].Message.Content)
	raw := ta.Do(http.MethodPost, "/v1/chat/completions", apiKey(t, ta, ada.Token, map[string]any{"name": "raw"}), map[string]any{"model": "rag:birds",
		"messages": []map[string]string{{"role": "user", "content": "Where do grey herons nest?"}}})
	require.Contains(t, string(raw.Body), `"citations":[{"n":`)

	_, err = c.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: "rag:nope",
		Messages: []goopenai.ChatCompletionMessage{{Role: "user", Content: "x"}}})
	var apiErr *goopenai.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 404, apiErr.HTTPStatusCode)
	require.Equal(t, "model_not_found", apiErr.Code)

	// Another user's key cannot reach ada's collection.
	bob := ta.Register("bob@example.com")
	bc := client(ta, apiKey(t, ta, bob.Token, map[string]any{"name": "b"}))
	_, err = bc.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: "rag:birds",
		Messages: []goopenai.ChatCompletionMessage{{Role: "user", Content: "Where do grey herons nest?"}}})
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 404, apiErr.HTTPStatusCode)
}

func TestGatewayCache(t *testing.T) {
	oa := providertest.NewOpenAI("sk")
	defer oa.Close()
	ta := apptest.New(t, map[string]string{"OPENAI_API_KEY": "sk", "PENNY_OPENAI_BASE_URL": oa.BaseURL()})
	admin := ta.Register("admin@example.com")
	c := client(ta, apiKey(t, ta, admin.Token, map[string]any{"name": "k"}))
	ctx := context.Background()
	req := goopenai.ChatCompletionRequest{Model: "gpt-4o-mini", Messages: []goopenai.ChatCompletionMessage{{Role: "user", Content: "Cache me"}}}
	first, err := c.CreateChatCompletion(ctx, req)
	require.NoError(t, err)
	require.Equal(t, "miss", first.Header().Get("X-Penny-Cache"))
	second, err := c.CreateChatCompletion(ctx, req)
	require.NoError(t, err)
	require.Equal(t, "exact", second.Header().Get("X-Penny-Cache"))
	require.Equal(t, first.Choices[0].Message.Content, second.Choices[0].Message.Content)
	require.Equal(t, "0.000000", second.Header().Get("X-Penny-Cost-Usd"))
	require.Equal(t, 1, oa.Requests())

	r := ta.Do(http.MethodPost, "/v1/chat/completions", apiKey(t, ta, admin.Token, map[string]any{"name": "raw"}),
		map[string]any{"model": "gpt-4o-mini", "messages": []map[string]string{{"role": "user", "content": "Cache me"}}}, "Cache-Control", "no-cache")
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, "miss", r.Header.Get("X-Penny-Cache"))
	require.Equal(t, 2, oa.Requests(), "no-cache bypasses")
}

// Calls to a provider reuse their connections: three waves of 32
// concurrent calls open about 32 connections, not one per call (Go's
// default transport keeps 2 idle connections per host, so each wave
// opened ~30 new ones — with TLS, a handshake each).
func TestProviderConnectionsAreReused(t *testing.T) {
	oa := providertest.NewOpenAI("sk")
	defer oa.Close()
	oa.SetScript(providertest.Always(providertest.Fault{Delay: 50 * time.Millisecond}))
	ta := apptest.New(t, map[string]string{"OPENAI_API_KEY": "sk", "PENNY_OPENAI_BASE_URL": oa.BaseURL()})
	admin := ta.Register("admin@example.com")
	key := apiKey(t, ta, admin.Token, map[string]any{"name": "k"})
	for wave := range 3 {
		var wg sync.WaitGroup
		for i := range 32 {
			wg.Go(func() {
				r := ta.Do(http.MethodPost, "/v1/chat/completions", key, map[string]any{"model": "gpt-4o-mini",
					"messages": []map[string]string{{"role": "user", "content": fmt.Sprint("wave ", wave, " call ", i)}}}, "Cache-Control", "no-cache")
				assert.Equal(t, http.StatusOK, r.Status, string(r.Body)) // not require: another goroutine
			})
		}
		wg.Wait()
	}
	require.Equal(t, 96, oa.Requests())
	require.LessOrEqual(t, oa.Connections(), 40, "96 calls in waves of 32 reuse their connections")
}
