package golden_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/anthropic"
	"github.com/penny-dev/penny/providers/catalog"
	"github.com/penny-dev/penny/providers/cloudflare"
	"github.com/penny-dev/penny/providers/openai"
)

func serve(t *testing.T, body string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

var ask = []providers.Message{{Role: "user", Content: "hi"}}

// TestGoldenUsage: each row is a verbatim usage block of a provider, the
// usage penny reads from it, and the cost in micro-dollars worked out by
// hand from the catalog's dated prices.
func TestGoldenUsage(t *testing.T) {
	cat := catalog.Default()
	cases := []struct {
		name      string
		provider  string
		model     string
		body      string
		call      func(url string) (providers.Usage, error)
		usage     providers.Usage
		costMicro int64
	}{
		{
			// 600 uncached × $0.15/M + 400 cached × $0.075/M + 500 out × $0.60/M
			// = 90 + 30 + 300 µ$. Reasoning tokens are part of completion
			// tokens and are not billed twice.
			name: "openai with cached input and reasoning", provider: "openai", model: "gpt-4o-mini",
			body: `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],` +
				`"usage":{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":400,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":50,"audio_tokens":0}}}`,
			call: func(url string) (providers.Usage, error) {
				r, err := openai.New(openai.Options{Name: "openai", BaseURL: url, APIKey: "k"}).Chat(context.Background(), providers.ChatRequest{Model: "gpt-4o-mini", Messages: ask})
				return r.Usage, err
			},
			usage:     providers.Usage{InputTokens: 1000, OutputTokens: 500, CachedInputTokens: 400, ReasoningTokens: 50},
			costMicro: 420,
		},
		{
			// 100 uncached + 900 cache reads at $0.10/M + 200 out × $5/M on
			// Haiku 4.5: 100 + 90 + 1000 µ$.
			name: "anthropic with cache reads", provider: "anthropic", model: "claude-haiku-4-5",
			body: `{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","stop_sequence":null,` +
				`"usage":{"input_tokens":100,"output_tokens":200,"cache_creation_input_tokens":0,"cache_read_input_tokens":900}}`,
			call: func(url string) (providers.Usage, error) {
				r, err := anthropic.New(anthropic.Options{APIKey: "k", BaseURL: url + "/"}).Chat(context.Background(), providers.ChatRequest{Model: "claude-haiku-4-5", Messages: ask})
				return r.Usage, err
			},
			usage:     providers.Usage{InputTokens: 1000, OutputTokens: 200, CachedInputTokens: 900},
			costMicro: 1190,
		},
		{
			// Reported neurons win: 22.18 neurons × $0.011/1000 = 243.98 µ$.
			name: "cloudflare with neurons", provider: "cloudflare", model: "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
			body: `{"result":{"response":"ok","tool_calls":[],"usage":{"prompt_tokens":755,"completion_tokens":10,"total_tokens":765,"prompt_tokens_details":{"cached_tokens":0},"neurons":22.18}},"success":true,"errors":[],"messages":[]}`,
			call: func(url string) (providers.Usage, error) {
				r, err := cloudflare.New(cloudflare.Options{BaseURL: url, AccountID: "a", Token: "t"}).Chat(context.Background(), providers.ChatRequest{Model: "@cf/meta/llama-3.3-70b-instruct-fp8-fast", Messages: ask})
				return r.Usage, err
			},
			usage:     providers.Usage{InputTokens: 755, OutputTokens: 10, Neurons: 22.18},
			costMicro: 244,
		},
		{
			// No neurons reported: 755 × 26,668/M + 10 × 204,805/M
			// = 20.134 + 2.048 = 22.182 neurons → 244.0 µ$.
			name: "cloudflare from tokens", provider: "cloudflare", model: "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
			body: `{"result":{"response":"ok","usage":{"prompt_tokens":755,"completion_tokens":10,"total_tokens":765}},"success":true,"errors":[],"messages":[]}`,
			call: func(url string) (providers.Usage, error) {
				r, err := cloudflare.New(cloudflare.Options{BaseURL: url, AccountID: "a", Token: "t"}).Chat(context.Background(), providers.ChatRequest{Model: "@cf/meta/llama-3.3-70b-instruct-fp8-fast", Messages: ask})
				return r.Usage, err
			},
			usage:     providers.Usage{InputTokens: 755, OutputTokens: 10},
			costMicro: 244,
		},
		{
			// 2,000,000 tokens × $0.02/M = 40,000 µ$.
			name: "openai embeddings", provider: "openai", model: "text-embedding-3-small",
			body: `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":2000000,"total_tokens":2000000}}`,
			call: func(url string) (providers.Usage, error) {
				r, err := openai.New(openai.Options{Name: "openai", BaseURL: url, APIKey: "k"}).Embed(context.Background(), providers.EmbedRequest{Model: "text-embedding-3-small", Texts: []string{"x"}})
				return r.Usage, err
			},
			usage:     providers.Usage{InputTokens: 2000000},
			costMicro: 40000,
		},
		{
			// Workers AI reports no usage for embeddings: penny counts and
			// marks the figure estimated ("hello world" ≈ 3 tokens).
			name: "cloudflare embeddings are estimated", provider: "cloudflare", model: "@cf/baai/bge-m3",
			body: `{"result":{"shape":[1,2],"data":[[0.1,0.2]],"pooling":"mean"},"success":true,"errors":[],"messages":[]}`,
			call: func(url string) (providers.Usage, error) {
				r, err := cloudflare.New(cloudflare.Options{BaseURL: url, AccountID: "a", Token: "t"}).Embed(context.Background(), providers.EmbedRequest{Model: "@cf/baai/bge-m3", Texts: []string{"hello world"}})
				return r.Usage, err
			},
			usage:     providers.Usage{InputTokens: 3, Estimated: true},
			costMicro: 0, // 3 × 1,075/M neurons = 0.003 neurons → 0.04 µ$ → rounds to 0
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, err := tc.call(serve(t, tc.body))
			require.NoError(t, err)
			require.Equal(t, tc.usage, u)
			m, err := cat.Lookup(tc.provider, tc.model)
			require.NoError(t, err)
			require.Equal(t, tc.costMicro, m.Cost(u))
		})
	}
}
