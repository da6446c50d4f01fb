package openai_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/openai"
	"github.com/penny-dev/penny/providers/providertest"
)

func newClient(t *testing.T, f *providertest.OpenAI, key string) *openai.Client {
	t.Cleanup(f.Close)
	return openai.New(openai.Options{Name: "openai", BaseURL: f.BaseURL(), APIKey: key, HTTPClient: &http.Client{Timeout: 2 * time.Second}})
}

var ask = providers.ChatRequest{Model: "gpt-4o-mini", Messages: []providers.Message{{Role: "user", Content: "Say hi"}}}

func TestChatAndStream(t *testing.T) {
	f := providertest.NewOpenAI("sk-test")
	c := newClient(t, f, "sk-test")
	ctx := context.Background()

	resp, err := c.Chat(ctx, ask)
	require.NoError(t, err)
	require.Contains(t, resp.Text, "Hello from gpt-4o-mini")
	require.Positive(t, resp.Usage.InputTokens)
	require.Positive(t, resp.Usage.OutputTokens)
	require.False(t, resp.Usage.Estimated)

	var got strings.Builder
	sresp, err := c.ChatStream(ctx, ask, func(d string) error { got.WriteString(d); return nil })
	require.NoError(t, err)
	require.Equal(t, resp.Text, got.String())
	require.Equal(t, resp.Usage, sresp.Usage, "the include_usage chunk gives the same usage")
	require.Contains(t, f.Bodies()[1], `"include_usage":true`)
}

func TestEmbedAndModels(t *testing.T) {
	f := providertest.NewOpenAI("sk-test")
	c := newClient(t, f, "sk-test")
	resp, err := c.Embed(context.Background(), providers.EmbedRequest{Model: "text-embedding-3-small", Texts: []string{"a heron", "a bird"}})
	require.NoError(t, err)
	require.Len(t, resp.Vectors, 2)
	require.Len(t, resp.Vectors[0], 1536)
	require.Positive(t, resp.Usage.InputTokens)
	ids, err := c.Models(context.Background())
	require.NoError(t, err)
	require.Contains(t, ids, "gpt-4o-mini")
	require.NoError(t, c.Ping(context.Background()))
}

func TestErrorsAreClassified(t *testing.T) {
	quota := `{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`
	limited := `{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}`
	cases := []struct {
		name       string
		fault      providertest.Fault
		stream     bool
		kind       providers.Kind
		retryAfter time.Duration
	}{
		{"rate limited with Retry-After", providertest.Fault{Status: 429, Body: limited, Header: http.Header{"Retry-After": {"3"}}}, false, providers.KindRateLimited, 3 * time.Second},
		{"rate limited without Retry-After", providertest.Fault{Status: 429, Body: limited}, false, providers.KindRateLimited, 0},
		{"insufficient quota is not a rate limit", providertest.Fault{Status: 429, Body: quota}, false, providers.KindQuota, 0},
		{"500", providertest.Fault{Status: 500, Body: `{"error":{"message":"server error","type":"server_error","param":null,"code":null}}`}, false, providers.KindUnavailable, 0},
		{"502 html", providertest.Fault{Status: 502, Body: "<html>bad gateway</html>"}, false, providers.KindUnavailable, 0},
		{"503", providertest.Fault{Status: 503, Body: ""}, false, providers.KindUnavailable, 0},
		{"garbage 200", providertest.Fault{Garbage: true}, false, providers.KindBadResponse, 0},
		{"truncated 200", providertest.Fault{Truncated: true}, false, providers.KindBadResponse, 0},
		{"timeout", providertest.Fault{Delay: 5 * time.Second}, false, providers.KindTimeout, 0},
		{"stream cut before the first token", providertest.Fault{Cut: true}, true, providers.KindUnavailable, 0},
		{"stream cut after a token", providertest.Fault{Cut: true, CutAfterTokens: 2}, true, providers.KindUnavailable, 0},
		{"error event in the stream", providertest.Fault{StreamError: true, StreamErrorAfterTokens: 1}, true, providers.KindUnavailable, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := providertest.NewOpenAI("sk-test")
			c := newClient(t, f, "sk-test")
			f.SetScript(providertest.Always(tc.fault))
			var err error
			if tc.stream {
				_, err = c.ChatStream(context.Background(), ask, func(string) error { return nil })
			} else {
				_, err = c.Chat(context.Background(), ask)
			}
			require.Error(t, err)
			var pe *providers.Error
			require.ErrorAs(t, err, &pe)
			require.Equal(t, tc.kind, pe.Kind, err.Error())
			require.Equal(t, tc.retryAfter, pe.RetryAfter)
			require.Equal(t, "openai", pe.Provider)
		})
	}
}

func TestAuthAndUnknownModel(t *testing.T) {
	f := providertest.NewOpenAI("sk-right")
	c := newClient(t, f, "sk-wrong")
	_, err := c.Chat(context.Background(), ask)
	require.Equal(t, providers.KindAuth, providers.KindOf(err))

	c = openai.New(openai.Options{Name: "openai", BaseURL: f.BaseURL(), APIKey: "sk-right"})
	_, err = c.Chat(context.Background(), providers.ChatRequest{Model: "gpt-0", Messages: ask.Messages})
	require.Equal(t, providers.KindNotFound, providers.KindOf(err))
}

func TestSlowDripStreamStillCompletes(t *testing.T) {
	f := providertest.NewOpenAI("k")
	c := newClient(t, f, "k")
	f.SetScript(providertest.Always(providertest.Fault{Drip: 5 * time.Millisecond}))
	n := 0
	resp, err := c.ChatStream(context.Background(), ask, func(string) error { n++; return nil })
	require.NoError(t, err)
	require.Greater(t, n, 3)
	require.NotEmpty(t, resp.Text)
}

func TestOllamaCompatible(t *testing.T) {
	f := providertest.NewOllama("llama3.2")
	c := openai.New(openai.Options{Name: "ollama", BaseURL: f.BaseURL()})
	t.Cleanup(f.Close)
	resp, err := c.Chat(context.Background(), providers.ChatRequest{Model: "llama3.2", Messages: ask.Messages})
	require.NoError(t, err)
	require.Contains(t, resp.Text, "llama3.2")
	_, err = c.Chat(context.Background(), providers.ChatRequest{Model: "missing", Messages: ask.Messages})
	require.Equal(t, providers.KindNotFound, providers.KindOf(err))
	vec, err := c.Embed(context.Background(), providers.EmbedRequest{Model: "nomic-embed-text", Texts: []string{"x"}})
	require.NoError(t, err)
	require.Len(t, vec.Vectors[0], 768)
}
