package providertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/penny-dev/penny/providers"
)

// Anthropic is a fake Messages API (/v1/messages, /v1/models): x-api-key
// and anthropic-version checked, named SSE events with pings, error bodies
// {"type":"error","error":{type,message}} and in-stream error events.
type Anthropic struct {
	server
	Key    string
	Models []string
}

// NewAnthropic starts a fake that requires key.
func NewAnthropic(key string) *Anthropic {
	f := &Anthropic{Key: key, Models: []string{"claude-haiku-4-5", "claude-sonnet-5", "claude-sonnet-4-5"}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// ErrorBody is an Anthropic error body.
func ErrorBody(typ, msg string) string {
	raw, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]string{"type": typ, "message": msg}, "request_id": "req_fake"})
	return string(raw)
}

func (f *Anthropic) fail(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(ErrorBody(typ, msg)))
}

func (f *Anthropic) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	fault := f.next(r, body)
	w.Header().Set("request-id", fmt.Sprintf("req_%d", time.Now().UnixNano()))
	if r.Header.Get("x-api-key") != f.Key {
		f.fail(w, 401, "authentication_error", "invalid x-api-key")
		return
	}
	if r.Header.Get("anthropic-version") == "" {
		f.fail(w, 400, "invalid_request_error", "anthropic-version: header is required")
		return
	}
	if apply(w, r, fault) {
		return
	}
	switch {
	case r.Method == "GET" && r.URL.Path == "/v1/models":
		w.Header().Set("Content-Type", "application/json")
		var data []any
		for _, m := range f.Models {
			data = append(data, map[string]any{"type": "model", "id": m, "display_name": m, "created_at": "2026-01-01T00:00:00Z"})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"data": data, "has_more": false})
	case r.Method == "POST" && r.URL.Path == "/v1/messages":
		f.messages(w, r, body, fault)
	default:
		f.fail(w, 404, "not_found_error", "Not found")
	}
}

func (f *Anthropic) messages(w http.ResponseWriter, r *http.Request, body []byte, fault *Fault) {
	var req struct {
		Model     string          `json:"model"`
		MaxTokens int             `json:"max_tokens"`
		System    json.RawMessage `json:"system"`
		Messages  []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
		Stream bool `json:"stream"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		f.fail(w, 400, "invalid_request_error", "invalid JSON body")
		return
	}
	if req.MaxTokens <= 0 {
		f.fail(w, 400, "invalid_request_error", "max_tokens: Field required")
		return
	}
	if !contains(f.Models, req.Model) {
		f.fail(w, 404, "not_found_error", "model: "+req.Model)
		return
	}
	var msgs []providers.Message
	if len(req.System) > 0 {
		msgs = append(msgs, providers.Message{Role: "system", Content: textOf(req.System)})
	}
	for _, m := range req.Messages {
		msgs = append(msgs, providers.Message{Role: m.Role, Content: textOf(m.Content)})
	}
	reply := Reply(req.Model, msgs)
	in, out := usageOf(msgs, reply)
	id := fmt.Sprintf("msg_%d", time.Now().UnixNano())
	usage := map[string]any{"input_tokens": in, "output_tokens": out, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "type": "message", "role": "assistant", "model": req.Model,
			"content": []any{map[string]any{"type": "text", "text": reply}}, "stop_reason": "end_turn", "stop_sequence": nil, "usage": usage})
		return
	}
	s := newStream(w, r, fault)
	s.named("message_start", map[string]any{"type": "message_start", "message": map[string]any{"id": id, "type": "message", "role": "assistant",
		"model": req.Model, "content": []any{}, "stop_reason": nil, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": in, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}})
	s.named("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}})
	s.named("ping", map[string]any{"type": "ping"})
	for _, tok := range words(reply) {
		if !s.token(func() {
			s.named("error", map[string]any{"type": "error", "error": map[string]string{"type": "overloaded_error", "message": "Overloaded"}})
		}) {
			return
		}
		s.named("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": tok}})
	}
	s.named("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	s.named("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": "end_turn", "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": out}})
	s.named("message_stop", map[string]any{"type": "message_stop"})
}

// textOf reads a content field: a string or an array of text blocks.
func textOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var blocks []struct {
		Text string `json:"text"`
	}
	_ = json.Unmarshal(raw, &blocks)
	out := ""
	for _, b := range blocks {
		out += b.Text
	}
	return out
}
