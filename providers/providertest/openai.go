package providertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/penny-dev/penny/providers"
)

// OpenAI is a fake OpenAI API (/v1/chat/completions, /v1/embeddings,
// /v1/models). With Ollama set it behaves as Ollama's OpenAI-compatible
// endpoint instead: no key needed, no rate-limit headers, Ollama's error
// wording, and the native /api/tags and /api/version for detection.
type OpenAI struct {
	server
	// Key is the API key required as a Bearer token (empty: any).
	Key string
	// ChatModels and EmbedModels (id → dimensions) are what it serves.
	ChatModels  []string
	EmbedModels map[string]int
	Ollama      bool
}

// NewOpenAI starts a fake OpenAI that requires key.
func NewOpenAI(key string) *OpenAI {
	f := &OpenAI{Key: key,
		ChatModels:  []string{"gpt-4o-mini", "gpt-4.1-mini", "gpt-4.1", "gpt-4o"},
		EmbedModels: map[string]int{"text-embedding-3-small": 1536, "text-embedding-3-large": 3072}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// NewOllama starts a fake Ollama server serving the given models.
func NewOllama(chatModels ...string) *OpenAI {
	f := &OpenAI{Ollama: true, ChatModels: chatModels, EmbedModels: map[string]int{"nomic-embed-text": 768}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// BaseURL is what a client is configured with (…/v1).
func (f *OpenAI) BaseURL() string { return f.URL + "/v1" }

func (f *OpenAI) fail(w http.ResponseWriter, status int, typ, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var c any
	if code != "" {
		c = code
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": c}})
}

func (f *OpenAI) rateHeaders(w http.ResponseWriter) {
	if f.Ollama {
		return
	}
	h := w.Header()
	h.Set("x-ratelimit-limit-requests", "10000")
	h.Set("x-ratelimit-remaining-requests", "9999")
	h.Set("x-ratelimit-reset-requests", "6ms")
	h.Set("x-ratelimit-limit-tokens", "1000000")
	h.Set("x-ratelimit-remaining-tokens", "999000")
	h.Set("x-ratelimit-reset-tokens", "1s")
}

func (f *OpenAI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if f.Ollama {
		switch r.URL.Path {
		case "/api/version":
			_ = json.NewEncoder(w).Encode(map[string]string{"version": "0.33.0"})
			return
		case "/api/tags":
			var models []map[string]any
			for _, m := range append(append([]string{}, f.ChatModels...), keys(f.EmbedModels)...) {
				models = append(models, map[string]any{"name": m, "model": m, "size": 2019393189})
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"models": models})
			return
		}
	}
	fault := f.next(r, body)
	if f.Key != "" && r.Header.Get("Authorization") != "Bearer "+f.Key {
		f.fail(w, 401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
		return
	}
	f.rateHeaders(w)
	if apply(w, r, fault) {
		return
	}
	switch {
	case r.Method == "GET" && r.URL.Path == "/v1/models":
		w.Header().Set("Content-Type", "application/json")
		var data []map[string]any
		for _, m := range append(append([]string{}, f.ChatModels...), keys(f.EmbedModels)...) {
			data = append(data, map[string]any{"id": m, "object": "model", "created": 1700000000, "owned_by": "penny-fake"})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data})
	case r.Method == "POST" && r.URL.Path == "/v1/chat/completions":
		f.chat(w, r, body, fault)
	case r.Method == "POST" && r.URL.Path == "/v1/embeddings":
		f.embed(w, body)
	default:
		f.fail(w, 404, "invalid_request_error", "unknown_url", "Unknown request URL: "+r.Method+" "+r.URL.Path)
	}
}

func (f *OpenAI) notFound(w http.ResponseWriter, model string) {
	if f.Ollama {
		f.fail(w, 404, "not_found_error", "", fmt.Sprintf("model '%s' not found", model))
		return
	}
	f.fail(w, 404, "invalid_request_error", "model_not_found", fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model))
}

func (f *OpenAI) chat(w http.ResponseWriter, r *http.Request, body []byte, fault *Fault) {
	var req struct {
		Model    string              `json:"model"`
		Messages []providers.Message `json:"messages"`
		Tools    []struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		} `json:"tools"`
		Stream        bool `json:"stream"`
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Messages) == 0 {
		f.fail(w, 400, "invalid_request_error", "", "We could not parse the JSON body of your request.")
		return
	}
	if !contains(f.ChatModels, req.Model) {
		f.notFound(w, req.Model)
		return
	}
	reply := Reply(req.Model, req.Messages)
	in, out := usageOf(req.Messages, reply)
	usage := map[string]any{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out,
		"prompt_tokens_details": map[string]int{"cached_tokens": 0}, "completion_tokens_details": map[string]int{"reasoning_tokens": 0}}
	id, created := fmt.Sprintf("chatcmpl-%d", time.Now().UnixNano()), time.Now().Unix()
	last := req.Messages[len(req.Messages)-1]
	if len(req.Tools) > 0 && !req.Stream {
		// Tools offered: call the first one; once its result is back, use it.
		msg := map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{"id": "call_fake1", "type": "function",
			"function": map[string]any{"name": req.Tools[0].Function.Name, "arguments": `{"city":"Paris"}`}}}}
		finish := "tool_calls"
		if last.Role == "tool" {
			msg, finish = map[string]any{"role": "assistant", "content": "The tool said: " + last.Content}, "stop"
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "object": "chat.completion", "created": created, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}}, "usage": usage})
		return
	}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "object": "chat.completion", "created": created, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": reply}, "finish_reason": "stop", "logprobs": nil}},
			"usage":   usage, "system_fingerprint": "fp_fake"})
		return
	}
	s := newStream(w, r, fault)
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}, "usage": nil}
	}
	s.data(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	for _, tok := range words(reply) {
		if !s.token(func() {
			s.data(map[string]any{"error": map[string]any{"message": "The server had an error while processing your request.", "type": "server_error", "param": nil, "code": nil}})
		}) {
			return
		}
		s.data(chunk(map[string]any{"content": tok}, nil))
	}
	s.data(chunk(map[string]any{}, "stop"))
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		s.data(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model, "choices": []any{}, "usage": usage})
	}
	s.raw("data: [DONE]\n\n")
}

func (f *OpenAI) embed(w http.ResponseWriter, body []byte) {
	var req struct {
		Model string          `json:"model"`
		Input json.RawMessage `json:"input"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		f.fail(w, 400, "invalid_request_error", "", "We could not parse the JSON body of your request.")
		return
	}
	dim, ok := f.EmbedModels[req.Model]
	if !ok {
		f.notFound(w, req.Model)
		return
	}
	var inputs []string
	if err := json.Unmarshal(req.Input, &inputs); err != nil {
		var one string
		if err := json.Unmarshal(req.Input, &one); err != nil {
			f.fail(w, 400, "invalid_request_error", "", "'input' must be a string or an array of strings")
			return
		}
		inputs = []string{one}
	}
	if len(inputs) > 2048 {
		f.fail(w, 400, "invalid_request_error", "", "'input' must have at most 2048 items")
		return
	}
	data := make([]any, len(inputs))
	tokens := 0
	for i, in := range inputs {
		if strings.TrimSpace(in) == "" {
			f.fail(w, 400, "invalid_request_error", "", "'$.input' is invalid: empty strings are not allowed")
			return
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": Vector(in, dim)}
		tokens += providers.EstimateTokens(in)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": req.Model,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens}})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
