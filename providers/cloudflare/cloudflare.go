// Package cloudflare speaks Workers AI's native REST API
// (/accounts/{id}/ai/run/{model}) for embeddings (bge, at most 100 texts a
// call) and text generation (whole, and SSE streaming with the final usage
// event), and maps the v4 envelope's error codes to penny's error kinds.
// The OpenAI-compatible /ai/v1 endpoints are reached with providers/openai
// and ClassifyBody from this package.
package cloudflare

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/penny-dev/penny/providers"
)

// Name is the provider name.
const Name = "cloudflare"

// DefaultBaseURL is the v4 API.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// Options configure a Client.
type Options struct {
	BaseURL   string
	AccountID string
	Token     string
	// HTTPClient carries the timeout. Default: 60s timeout.
	HTTPClient *http.Client
	// MaxTokens is sent when a request sets none (Workers AI's own default
	// is 256, too short for most answers). Default 1024.
	MaxTokens int
	// OnDailyLimit is called when Cloudflare says the daily free
	// allocation is spent (code 3036).
	OnDailyLimit func()
	Now          func() time.Time
}

// Client is the Workers AI provider. Safe for concurrent use.
type Client struct{ o Options }

// New returns a client.
func New(o Options) *Client {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if o.MaxTokens == 0 {
		o.MaxTokens = 1024
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Client{o: o}
}

// OpenAIBaseURL is the base of the OpenAI-compatible endpoints.
func (c *Client) OpenAIBaseURL() string { return c.o.BaseURL + "/accounts/" + c.o.AccountID + "/ai/v1" }

type envelope struct {
	Result   json.RawMessage `json:"result"`
	Success  bool            `json:"success"`
	Errors   []apiError      `json:"errors"`
	Messages []any           `json:"messages"`
}

type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// KindForCode maps Workers AI's internal error codes to error kinds.
func KindForCode(code int) (providers.Kind, bool) {
	switch code {
	case 10000, 5018, 3041, 5016, 3023, 5035:
		return providers.KindAuth, true
	case 5007, 3042:
		return providers.KindNotFound, true
	case 3036:
		return providers.KindQuota, true // daily free allocation: until 00:00 UTC
	case 3040:
		return providers.KindRateLimited, true // out of capacity: back off
	case 3007, 3008:
		return providers.KindTimeout, true
	case 3003, 3006, 5004, 5006:
		return providers.KindBadRequest, true
	}
	return "", false
}

// ClassifyBody reads a v4 envelope error body (for providers/openai on /ai/v1).
func ClassifyBody(status int, body []byte) (providers.Kind, bool) {
	var env envelope
	if json.Unmarshal(body, &env) != nil || len(env.Errors) == 0 {
		return "", false
	}
	return KindForCode(env.Errors[0].Code)
}

func (c *Client) fail(model string, status int, h http.Header, body []byte) error {
	pe := &providers.Error{Provider: Name, Model: model, Status: status, Kind: providers.KindForStatus(status),
		RetryAfter: providers.RetryAfter(h, c.o.Now())}
	var env envelope
	if json.Unmarshal(body, &env) == nil && len(env.Errors) > 0 {
		e := env.Errors[0]
		pe.Err = fmt.Errorf("code %d: %s", e.Code, e.Message)
		if k, ok := KindForCode(e.Code); ok {
			pe.Kind = k
		}
		if e.Code == 3036 {
			pe.RetryAfter = max(pe.RetryAfter, providers.UntilNextUTCMidnight(c.o.Now()))
			if c.o.OnDailyLimit != nil {
				c.o.OnDailyLimit()
			}
		}
	} else {
		pe.Err = fmt.Errorf("HTTP %d: %.200s", status, body)
	}
	return pe
}

// run POSTs body to the model and returns the response (2xx only).
func (c *Client) run(ctx context.Context, model string, body any) (*http.Response, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	url := c.o.BaseURL + "/accounts/" + c.o.AccountID + "/ai/run/" + model
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.o.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.o.HTTPClient.Do(req)
	if err != nil {
		return nil, providers.TransportError(Name, model, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, c.fail(model, resp.StatusCode, resp.Header, b)
	}
	return resp, nil
}

// result decodes a successful envelope's result into v.
func (c *Client) result(model string, resp *http.Response, v any) error {
	defer resp.Body.Close()
	var env envelope
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return badResponse(model, fmt.Errorf("unreadable envelope: %w", err))
	}
	if !env.Success {
		b, _ := json.Marshal(env)
		return c.fail(model, resp.StatusCode, resp.Header, b)
	}
	if err := json.Unmarshal(env.Result, v); err != nil {
		return badResponse(model, fmt.Errorf("unreadable result: %w", err))
	}
	return nil
}

func badResponse(model string, err error) error {
	return &providers.Error{Provider: Name, Model: model, Kind: providers.KindBadResponse, Err: err}
}

// BatchSize is the most texts Workers AI embeds in one call.
const BatchSize = 100

// Embed embeds texts in batches of at most 100. Workers AI reports no
// token usage for embeddings: penny counts and marks it estimated.
func (c *Client) Embed(ctx context.Context, req providers.EmbedRequest) (providers.EmbedResponse, error) {
	out := providers.EmbedResponse{Usage: providers.Usage{Estimated: true}}
	for start := 0; start < len(req.Texts); start += BatchSize {
		batch := append([]string(nil), req.Texts[start:min(start+BatchSize, len(req.Texts))]...)
		for i, t := range batch {
			if t == "" {
				batch[i] = " " // Workers AI rejects empty strings
			}
		}
		resp, err := c.run(ctx, req.Model, map[string]any{"text": batch})
		if err != nil {
			return providers.EmbedResponse{}, err
		}
		var r struct {
			Shape []int       `json:"shape"`
			Data  [][]float32 `json:"data"`
		}
		if err := c.result(req.Model, resp, &r); err != nil {
			return providers.EmbedResponse{}, err
		}
		if len(r.Data) != len(batch) {
			return providers.EmbedResponse{}, badResponse(req.Model, fmt.Errorf("%d vectors for %d texts", len(r.Data), len(batch)))
		}
		out.Vectors = append(out.Vectors, r.Data...)
		for _, t := range batch {
			out.Usage.InputTokens += providers.EstimateTokens(t)
		}
	}
	return out, nil
}

type usage struct {
	PromptTokens        int     `json:"prompt_tokens"`
	CompletionTokens    int     `json:"completion_tokens"`
	Neurons             float64 `json:"neurons"`
	PromptTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

func (u *usage) usage() providers.Usage {
	out := providers.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens, Neurons: u.Neurons}
	if u.PromptTokensDetails != nil {
		out.CachedInputTokens = u.PromptTokensDetails.CachedTokens
	}
	return out
}

func (c *Client) body(req providers.ChatRequest, stream bool) map[string]any {
	maxTokens := req.MaxTokens
	if maxTokens == 0 {
		maxTokens = c.o.MaxTokens
	}
	return map[string]any{"messages": req.Messages, "max_tokens": maxTokens, "stream": stream}
}

// Chat generates a whole answer. Older models answer {response}, newer
// ones a chat.completion object; both are read.
func (c *Client) Chat(ctx context.Context, req providers.ChatRequest) (providers.ChatResponse, error) {
	resp, err := c.run(ctx, req.Model, c.body(req, false))
	if err != nil {
		return providers.ChatResponse{}, err
	}
	var r struct {
		Response *string `json:"response"`
		Choices  []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
		Usage *usage `json:"usage"`
	}
	if err := c.result(req.Model, resp, &r); err != nil {
		return providers.ChatResponse{}, err
	}
	var out providers.ChatResponse
	switch {
	case r.Response != nil:
		out.Text = *r.Response
	case len(r.Choices) > 0:
		out.Text = r.Choices[0].Message.Content
	default:
		return out, badResponse(req.Model, errors.New("no response in the result"))
	}
	if r.Usage != nil {
		out.Usage = r.Usage.usage()
	} else {
		out.Usage = estimate(req, out.Text)
	}
	return out, nil
}

func estimate(req providers.ChatRequest, answer string) providers.Usage {
	u := providers.Usage{OutputTokens: providers.EstimateTokens(answer), Estimated: true}
	for _, m := range req.Messages {
		u.InputTokens += providers.EstimateTokens(m.Content)
	}
	return u
}

// streamEvent is one SSE data payload: the native {response, usage} form,
// or the OpenAI chunk form newer models use, or an error.
type streamEvent struct {
	Response *string `json:"response"`
	Choices  []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
	} `json:"choices"`
	Usage  *usage     `json:"usage"`
	Errors []apiError `json:"errors"`
}

// ChatStream streams the answer. Usage: the final native event carries
// the cumulative total and wins; per-chunk usage of the OpenAI form is
// incremental and only summed when no total arrives (never both). A
// stream without [DONE] was cut and is an error.
func (c *Client) ChatStream(ctx context.Context, req providers.ChatRequest, onDelta func(string) error) (providers.ChatResponse, error) {
	resp, err := c.run(ctx, req.Model, c.body(req, true))
	if err != nil {
		return providers.ChatResponse{}, err
	}
	defer resp.Body.Close()
	var text strings.Builder
	var total *usage
	var sum usage
	done := false
	rd := bufio.NewReader(resp.Body)
	for !done {
		line, err := rd.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) && strings.TrimSpace(line) == "" {
				break
			}
			if ctx.Err() != nil {
				return providers.ChatResponse{Text: text.String()}, ctx.Err()
			}
			return providers.ChatResponse{Text: text.String()}, providers.TransportError(Name, req.Model, err)
		}
		data, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "data:")
		if !ok {
			continue // blank lines, comments, event names
		}
		data = strings.TrimSpace(data)
		if data == "[DONE]" {
			done = true
			break
		}
		var ev streamEvent
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return providers.ChatResponse{Text: text.String()}, badResponse(req.Model, fmt.Errorf("unreadable event: %w", err))
		}
		if len(ev.Errors) > 0 {
			b, _ := json.Marshal(envelope{Errors: ev.Errors})
			return providers.ChatResponse{Text: text.String()}, c.fail(req.Model, http.StatusOK, nil, b)
		}
		piece := ""
		switch {
		case ev.Response != nil:
			piece = *ev.Response
			if ev.Usage != nil {
				total = ev.Usage
			}
		case len(ev.Choices) > 0:
			piece = ev.Choices[0].Delta.Content
			if ev.Usage != nil {
				sum.PromptTokens += ev.Usage.PromptTokens
				sum.CompletionTokens += ev.Usage.CompletionTokens
				sum.Neurons += ev.Usage.Neurons
			}
		}
		if piece != "" {
			text.WriteString(piece)
			if err := onDelta(piece); err != nil {
				return providers.ChatResponse{Text: text.String()}, err
			}
		}
	}
	if !done {
		return providers.ChatResponse{Text: text.String()}, &providers.Error{Provider: Name, Model: req.Model,
			Kind: providers.KindUnavailable, Err: errors.New("the stream ended before [DONE]")}
	}
	out := providers.ChatResponse{Text: text.String()}
	switch {
	case total != nil:
		out.Usage = total.usage()
	case sum.PromptTokens+sum.CompletionTokens > 0:
		out.Usage = sum.usage()
	default:
		out.Usage = estimate(req, out.Text)
	}
	return out, nil
}

// Ping lists one model (free) to check the account and token.
func (c *Client) Ping(ctx context.Context) error {
	url := c.o.BaseURL + "/accounts/" + c.o.AccountID + "/ai/models/search?per_page=1"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.o.Token)
	resp, err := c.o.HTTPClient.Do(req)
	if err != nil {
		return providers.TransportError(Name, "", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return c.fail("", resp.StatusCode, resp.Header, b)
	}
	return nil
}

var (
	_ providers.ChatModel = (*Client)(nil)
	_ providers.Streamer  = (*Client)(nil)
	_ providers.Embedder  = (*Client)(nil)
)
