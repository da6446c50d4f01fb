// Package openai speaks the OpenAI wire protocol through go-openai: chat
// (whole, and streamed with include_usage), embeddings and the model list.
// The same client serves every OpenAI-compatible server — OpenAI itself,
// Ollama, vLLM, LM Studio, llama.cpp — under the provider name it is given.
// go-openai makes no retries: the router owns them.
package openai

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

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/penny-dev/penny/providers"
)

// Options configure a Client.
type Options struct {
	// Name is the provider name (catalog and ledger): "openai", "ollama", …
	Name    string
	BaseURL string
	// APIKey may be empty for local servers (no Authorization header).
	APIKey string
	// HTTPClient carries the timeout. Default: 60s timeout.
	HTTPClient *http.Client
	// ClassifyBody maps an error body that is not OpenAI-shaped (such as
	// Cloudflare's envelope) to a kind; ok=false falls back to the status.
	ClassifyBody func(status int, body []byte) (providers.Kind, bool)
	// EmbedBatch is the most inputs per embeddings call. Default 256.
	EmbedBatch int
}

// Client is an OpenAI-protocol provider. Safe for concurrent use.
type Client struct {
	opts Options
	c    *goopenai.Client
}

// New returns a client for o.
func New(o Options) *Client {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if o.EmbedBatch == 0 {
		o.EmbedBatch = 256
	}
	hc := *o.HTTPClient
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = headerCapture{base: base}
	cfg := goopenai.DefaultConfig(o.APIKey)
	cfg.BaseURL = strings.TrimRight(o.BaseURL, "/")
	cfg.HTTPClient = &hc
	return &Client{opts: o, c: goopenai.NewClientWithConfig(cfg)}
}

// Name is the provider name.
func (c *Client) Name() string { return c.opts.Name }

// headerCapture keeps the headers of the last response of a call, so that
// Retry-After can be honoured (go-openai's errors do not carry headers).
type headerCapture struct{ base http.RoundTripper }

type headersKey struct{}

func (t headerCapture) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil {
		if h, ok := r.Context().Value(headersKey{}).(*http.Header); ok {
			*h = resp.Header.Clone()
		}
	}
	return resp, err
}

func withHeaders(ctx context.Context) (context.Context, *http.Header) {
	h := new(http.Header)
	return context.WithValue(ctx, headersKey{}, h), h
}

func messages(msgs []providers.Message) ([]goopenai.ChatCompletionMessage, error) {
	out := make([]goopenai.ChatCompletionMessage, len(msgs))
	for i, m := range msgs {
		out[i] = goopenai.ChatCompletionMessage{Role: m.Role, Content: m.Content, ToolCallID: m.ToolCallID}
		if len(m.ToolCalls) > 0 {
			if err := json.Unmarshal(m.ToolCalls, &out[i].ToolCalls); err != nil {
				return nil, fmt.Errorf("tool_calls: %w", err)
			}
		}
	}
	return out, nil
}

// SupportsTools: the OpenAI protocol passes tools through.
func (c *Client) SupportsTools() bool { return true }

func usage(u goopenai.Usage) providers.Usage {
	out := providers.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
	if u.PromptTokensDetails != nil {
		out.CachedInputTokens = u.PromptTokensDetails.CachedTokens
	}
	if u.CompletionTokensDetails != nil {
		out.ReasoningTokens = u.CompletionTokensDetails.ReasoningTokens
	}
	return out
}

func (c *Client) request(req providers.ChatRequest) (goopenai.ChatCompletionRequest, error) {
	msgs, err := messages(req.Messages)
	if err != nil {
		return goopenai.ChatCompletionRequest{}, &providers.Error{Provider: c.opts.Name, Model: req.Model, Kind: providers.KindBadRequest, Err: err}
	}
	r := goopenai.ChatCompletionRequest{Model: req.Model, Messages: msgs}
	if req.MaxTokens > 0 {
		r.MaxCompletionTokens = req.MaxTokens
	}
	if req.HasTools() {
		if err := json.Unmarshal(req.Tools, &r.Tools); err != nil {
			return r, &providers.Error{Provider: c.opts.Name, Model: req.Model, Kind: providers.KindBadRequest, Err: fmt.Errorf("tools: %w", err)}
		}
		if len(req.ToolChoice) > 0 {
			var choice any
			if err := json.Unmarshal(req.ToolChoice, &choice); err != nil {
				return r, &providers.Error{Provider: c.opts.Name, Model: req.Model, Kind: providers.KindBadRequest, Err: fmt.Errorf("tool_choice: %w", err)}
			}
			r.ToolChoice = choice
		}
	}
	return r, nil
}

// Chat generates a whole answer.
func (c *Client) Chat(ctx context.Context, req providers.ChatRequest) (providers.ChatResponse, error) {
	ctx, hdr := withHeaders(ctx)
	r, err := c.request(req)
	if err != nil {
		return providers.ChatResponse{}, err
	}
	resp, err := c.c.CreateChatCompletion(ctx, r)
	if err != nil {
		return providers.ChatResponse{}, c.classify(req.Model, err, *hdr)
	}
	if len(resp.Choices) == 0 {
		return providers.ChatResponse{}, &providers.Error{Provider: c.opts.Name, Model: req.Model, Kind: providers.KindBadResponse, Err: errors.New("no choices in the answer")}
	}
	out := providers.ChatResponse{Text: resp.Choices[0].Message.Content, Usage: usage(resp.Usage)}
	if calls := resp.Choices[0].Message.ToolCalls; len(calls) > 0 {
		if out.ToolCalls, err = json.Marshal(calls); err != nil {
			return providers.ChatResponse{}, err
		}
	}
	if resp.Usage.TotalTokens == 0 {
		out.Usage = estimate(req, out.Text)
	}
	return out, nil
}

// ChatStream streams the answer, asking for the final usage chunk. A
// stream that ends without a finish reason was cut and is an error. A
// request with tools is answered whole (tool calls arrive in pieces that
// only make sense together) and its text delivered at once.
func (c *Client) ChatStream(ctx context.Context, req providers.ChatRequest, onDelta func(string) error) (providers.ChatResponse, error) {
	if req.HasTools() {
		resp, err := c.Chat(ctx, req)
		if err == nil && resp.Text != "" {
			err = onDelta(resp.Text)
		}
		return resp, err
	}
	ctx, hdr := withHeaders(ctx)
	r, err := c.request(req)
	if err != nil {
		return providers.ChatResponse{}, err
	}
	r.Stream = true
	r.StreamOptions = &goopenai.StreamOptions{IncludeUsage: true}
	stream, err := c.c.CreateChatCompletionStream(ctx, r)
	if err != nil {
		return providers.ChatResponse{}, c.classify(req.Model, err, *hdr)
	}
	defer stream.Close()
	var text strings.Builder
	var u *goopenai.Usage
	finished := false
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return providers.ChatResponse{Text: text.String()}, c.classify(req.Model, err, *hdr)
		}
		if chunk.Usage != nil {
			u = chunk.Usage
		}
		if len(chunk.Choices) == 0 {
			continue
		}
		if d := chunk.Choices[0].Delta.Content; d != "" {
			text.WriteString(d)
			if err := onDelta(d); err != nil {
				return providers.ChatResponse{Text: text.String()}, err
			}
		}
		if chunk.Choices[0].FinishReason != "" {
			finished = true
		}
	}
	if !finished {
		return providers.ChatResponse{Text: text.String()}, &providers.Error{Provider: c.opts.Name, Model: req.Model,
			Kind: providers.KindUnavailable, Err: errors.New("the stream ended before the answer finished")}
	}
	out := providers.ChatResponse{Text: text.String()}
	if u != nil {
		out.Usage = usage(*u)
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

// Embed embeds texts in batches of EmbedBatch.
func (c *Client) Embed(ctx context.Context, req providers.EmbedRequest) (providers.EmbedResponse, error) {
	var out providers.EmbedResponse
	for start := 0; start < len(req.Texts); start += c.opts.EmbedBatch {
		batch := req.Texts[start:min(start+c.opts.EmbedBatch, len(req.Texts))]
		bctx, hdr := withHeaders(ctx)
		resp, err := c.c.CreateEmbeddings(bctx, goopenai.EmbeddingRequestStrings{Input: batch, Model: goopenai.EmbeddingModel(req.Model)})
		if err != nil {
			return providers.EmbedResponse{}, c.classify(req.Model, err, *hdr)
		}
		if len(resp.Data) != len(batch) {
			return providers.EmbedResponse{}, &providers.Error{Provider: c.opts.Name, Model: req.Model, Kind: providers.KindBadResponse,
				Err: fmt.Errorf("%d vectors for %d texts", len(resp.Data), len(batch))}
		}
		vecs := make([][]float32, len(batch))
		for _, d := range resp.Data {
			if d.Index < 0 || d.Index >= len(batch) {
				return providers.EmbedResponse{}, &providers.Error{Provider: c.opts.Name, Model: req.Model, Kind: providers.KindBadResponse, Err: fmt.Errorf("embedding index %d out of range", d.Index)}
			}
			vecs[d.Index] = d.Embedding
		}
		out.Vectors = append(out.Vectors, vecs...)
		if resp.Usage.PromptTokens > 0 {
			out.Usage.InputTokens += resp.Usage.PromptTokens
		} else {
			for _, t := range batch {
				out.Usage.InputTokens += providers.EstimateTokens(t)
			}
			out.Usage.Estimated = true
		}
	}
	return out, nil
}

// Models lists the model ids the server offers.
func (c *Client) Models(ctx context.Context) ([]string, error) {
	ctx, hdr := withHeaders(ctx)
	list, err := c.c.ListModels(ctx)
	if err != nil {
		return nil, c.classify("", err, *hdr)
	}
	ids := make([]string, len(list.Models))
	for i, m := range list.Models {
		ids[i] = m.ID
	}
	return ids, nil
}

// Ping checks that the server answers (listing models costs nothing).
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.Models(ctx)
	return err
}

// classify turns go-openai's errors into providers.Error: APIError for
// OpenAI-shaped bodies (insufficient_quota is not retried, rate limits
// are), RequestError for anything else, transport errors by kind.
func (c *Client) classify(model string, err error, hdr http.Header) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	pe := &providers.Error{Provider: c.opts.Name, Model: model, Err: err, RetryAfter: providers.RetryAfter(hdr, time.Now())}
	var apiErr *goopenai.APIError
	var reqErr *goopenai.RequestError
	var netErr net.Error
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &apiErr):
		pe.Status = apiErr.HTTPStatusCode
		code := fmt.Sprint(apiErr.Code)
		switch {
		case code == "insufficient_quota":
			pe.Kind = providers.KindQuota
		case code == "rate_limit_exceeded":
			pe.Kind = providers.KindRateLimited
		case apiErr.HTTPStatusCode == 0: // an error event inside a 200 stream
			pe.Kind = providers.KindUnavailable
		default:
			pe.Kind = providers.KindForStatus(apiErr.HTTPStatusCode)
		}
	case errors.As(err, &reqErr):
		pe.Status = reqErr.HTTPStatusCode
		pe.Kind = providers.KindForStatus(reqErr.HTTPStatusCode)
		if c.opts.ClassifyBody != nil {
			if k, ok := c.opts.ClassifyBody(reqErr.HTTPStatusCode, reqErr.Body); ok {
				pe.Kind = k
			}
		}
		if reqErr.HTTPStatusCode >= 200 && reqErr.HTTPStatusCode < 300 {
			pe.Kind = providers.KindBadResponse
		}
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		pe.Kind = providers.KindTimeout
	case errors.Is(err, io.ErrUnexpectedEOF):
		pe.Kind = providers.KindBadResponse // a body cut short: unreadable
	case errors.As(err, &netErr) || strings.Contains(err.Error(), "connection reset"):
		pe.Kind = providers.KindUnavailable
	case errors.As(err, &syntaxErr):
		pe.Kind = providers.KindBadResponse
	default:
		pe.Kind = providers.KindBadResponse
	}
	return pe
}

var (
	_ providers.ChatModel  = (*Client)(nil)
	_ providers.Streamer   = (*Client)(nil)
	_ providers.Embedder   = (*Client)(nil)
	_ providers.ToolCaller = (*Client)(nil)
)
