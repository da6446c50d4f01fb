package anthropic_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/anthropic"
	"github.com/penny-dev/penny/providers/providertest"
)

func setup(t *testing.T, key string) (*providertest.Anthropic, *anthropic.Client) {
	f := providertest.NewAnthropic("sk-ant")
	t.Cleanup(f.Close)
	return f, anthropic.New(anthropic.Options{APIKey: key, BaseURL: f.URL + "/", HTTPClient: &http.Client{Timeout: 2 * time.Second}})
}

var req = providers.ChatRequest{Model: "claude-haiku-4-5", Messages: []providers.Message{
	{Role: "system", Content: "Answer from passages.\n\n[1] (Herons)\nGrey herons nest in heronries.\n\n"},
	{Role: "user", Content: "Hi"}, {Role: "user", Content: "Where do herons nest?"},
}}

func TestChatAndStream(t *testing.T) {
	f, c := setup(t, "sk-ant")
	resp, err := c.Chat(context.Background(), req)
	require.NoError(t, err)
	require.Contains(t, resp.Text, "Grey herons nest in heronries. [1]")
	require.Positive(t, resp.Usage.InputTokens)
	require.Contains(t, f.Bodies()[0], `"system":[{"text":"Answer from passages.`, "system prompt goes to the system field")
	require.Contains(t, f.Bodies()[0], "Hi\\n\\nWhere do herons nest?", "two user turns are merged")

	var got strings.Builder
	sresp, err := c.ChatStream(context.Background(), req, func(d string) error { got.WriteString(d); return nil })
	require.NoError(t, err)
	require.Equal(t, resp.Text, got.String())
	require.Equal(t, resp.Usage.OutputTokens, sresp.Usage.OutputTokens, "cumulative output_tokens of message_delta")
	require.Equal(t, resp.Usage.InputTokens, sresp.Usage.InputTokens)
	require.NoError(t, c.Ping(context.Background()))
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name   string
		fault  providertest.Fault
		stream bool
		kind   providers.Kind
		retry  time.Duration
		sent   int
	}{
		{"overloaded 529", providertest.Fault{Status: 529, Body: providertest.ErrorBody("overloaded_error", "Overloaded")}, false, providers.KindUnavailable, 0, 0},
		{"rate limited 429 with retry-after", providertest.Fault{Status: 429, Body: providertest.ErrorBody("rate_limit_error", "slow down"), Header: http.Header{"Retry-After": {"2"}}}, false, providers.KindRateLimited, 2 * time.Second, 0},
		{"retry-after far away does not hang (SDK retries are off)", providertest.Fault{Status: 429, Body: providertest.ErrorBody("rate_limit_error", "x"), Header: http.Header{"Retry-After": {"3600"}}}, false, providers.KindRateLimited, time.Hour, 0},
		{"billing", providertest.Fault{Status: 402, Body: providertest.ErrorBody("billing_error", "no credit")}, false, providers.KindQuota, 0, 0},
		{"500", providertest.Fault{Status: 500, Body: providertest.ErrorBody("api_error", "internal")}, false, providers.KindUnavailable, 0, 0},
		{"garbage", providertest.Fault{Garbage: true}, false, providers.KindBadResponse, 0, 0},
		{"error event after 200", providertest.Fault{StreamError: true, StreamErrorAfterTokens: 2}, true, providers.KindUnavailable, 0, 2},
		{"cut before the first token", providertest.Fault{Cut: true}, true, providers.KindUnavailable, 0, 0},
		{"cut after a token", providertest.Fault{Cut: true, CutAfterTokens: 1}, true, providers.KindUnavailable, 0, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, c := setup(t, "sk-ant")
			f.SetScript(providertest.Always(tc.fault))
			sent := 0
			var err error
			if tc.stream {
				_, err = c.ChatStream(context.Background(), req, func(string) error { sent++; return nil })
			} else {
				_, err = c.Chat(context.Background(), req)
			}
			var pe *providers.Error
			require.ErrorAs(t, err, &pe, fmt.Sprint(err))
			require.Equal(t, tc.kind, pe.Kind, err.Error())
			require.Equal(t, tc.retry, pe.RetryAfter)
			require.Equal(t, tc.sent, sent)
			require.Equal(t, 1, f.Requests(), "no SDK retries")
		})
	}
	_, c := setup(t, "wrong")
	_, err := c.Chat(context.Background(), req)
	require.Equal(t, providers.KindAuth, providers.KindOf(err))
	_, c = setup(t, "sk-ant")
	_, err = c.Chat(context.Background(), providers.ChatRequest{Model: "claude-0", Messages: req.Messages})
	require.Equal(t, providers.KindNotFound, providers.KindOf(err))
}
