// Package anthropic speaks the Messages API through the official Go SDK,
// with the SDK's own retries off so that penny's router owns retries and
// failover. It maps the SDK's errors (overloaded_error 529 vs
// rate_limit_error 429, …) to penny's error kinds.
package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/penny-dev/penny/providers"
)

// Name is the provider name.
const Name = "anthropic"

// DefaultBaseURL is Anthropic's API.
const DefaultBaseURL = "https://api.anthropic.com/"

// Options configure a Client.
type Options struct {
	APIKey  string
	BaseURL string
	// HTTPClient carries the timeout. Default: 60s timeout.
	HTTPClient *http.Client
	// MaxTokens is sent when a request sets none (the API requires it).
	// Default 1024.
	MaxTokens int
}

// Client is the Anthropic provider. Safe for concurrent use.
type Client struct {
	o Options
	c sdk.Client
}

// New returns a client.
func New(o Options) *Client {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if o.MaxTokens == 0 {
		o.MaxTokens = 1024
	}
	c := sdk.NewClient(option.WithAPIKey(o.APIKey), option.WithBaseURL(o.BaseURL),
		option.WithHTTPClient(o.HTTPClient), option.WithMaxRetries(0))
	return &Client{o: o, c: c}
}

// params turns penny's messages into a Messages request: system messages
// go to the system field, neighbouring turns of one role are merged (the
// API wants them alternating, starting with the user).
func (c *Client) params(req providers.ChatRequest) sdk.MessageNewParams {
	p := sdk.MessageNewParams{Model: sdk.Model(req.Model), MaxTokens: int64(c.o.MaxTokens)}
	if req.MaxTokens > 0 {
		p.MaxTokens = int64(req.MaxTokens)
	}
	var system []string
	type turn struct {
		role string
		text []string
	}
	var turns []turn
	for _, m := range req.Messages {
		switch m.Role {
		case "system":
			system = append(system, m.Content)
			continue
		case "assistant":
		default:
			m.Role = "user"
		}
		if len(turns) > 0 && turns[len(turns)-1].role == m.Role {
			turns[len(turns)-1].text = append(turns[len(turns)-1].text, m.Content)
			continue
		}
		turns = append(turns, turn{role: m.Role, text: []string{m.Content}})
	}
	if len(turns) > 0 && turns[0].role == "assistant" {
		turns = append([]turn{{role: "user", text: []string{"(conversation continues)"}}}, turns...)
	}
	if len(system) > 0 {
		p.System = []sdk.TextBlockParam{{Text: strings.Join(system, "\n\n")}}
	}
	for _, t := range turns {
		block := sdk.NewTextBlock(strings.Join(t.text, "\n\n"))
		if t.role == "assistant" {
			p.Messages = append(p.Messages, sdk.NewAssistantMessage(block))
		} else {
			p.Messages = append(p.Messages, sdk.NewUserMessage(block))
		}
	}
	return p
}

// usage counts every input token (uncached, cache reads, cache writes) as
// input; cache reads are also reported as cached.
func usage(u sdk.Usage) providers.Usage {
	return providers.Usage{
		InputTokens:       int(u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens),
		CachedInputTokens: int(u.CacheReadInputTokens),
		OutputTokens:      int(u.OutputTokens),
	}
}

// Chat generates a whole answer.
func (c *Client) Chat(ctx context.Context, req providers.ChatRequest) (providers.ChatResponse, error) {
	msg, err := c.c.Messages.New(ctx, c.params(req))
	if err != nil {
		return providers.ChatResponse{}, c.classify(req.Model, err)
	}
	var text strings.Builder
	for _, b := range msg.Content {
		if b.Type == "text" {
			text.WriteString(b.Text)
		}
	}
	return providers.ChatResponse{Text: text.String(), Usage: usage(msg.Usage)}, nil
}

// ChatStream streams text deltas; pings are skipped, an error event after
// HTTP 200 is an error, and a stream that ends before message_stop was cut.
func (c *Client) ChatStream(ctx context.Context, req providers.ChatRequest, onDelta func(string) error) (providers.ChatResponse, error) {
	stream := c.c.Messages.NewStreaming(ctx, c.params(req))
	defer stream.Close()
	var acc sdk.Message
	var text strings.Builder
	stopped := false
	for stream.Next() {
		ev := stream.Current()
		if err := acc.Accumulate(ev); err != nil {
			return providers.ChatResponse{Text: text.String()}, &providers.Error{Provider: Name, Model: req.Model, Kind: providers.KindBadResponse, Err: err}
		}
		switch ev.Type {
		case "content_block_delta":
			if ev.Delta.Type == "text_delta" && ev.Delta.Text != "" {
				text.WriteString(ev.Delta.Text)
				if err := onDelta(ev.Delta.Text); err != nil {
					return providers.ChatResponse{Text: text.String()}, err
				}
			}
		case "message_stop":
			stopped = true
		}
	}
	if err := stream.Err(); err != nil {
		return providers.ChatResponse{Text: text.String()}, c.classify(req.Model, err)
	}
	if !stopped {
		return providers.ChatResponse{Text: text.String()}, &providers.Error{Provider: Name, Model: req.Model,
			Kind: providers.KindUnavailable, Err: errors.New("the stream ended before message_stop")}
	}
	return providers.ChatResponse{Text: text.String(), Usage: usage(acc.Usage)}, nil
}

// Ping lists models (free) to check the key.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.c.Models.List(ctx, sdk.ModelListParams{})
	if err != nil {
		return c.classify("", err)
	}
	return nil
}

var kinds = map[string]providers.Kind{
	"overloaded_error":      providers.KindUnavailable, // 529: load across all users
	"rate_limit_error":      providers.KindRateLimited, // 429: this account's limits
	"api_error":             providers.KindUnavailable,
	"timeout_error":         providers.KindTimeout,
	"authentication_error":  providers.KindAuth,
	"permission_error":      providers.KindAuth,
	"billing_error":         providers.KindQuota,
	"not_found_error":       providers.KindNotFound,
	"invalid_request_error": providers.KindBadRequest,
	"request_too_large":     providers.KindBadRequest,
}

func (c *Client) classify(model string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	pe := &providers.Error{Provider: Name, Model: model, Err: err}
	var ae *sdk.Error
	var netErr net.Error
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &ae):
		pe.Status = ae.StatusCode
		pe.Kind = providers.KindForStatus(ae.StatusCode)
		if k, ok := kinds[string(ae.Type())]; ok {
			pe.Kind = k
		}
		if ae.Response != nil {
			pe.RetryAfter = providers.RetryAfter(ae.Response.Header, time.Now())
		}
		if ae.StatusCode == http.StatusTooManyRequests && strings.Contains(ae.Error(), "enforced_spend_limit_reached") {
			pe.Kind = providers.KindQuota
		}
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		pe.Kind = providers.KindTimeout
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &syntaxErr):
		pe.Kind = providers.KindBadResponse
	case errors.As(err, &netErr):
		pe.Kind = providers.KindUnavailable
	case strings.Contains(err.Error(), "overloaded_error"):
		pe.Kind = providers.KindUnavailable // an error event inside a 200 stream
	default:
		pe.Kind = providers.KindBadResponse
		pe.Err = fmt.Errorf("unreadable answer: %w", err)
	}
	return pe
}

var (
	_ providers.ChatModel = (*Client)(nil)
	_ providers.Streamer  = (*Client)(nil)
)
