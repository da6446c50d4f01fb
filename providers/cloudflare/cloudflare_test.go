package cloudflare_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/cloudflare"
	"github.com/penny-dev/penny/providers/openai"
	"github.com/penny-dev/penny/providers/providertest"
)

func setup(t *testing.T, token string) (*providertest.Cloudflare, *cloudflare.Client) {
	f := providertest.NewCloudflare("acct", "cf-token")
	t.Cleanup(f.Close)
	now := func() time.Time { return time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC) }
	return f, cloudflare.New(cloudflare.Options{BaseURL: f.BaseURL(), AccountID: "acct", Token: token, HTTPClient: &http.Client{Timeout: 2 * time.Second}, Now: now})
}

var q = []providers.Message{{Role: "system", Content: "Answer from passages.\n\n[1] (Herons)\nGrey herons nest in heronries.\n\n"}, {Role: "user", Content: "Where do herons nest?"}}

func TestEmbedBatchesOf100(t *testing.T) {
	f, c := setup(t, "cf-token")
	texts := make([]string, 250)
	for i := range texts {
		texts[i] = fmt.Sprintf("text %d", i)
	}
	texts[3] = "" // empty strings are refused by Workers AI; the client pads them
	resp, err := c.Embed(context.Background(), providers.EmbedRequest{Model: "@cf/baai/bge-m3", Texts: texts})
	require.NoError(t, err)
	require.Len(t, resp.Vectors, 250)
	require.Len(t, resp.Vectors[0], 1024)
	require.Equal(t, 3, f.Requests(), "100 + 100 + 50")
	require.True(t, resp.Usage.Estimated, "Workers AI reports no usage for embeddings")
}

func TestChatBothStyles(t *testing.T) {
	_, c := setup(t, "cf-token")
	for _, model := range []string{"@cf/meta/llama-3.3-70b-instruct-fp8-fast", "@cf/google/gemma-4-26b-a4b-it"} {
		t.Run(model, func(t *testing.T) {
			resp, err := c.Chat(context.Background(), providers.ChatRequest{Model: model, Messages: q})
			require.NoError(t, err)
			require.Contains(t, resp.Text, "Grey herons nest in heronries. [1]")
			require.False(t, resp.Usage.Estimated)

			var got strings.Builder
			sresp, err := c.ChatStream(context.Background(), providers.ChatRequest{Model: model, Messages: q}, func(d string) error { got.WriteString(d); return nil })
			require.NoError(t, err)
			require.Equal(t, resp.Text, got.String())
			require.Equal(t, resp.Usage.InputTokens, sresp.Usage.InputTokens, "the cumulative final event, not the sum of increments plus it")
			require.Equal(t, resp.Usage.OutputTokens, sresp.Usage.OutputTokens)
		})
	}
}

func TestErrorCodes(t *testing.T) {
	cases := []struct {
		name  string
		fault providertest.Fault
		kind  providers.Kind
		retry time.Duration
	}{
		{"daily free neurons spent", providertest.Fault{Status: 429, Body: providertest.Envelope(3036, "you have used up your daily free allocation of 10,000 neurons")}, providers.KindQuota, 2 * time.Hour},
		{"out of capacity", providertest.Fault{Status: 429, Body: providertest.Envelope(3040, "Capacity temporarily exceeded, please try again.")}, providers.KindRateLimited, 0},
		{"capacity with Retry-After", providertest.Fault{Status: 429, Body: providertest.Envelope(3040, "busy"), Header: http.Header{"Retry-After": {"4"}}}, providers.KindRateLimited, 4 * time.Second},
		{"5xx with empty body", providertest.Fault{Status: 502}, providers.KindUnavailable, 0},
		{"5xx with html", providertest.Fault{Status: 503, Body: "<html>oops</html>"}, providers.KindUnavailable, 0},
		{"garbage", providertest.Fault{Garbage: true}, providers.KindBadResponse, 0},
		{"truncated", providertest.Fault{Truncated: true}, providers.KindBadResponse, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, c := setup(t, "cf-token")
			f.SetScript(providertest.Always(tc.fault))
			_, err := c.Chat(context.Background(), providers.ChatRequest{Model: "@cf/meta/llama-3.2-3b-instruct", Messages: q})
			var pe *providers.Error
			require.ErrorAs(t, err, &pe)
			require.Equal(t, tc.kind, pe.Kind, err.Error())
			require.Equal(t, tc.retry, pe.RetryAfter)
		})
	}

	_, c := setup(t, "wrong")
	_, err := c.Chat(context.Background(), providers.ChatRequest{Model: "@cf/meta/llama-3.2-3b-instruct", Messages: q})
	require.Equal(t, providers.KindAuth, providers.KindOf(err), "code 10000")
	require.Equal(t, providers.KindAuth, providers.KindOf(c.Ping(context.Background())))

	_, c = setup(t, "cf-token")
	_, err = c.Chat(context.Background(), providers.ChatRequest{Model: "@cf/meta/llama-2-7b-chat-int8", Messages: q})
	require.Equal(t, providers.KindNotFound, providers.KindOf(err), "code 5007")
	require.NoError(t, c.Ping(context.Background()))
}

func TestDailyLimitCallback(t *testing.T) {
	f := providertest.NewCloudflare("acct", "t")
	defer f.Close()
	var hit atomic.Bool
	c := cloudflare.New(cloudflare.Options{BaseURL: f.BaseURL(), AccountID: "acct", Token: "t", OnDailyLimit: func() { hit.Store(true) }})
	f.SetScript(providertest.Always(providertest.Fault{Status: 429, Body: providertest.Envelope(3036, "daily")}))
	_, err := c.Embed(context.Background(), providers.EmbedRequest{Model: "@cf/baai/bge-m3", Texts: []string{"x"}})
	require.Error(t, err)
	require.True(t, hit.Load())
}

func TestStreamFaults(t *testing.T) {
	for name, tc := range map[string]struct {
		fault providertest.Fault
		kind  providers.Kind
		sent  int
	}{
		"cut before the first token": {providertest.Fault{Cut: true}, providers.KindUnavailable, 0},
		"cut after two tokens":       {providertest.Fault{Cut: true, CutAfterTokens: 2}, providers.KindUnavailable, 2},
		"error event mid-stream":     {providertest.Fault{StreamError: true, StreamErrorAfterTokens: 1}, providers.KindRateLimited, 1},
	} {
		t.Run(name, func(t *testing.T) {
			f, c := setup(t, "cf-token")
			f.SetScript(providertest.Always(tc.fault))
			sent := 0
			_, err := c.ChatStream(context.Background(), providers.ChatRequest{Model: "@cf/meta/llama-3.2-3b-instruct", Messages: q}, func(string) error { sent++; return nil })
			require.Equal(t, tc.kind, providers.KindOf(err), fmt.Sprint(err))
			require.Equal(t, tc.sent, sent)
		})
	}
}

// TestOpenAICompatibleEndpointErrors: on /ai/v1 errors come in the v4
// envelope, which go-openai reports as a RequestError; ClassifyBody reads it.
func TestEnvelopeThroughOpenAIClient(t *testing.T) {
	kind, ok := cloudflare.ClassifyBody(429, []byte(providertest.Envelope(3036, "daily")))
	require.True(t, ok)
	require.Equal(t, providers.KindQuota, kind)
	_, ok = cloudflare.ClassifyBody(500, []byte("<html>"))
	require.False(t, ok)

	f := providertest.NewOpenAI("k")
	defer f.Close()
	f.SetScript(providertest.Always(providertest.Fault{Status: 429, Body: providertest.Envelope(3036, "daily")}))
	c := openai.New(openai.Options{Name: "cloudflare", BaseURL: f.BaseURL(), APIKey: "k", ClassifyBody: cloudflare.ClassifyBody})
	_, err := c.Chat(context.Background(), providers.ChatRequest{Model: "gpt-4o-mini", Messages: q})
	require.Equal(t, providers.KindQuota, providers.KindOf(err))
}
