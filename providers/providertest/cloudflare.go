package providertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/penny-dev/penny/providers"
)

// Cloudflare is a fake Workers AI REST API: the native
// /client/v4/accounts/{id}/ai/run/{model} for embeddings and text
// generation, in the v4 envelope, and /ai/models/search.
type Cloudflare struct {
	server
	Account, Token string
	// EmbedModels maps model ids to dimensions; ChatModels are served;
	// NewStyle lists chat models that stream OpenAI-style chunks.
	EmbedModels map[string]int
	ChatModels  []string
	NewStyle    []string
}

// NewCloudflare starts a fake for one account and token.
func NewCloudflare(account, token string) *Cloudflare {
	f := &Cloudflare{Account: account, Token: token,
		EmbedModels: map[string]int{"@cf/baai/bge-small-en-v1.5": 384, "@cf/baai/bge-base-en-v1.5": 768, "@cf/baai/bge-large-en-v1.5": 1024, "@cf/baai/bge-m3": 1024},
		ChatModels: []string{"@cf/meta/llama-3.2-3b-instruct", "@cf/meta/llama-3.1-8b-instruct-fp8-fast",
			"@cf/google/gemma-4-26b-a4b-it", "@cf/meta/llama-3.3-70b-instruct-fp8-fast"},
		NewStyle: []string{"@cf/google/gemma-4-26b-a4b-it"}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// BaseURL is the API base a client is configured with.
func (f *Cloudflare) BaseURL() string { return f.URL + "/client/v4" }

// Envelope is a Cloudflare v4 error body with one error.
func Envelope(code int, msg string) string {
	raw, _ := json.Marshal(map[string]any{"result": nil, "success": false,
		"errors": []any{map[string]any{"code": code, "message": msg}}, "messages": []any{}})
	return string(raw)
}

func (f *Cloudflare) fail(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(Envelope(code, msg)))
}

func (f *Cloudflare) ok(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"result": result, "success": true, "errors": []any{}, "messages": []any{}})
}

func (f *Cloudflare) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	fault := f.next(r, body)
	prefix := "/client/v4/accounts/" + f.Account + "/ai/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		f.fail(w, 404, 7003, "Could not route to "+r.URL.Path+", perhaps your object identifier is invalid?")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.Token {
		f.fail(w, 401, 10000, "Authentication error")
		return
	}
	if apply(w, r, fault) {
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, prefix)
	switch {
	case r.Method == "GET" && rest == "models/search":
		var out []any
		for _, m := range append(append([]string{}, f.ChatModels...), keys(f.EmbedModels)...) {
			out = append(out, map[string]any{"name": m})
		}
		f.ok(w, out)
	case r.Method == "POST" && strings.HasPrefix(rest, "run/"):
		model := strings.TrimPrefix(rest, "run/")
		if dim, ok := f.EmbedModels[model]; ok {
			f.embed(w, body, dim)
			return
		}
		if contains(f.ChatModels, model) {
			f.generate(w, r, body, model, fault)
			return
		}
		f.fail(w, 400, 5007, fmt.Sprintf("No such model %s or task", model))
	default:
		f.fail(w, 405, 7001, "Method not allowed")
	}
}

func (f *Cloudflare) embed(w http.ResponseWriter, body []byte, dim int) {
	var req struct {
		Text json.RawMessage `json:"text"`
	}
	_ = json.Unmarshal(body, &req)
	var texts []string
	if err := json.Unmarshal(req.Text, &texts); err != nil {
		var one string
		if err := json.Unmarshal(req.Text, &one); err != nil {
			f.fail(w, 400, 5006, "Type mismatch of '/text', 'string' not in 'array'")
			return
		}
		texts = []string{one}
	}
	if len(texts) == 0 || len(texts) > 100 {
		f.fail(w, 400, 5006, "Error: /text must NOT have more than 100 items")
		return
	}
	data := make([][]float32, len(texts))
	for i, t := range texts {
		if t == "" {
			f.fail(w, 400, 5006, "Error: /text/"+fmt.Sprint(i)+" must NOT have fewer than 1 characters")
			return
		}
		data[i] = Vector(t, dim)
	}
	f.ok(w, map[string]any{"shape": []int{len(texts), dim}, "data": data, "pooling": "mean"})
}

func (f *Cloudflare) generate(w http.ResponseWriter, r *http.Request, body []byte, model string, fault *Fault) {
	var req struct {
		Messages  []providers.Message `json:"messages"`
		Stream    bool                `json:"stream"`
		MaxTokens int                 `json:"max_tokens"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Messages) == 0 {
		f.fail(w, 400, 5006, "Error: required properties at '/' are 'messages'")
		return
	}
	reply := Reply(model, req.Messages)
	in, out := usageOf(req.Messages, reply)
	usage := map[string]any{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out,
		"prompt_tokens_details": map[string]int{"cached_tokens": 0}}
	newStyle := contains(f.NewStyle, model)
	if !req.Stream {
		if newStyle {
			f.ok(w, map[string]any{"id": "chatcmpl-cf", "object": "chat.completion", "model": model,
				"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": reply}, "finish_reason": "stop"}}, "usage": usage})
			return
		}
		f.ok(w, map[string]any{"response": reply, "tool_calls": []any{}, "usage": usage})
		return
	}
	s := newStream(w, r, fault)
	for i, tok := range words(reply) {
		if !s.token(func() {
			s.data(map[string]any{"errors": []any{map[string]any{"code": 3040, "message": "Capacity temporarily exceeded"}}})
		}) {
			return
		}
		pad := strings.Repeat("x", 1+i%7)
		if newStyle {
			s.data(map[string]any{"object": "chat.completion.chunk", "p": pad,
				"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": tok, "reasoning_content": nil}, "finish_reason": nil}},
				"usage":   map[string]any{"prompt_tokens": 0, "completion_tokens": 1, "total_tokens": 1}})
		} else {
			s.data(map[string]any{"response": tok, "p": pad})
		}
	}
	if newStyle {
		s.data(map[string]any{"object": "chat.completion.chunk", "choices": []any{map[string]any{"index": 0, "delta": map[string]any{}, "finish_reason": "stop"}}})
		s.data(map[string]any{"object": "chat.completion.chunk", "choices": []any{}})
	}
	// The final, cumulative usage event comes before [DONE].
	s.data(map[string]any{"response": "", "usage": usage})
	s.raw("data: [DONE]\n\n")
}
