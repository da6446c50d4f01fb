// Package providers declares what penny needs from anything that runs a
// model: chat (whole or streamed) and embeddings, the usage a call reports,
// and the error kinds the router acts on. One subpackage per wire protocol
// implements them; providers/router chooses among them and books every
// call on the ledger.
package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Message is one turn of a conversation sent to a model.
type Message struct {
	Role    string `json:"role"` // system, user, assistant or tool
	Content string `json:"content"`
	// ToolCalls are an assistant turn's tool calls (OpenAI JSON shape);
	// ToolCallID answers one of them in a tool turn.
	ToolCalls  json.RawMessage `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
}

// Passage is one retrieved chunk given to a model as numbered context; an
// answer cites it as [N].
type Passage struct {
	N     int
	Title string
	Text  string
}

// ChatRequest is one generation request.
type ChatRequest struct {
	// Model is the provider's model id; the router fills it in.
	Model    string
	Messages []Message
	// Retrieval marks a question about the user's documents; Passages are
	// what retrieval found (possibly none). Generative providers get them
	// rendered into Messages by the caller; extractive ones read them here.
	Retrieval bool
	Passages  []Passage
	// MaxTokens caps the answer; 0 means the provider's default.
	MaxTokens int
	// Tools and ToolChoice are passed through as OpenAI JSON to providers
	// that can call tools (see ToolCaller).
	Tools      json.RawMessage
	ToolChoice json.RawMessage
}

// HasTools reports whether the request offers tools.
func (r ChatRequest) HasTools() bool { return len(r.Tools) > 0 && string(r.Tools) != "null" }

// Usage is what a call consumed, as the provider reported it. Estimated is
// set when the provider reported nothing and penny counted itself.
type Usage struct {
	InputTokens       int `json:"inputTokens"`
	OutputTokens      int `json:"outputTokens"`
	CachedInputTokens int `json:"cachedInputTokens,omitempty"`
	ReasoningTokens   int `json:"reasoningTokens,omitempty"`
	// Neurons is Cloudflare's billing unit, when the provider reports it.
	Neurons   float64 `json:"neurons,omitempty"`
	Estimated bool    `json:"estimated,omitempty"`
}

// ChatResponse is a finished generation.
type ChatResponse struct {
	Text  string
	Usage Usage
	// ToolCalls is set when the model asked to call tools (OpenAI JSON).
	ToolCalls json.RawMessage
}

// ToolCaller is the optional ability to pass tools through.
type ToolCaller interface {
	SupportsTools() bool
}

// ChatModel generates text. Implementations are safe for concurrent use.
type ChatModel interface {
	Chat(ctx context.Context, req ChatRequest) (ChatResponse, error)
}

// Streamer is the optional ability to stream: onDelta receives each piece
// of text as it arrives; an error it returns aborts the call.
type Streamer interface {
	ChatStream(ctx context.Context, req ChatRequest, onDelta func(string) error) (ChatResponse, error)
}

// EmbedRequest asks for one vector per text.
type EmbedRequest struct {
	Model string
	Texts []string
}

// EmbedResponse holds the vectors in the order of the texts.
type EmbedResponse struct {
	Vectors [][]float32
	Usage   Usage
}

// Embedder turns texts into vectors. Safe for concurrent use.
type Embedder interface {
	Embed(ctx context.Context, req EmbedRequest) (EmbedResponse, error)
}

// Kind classifies a provider failure by what the router should do with it.
type Kind string

// Error kinds.
const (
	KindUnavailable Kind = "unavailable"  // connection error, 5xx: try the next candidate
	KindTimeout     Kind = "timeout"      // no answer in time: next candidate
	KindRateLimited Kind = "rate_limited" // 429: next candidate, honour RetryAfter
	KindQuota       Kind = "quota"        // spend or free allocation exhausted: next candidate, not retried
	KindBadResponse Kind = "bad_response" // unreadable body: next candidate
	KindAuth        Kind = "auth"         // bad credentials: configuration problem
	KindNotFound    Kind = "not_found"    // unknown model
	KindBadRequest  Kind = "bad_request"  // the request itself is wrong: do not fail over
)

// Error is a classified provider failure.
type Error struct {
	Provider   string
	Model      string
	Kind       Kind
	Status     int
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: %s: %v", e.Provider, e.Model, e.Kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Failover reports whether another candidate may serve the request.
func (e *Error) Failover() bool { return e.Kind != KindBadRequest }

// KindOf returns the kind of err, KindUnavailable for unclassified errors
// and "" for nil.
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Kind
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return KindTimeout
	}
	return KindUnavailable
}

// EstimateTokens approximates a text's token count for providers that
// report none (about four bytes of English per token, at least one token
// for non-empty text).
func EstimateTokens(s string) int {
	if s == "" {
		return 0
	}
	return max(1, (utf8.RuneCountInString(s)+3)/4)
}
