package httpapi

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/app/gateway"
	"github.com/penny-dev/penny/app/rag"
	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/router"
	"github.com/penny-dev/penny/storage"
)

// bindGatewayAPI is the OpenAI-compatible API: /v1/chat/completions,
// /v1/embeddings, /v1/models. Callers authenticate with a Bearer API key
// (pk-…) or access token; errors are OpenAI-shaped.
func bindGatewayAPI(e *echo.Echo, h *handler) {
	v1 := e.Group("/v1", requireBearer, h.keyRateLimit)
	v1.POST("/chat/completions", h.chatCompletions)
	v1.POST("/embeddings", h.embeddings)
	v1.GET("/models", h.listModels)
	v1.GET("/models/:id", h.getModel)
}

// requireBearer refuses callers that are not signed in with a Bearer
// credential (cookies are for the web UI, not for API clients).
func requireBearer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, ok := principalOf(c)
		if !ok || p.Method == "cookie" {
			return apperr.New(http.StatusUnauthorized, "invalid_api_key",
				"You didn't provide an API key. Send it as 'Authorization: Bearer pk-…' (create one with POST /api/keys).")
		}
		return next(c)
	}
}

func (h *handler) keyRateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := me(c)
		if err := h.app.Gateway.Allow(c.Request().Context(), p.APIKeyID, p.KeyRPM); err != nil {
			return err
		}
		return next(c)
	}
}

// openAIError is the OpenAI error body.
type openAIError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// openAIErrorBody shapes an error the way OpenAI clients expect, keeping
// penny's code.
func openAIErrorBody(status int, code, msg string) openAIError {
	var out openAIError
	typ := "invalid_request_error"
	switch {
	case status == http.StatusTooManyRequests:
		typ = "requests"
	case status == http.StatusPaymentRequired:
		typ, code = "insufficient_quota", "insufficient_quota"
	case status >= 500:
		typ = "api_error"
	}
	if code == "unauthorized" {
		code = "invalid_api_key"
	}
	if code == "model_not_found" {
		param := "model"
		out.Error.Param = &param
	}
	out.Error.Message, out.Error.Type, out.Error.Code = msg, typ, &code
	return out
}

type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		ToolCalls  json.RawMessage `json:"tool_calls"`
		ToolCallID string          `json:"tool_call_id"`
	} `json:"messages"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           int             `json:"max_tokens"`
	MaxCompletionTokens int             `json:"max_completion_tokens"`
	Tools               json.RawMessage `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	N                   int             `json:"n"`
	Penny               struct {
		Provider string `json:"provider"`
		// Cache false skips penny's caches (as does Cache-Control: no-cache).
		Cache *bool `json:"cache"`
	} `json:"penny"`
}

// content reads a message's content: a string, or text parts.
func content(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", apperr.Invalid("messages[].content must be a string or an array of text parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			return "", apperr.Invalid("only text content parts are supported (got %q)", p.Type)
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

// pennyInfo is the extension object OpenAI clients ignore.
type pennyInfo struct {
	Provider        string   `json:"provider"`
	Model           string   `json:"model"`
	Tier            string   `json:"tier,omitempty"`
	Arm             string   `json:"arm,omitempty"`
	CostUSD         float64  `json:"costUsd"`
	CostMicros      int64    `json:"costMicros"`
	BaselineCostUSD float64  `json:"baselineCostUsd"`
	BaselineMicros  int64    `json:"baselineMicros"`
	Cache           string   `json:"cache"`
	Reasons         []string `json:"reasons,omitempty"`
}

func penny(res router.Result) pennyInfo {
	return pennyInfo{Provider: res.Provider, Model: res.Model, Tier: res.Tier, Arm: res.Arm,
		CostUSD: float64(res.CostMicros) / 1e6, CostMicros: res.CostMicros,
		BaselineCostUSD: float64(res.BaselineMicros) / 1e6, BaselineMicros: res.BaselineMicros, Cache: cacheState(res.Cache), Reasons: res.Reasons}
}

func cacheState(c string) string {
	if c == "" {
		return "miss"
	}
	return c
}

// noCache reports whether the client asked to bypass the caches.
func noCache(c echo.Context, flag *bool) bool {
	return (flag != nil && !*flag) || strings.Contains(c.Request().Header.Get("Cache-Control"), "no-cache")
}

func setPennyHeaders(hd http.Header, p pennyInfo) {
	hd.Set("X-Penny-Provider", p.Provider)
	hd.Set("X-Penny-Model", p.Model)
	hd.Set("X-Penny-Tier", p.Tier)
	hd.Set("X-Penny-Cost-Usd", strconv.FormatFloat(p.CostUSD, 'f', 6, 64))
	hd.Set("X-Penny-Baseline-Cost-Usd", strconv.FormatFloat(p.BaselineCostUSD, 'f', 6, 64))
	hd.Set("X-Penny-Cache", p.Cache)
}

func usageJSON(u providers.Usage) map[string]int {
	return map[string]int{"prompt_tokens": u.InputTokens, "completion_tokens": u.OutputTokens, "total_tokens": u.InputTokens + u.OutputTokens}
}

func (h *handler) chatCompletions(c echo.Context) error {
	var in chatRequest
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if collection, ok := gateway.RAGModel(in.Model); ok {
		return h.ragCompletion(c, in, collection)
	}
	call, err := h.app.Gateway.Resolve(in.Model)
	if err != nil {
		return err
	}
	if in.N > 1 {
		return apperr.Invalid("n > 1 is not supported")
	}
	if len(in.Messages) == 0 {
		return apperr.Invalid("messages must not be empty")
	}
	req := providers.ChatRequest{MaxTokens: max(in.MaxTokens, in.MaxCompletionTokens), Tools: in.Tools, ToolChoice: in.ToolChoice}
	for _, m := range in.Messages {
		text, err := content(m.Content)
		if err != nil {
			return err
		}
		role := m.Role
		switch role {
		case "developer":
			role = "system"
		case "system", "user", "assistant", "tool":
		default:
			return apperr.Invalid("unsupported message role %q", m.Role)
		}
		if role == "tool" && m.ToolCallID == "" {
			return apperr.Invalid("a tool message needs tool_call_id")
		}
		msg := providers.Message{Role: role, Content: text, ToolCallID: m.ToolCallID}
		if len(m.ToolCalls) > 0 && string(m.ToolCalls) != "null" {
			msg.ToolCalls = m.ToolCalls
		}
		req.Messages = append(req.Messages, msg)
	}
	if err := h.app.Router.CheckProvider(in.Penny.Provider); err != nil {
		return apperr.New(http.StatusBadRequest, "unknown_provider", "%v", err)
	}
	p := me(c)
	call.UserID, call.Service, call.RequestID, call.Provider = p.UserID, storage.ServiceGateway, requestID(c), in.Penny.Provider
	call.APIKeyID, call.KeyBudgetMicros = p.APIKeyID, p.KeyBudgetMicros
	call.NoCache = noCache(c, in.Penny.Cache)
	id := "chatcmpl-" + storage.NewID()
	created := time.Now().Unix()

	if !in.Stream {
		res, err := h.app.Router.Chat(c.Request().Context(), call, req, nil)
		if err != nil {
			return routeError(err)
		}
		info := penny(res)
		setPennyHeaders(c.Response().Header(), info)
		msg, finish := map[string]any{"role": "assistant", "content": res.Text}, "stop"
		if len(res.ToolCalls) > 0 {
			msg["tool_calls"], finish = res.ToolCalls, "tool_calls"
			if res.Text == "" {
				msg["content"] = nil
			}
		}
		return c.JSON(http.StatusOK, map[string]any{"id": id, "object": "chat.completion", "created": created, "model": res.Model,
			"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish, "logprobs": nil}},
			"usage":   usageJSON(res.Usage), "penny": info})
	}

	// Streaming: headers go out with the first token (naming the provider
	// that produced it); a failure before it is an ordinary error response.
	w := c.Response()
	model := in.Model
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	started := false
	send := func(v any) error {
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", raw); err != nil {
			return err
		}
		w.Flush()
		return nil
	}
	call.OnFirstToken = func(provider, m string) {
		model = m
		hd := w.Header()
		hd.Set(echo.HeaderContentType, "text/event-stream")
		hd.Set("Cache-Control", "no-cache")
		hd.Set("X-Accel-Buffering", "no")
		hd.Set("X-Penny-Provider", provider)
		hd.Set("X-Penny-Model", m)
		w.WriteHeader(http.StatusOK)
		started = true
		_ = send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	}
	res, err := h.app.Router.Chat(c.Request().Context(), call, req, func(d string) error {
		return send(chunk(map[string]any{"content": d}, nil))
	})
	if err != nil {
		if !started {
			return routeError(err)
		}
		_, code, msg := classify(routeError(err))
		return send(openAIErrorBody(http.StatusBadGateway, code, msg))
	}
	if !started { // an empty answer or only tool calls: no token ever came
		call.OnFirstToken(res.Provider, res.Model)
	}
	finish := "stop"
	if len(res.ToolCalls) > 0 {
		var calls []map[string]any
		if err := json.Unmarshal(res.ToolCalls, &calls); err != nil {
			return err
		}
		for i := range calls {
			calls[i]["index"] = i
		}
		if err := send(chunk(map[string]any{"tool_calls": calls}, nil)); err != nil {
			return err
		}
		finish = "tool_calls"
	}
	if err := send(chunk(map[string]any{}, finish)); err != nil {
		return err
	}
	if in.StreamOptions != nil && in.StreamOptions.IncludeUsage {
		if err := send(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": res.Model,
			"choices": []any{}, "usage": usageJSON(res.Usage), "penny": penny(res)}); err != nil {
			return err
		}
	}
	_, err = fmt.Fprint(w, "data: [DONE]\n\n")
	w.Flush()
	return err
}

// routeError turns router failures into API errors.
func routeError(err error) error {
	switch {
	case errors.Is(err, router.ErrNoCandidate) && strings.Contains(err.Error(), "does not take tools"):
		return apperr.Invalid("no configured model can take tools: they pass through to OpenAI and OpenAI-compatible servers")
	case errors.Is(err, router.ErrUnknownModel):
		return apperr.New(http.StatusNotFound, "model_not_found", "%v", err)
	case errors.Is(err, router.ErrBudget):
		return apperr.New(http.StatusPaymentRequired, "budget_exceeded", "The budget is spent and no free model can serve this request.").Wrap(err)
	case errors.Is(err, router.ErrUnknownProvider):
		return apperr.New(http.StatusBadRequest, "unknown_provider", "%v", err)
	case errors.Is(err, router.ErrNoCandidate):
		return apperr.New(http.StatusServiceUnavailable, "no_model", "No configured model can serve this request right now.").Wrap(err)
	}
	if _, ok := apperr.As(err); ok || errors.Is(err, router.ErrLedger) { // the store failed, not a provider
		return err
	}
	var pe *providers.Error
	if errors.As(err, &pe) && pe.Kind == providers.KindBadRequest {
		return apperr.New(http.StatusBadRequest, "invalid_request", "The provider refused the request: %v", pe.Err)
	}
	return apperr.New(http.StatusBadGateway, "provider_error", "Every model that could answer failed; try again.").Wrap(err)
}

func (h *handler) embeddings(c echo.Context) error {
	var in struct {
		Model          string          `json:"model"`
		Input          json.RawMessage `json:"input"`
		EncodingFormat string          `json:"encoding_format"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	model, err := h.app.Gateway.ResolveEmbedding(in.Model)
	if err != nil {
		return err
	}
	var texts []string
	if err := json.Unmarshal(in.Input, &texts); err != nil {
		var one string
		if err := json.Unmarshal(in.Input, &one); err != nil {
			return apperr.Invalid("input must be a string or an array of strings (token arrays are not supported)")
		}
		texts = []string{one}
	}
	if len(texts) == 0 || len(texts) > 2048 {
		return apperr.Invalid("input must hold 1 to 2048 strings")
	}
	for i, t := range texts {
		if t == "" {
			return apperr.Invalid("input[%d] is empty", i)
		}
	}
	if in.EncodingFormat != "" && in.EncodingFormat != "float" && in.EncodingFormat != "base64" {
		return apperr.Invalid("encoding_format must be float or base64")
	}
	p := me(c)
	res, err := h.app.Router.Embed(c.Request().Context(), router.Call{UserID: p.UserID, Service: storage.ServiceGateway,
		RequestID: requestID(c), APIKeyID: p.APIKeyID, KeyBudgetMicros: p.KeyBudgetMicros}, model, texts)
	if err != nil {
		return routeError(err)
	}
	data := make([]any, len(res.Vectors))
	for i, v := range res.Vectors {
		var emb any = v
		if in.EncodingFormat == "base64" {
			buf := make([]byte, 4*len(v))
			for j, f := range v {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(f))
			}
			emb = base64.StdEncoding.EncodeToString(buf)
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": emb}
	}
	info := penny(router.Result{Provider: res.Provider, Model: res.Model, CostMicros: res.CostMicros, BaselineMicros: res.BaselineMicros})
	setPennyHeaders(c.Response().Header(), info)
	return c.JSON(http.StatusOK, map[string]any{"object": "list", "data": data, "model": res.Model,
		"usage": map[string]int{"prompt_tokens": res.Usage.InputTokens, "total_tokens": res.Usage.InputTokens}, "penny": info})
}

func (h *handler) models(c echo.Context) ([]gateway.Model, error) {
	collections, err := h.app.Documents.Collections(c.Request().Context(), me(c).UserID)
	if err != nil {
		return nil, err
	}
	return h.app.Gateway.Models(collections), nil
}

func (h *handler) listModels(c echo.Context) error {
	models, err := h.models(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"object": "list", "data": models})
}

func (h *handler) getModel(c echo.Context) error {
	models, err := h.models(c)
	if err != nil {
		return err
	}
	for _, m := range models {
		if m.ID == c.Param("id") {
			return c.JSON(http.StatusOK, m)
		}
	}
	return gateway.ModelNotFound(c.Param("id"))
}

// ragCompletion answers the last user message from the caller's documents
// (one collection, or all), with the citations in the penny object.
func (h *handler) ragCompletion(c echo.Context, in chatRequest, collection string) error {
	var question string
	var history []providers.Message
	for _, m := range in.Messages {
		text, err := content(m.Content)
		if err != nil {
			return err
		}
		if m.Role == "user" {
			if question != "" {
				history = append(history, providers.Message{Role: "user", Content: question})
			}
			question = text
		} else if m.Role == "assistant" {
			history = append(history, providers.Message{Role: "assistant", Content: text})
		}
	}
	if question == "" {
		return apperr.Invalid("messages need a user message to answer")
	}
	p := me(c)
	q := rag.Query{UserID: p.UserID, RequestID: requestID(c), Service: storage.ServiceGateway, Question: question,
		Collection: collection, Provider: in.Penny.Provider, History: history, NoCache: noCache(c, in.Penny.Cache)}
	a, err := h.app.RAG.Answer(c.Request().Context(), q, nil)
	if e, ok := apperr.As(err); ok && e.Status == http.StatusNotFound {
		return gateway.ModelNotFound(in.Model)
	}
	if err != nil {
		return err
	}
	info := map[string]any{"provider": a.Provider, "model": a.Model, "costUsd": a.Cost.USD, "costMicros": a.Cost.Micros,
		"baselineCostUsd": a.Cost.BaselineUSD, "baselineMicros": a.Cost.BaselineMicros, "cache": a.Cached, "reasons": a.Reasons,
		"retrieval": a.Retrieval, "citations": a.Citations, "sources": a.Sources}
	setPennyHeaders(c.Response().Header(), pennyInfo{Provider: a.Provider, Model: a.Model, CostUSD: a.Cost.USD, BaselineCostUSD: a.Cost.BaselineUSD, Cache: a.Cached})
	id, created := "chatcmpl-"+storage.NewID(), time.Now().Unix()
	usage := map[string]int{"prompt_tokens": 0, "completion_tokens": providers.EstimateTokens(a.Answer)}
	usage["total_tokens"] = usage["completion_tokens"]
	if !in.Stream {
		return c.JSON(http.StatusOK, map[string]any{"id": id, "object": "chat.completion", "created": created, "model": in.Model,
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": a.Answer}, "finish_reason": "stop"}},
			"usage":   usage, "penny": info})
	}
	// The answer is checked (citations) before it is sent, so it streams as
	// one piece.
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	for _, v := range []any{
		map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": in.Model,
			"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"role": "assistant", "content": a.Answer}, "finish_reason": nil}}},
		map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": in.Model,
			"choices": []any{map[string]any{"index": 0, "delta": map[string]any{}, "finish_reason": "stop"}}},
		map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": in.Model, "choices": []any{}, "usage": usage, "penny": info},
	} {
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "data: %s\n\n", raw)
	}
	_, err = fmt.Fprint(w, "data: [DONE]\n\n")
	w.Flush()
	return err
}
