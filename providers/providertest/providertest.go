// Package providertest holds wire-faithful fake servers of every provider
// penny speaks to — OpenAI (and OpenAI-compatible servers such as Ollama),
// Cloudflare Workers AI and Anthropic — built from ../shared/providers.md:
// real JSON shapes, SSE framing, error envelopes and rate-limit headers.
// Each fake can be scripted to misbehave (HTTP errors with or without
// Retry-After, slow answers, garbage or truncated bodies, streams cut
// before or after the first token, slow drip), so the router's behaviour
// can be tested without the internet.
package providertest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/local"
	"github.com/penny-dev/penny/vector"
)

// Fault makes a fake misbehave on one request.
type Fault struct {
	// Status and Body send an error response (Header adds headers, such
	// as Retry-After). A zero Status means the request is answered.
	Status int
	Body   string
	Header http.Header
	// Delay waits before answering (or until the client gives up).
	Delay time.Duration
	// Garbage answers 200 with a body that is not JSON.
	Garbage bool
	// Truncated answers 200 with JSON cut in the middle.
	Truncated bool
	// CutAfterTokens closes a stream abruptly after this many tokens
	// (0 with Cut set: before the first token).
	Cut            bool
	CutAfterTokens int
	// StreamErrorAfterTokens sends the protocol's in-stream error event
	// after this many tokens (with StreamError set).
	StreamError            bool
	StreamErrorAfterTokens int
	// Drip waits between streamed tokens.
	Drip time.Duration
}

// Script returns the fault for the n-th request (counting from 1), or
// nil to answer normally.
type Script func(n int, r *http.Request) *Fault

// Always fails every request the same way.
func Always(f Fault) Script { return func(int, *http.Request) *Fault { return &f } }

// FirstN fails the first n requests.
func FirstN(n int, f Fault) Script {
	return func(i int, _ *http.Request) *Fault {
		if i <= n {
			return &f
		}
		return nil
	}
}

// server is what every fake shares: an httptest server, a request counter
// and the script.
type server struct {
	*httptest.Server
	mu     sync.Mutex
	n      int
	script Script
	bodies []string
	forget bool // do not keep bodies (long load runs)
	conns  map[string]bool
}

// ForgetBodies stops keeping request bodies, so a fake serving a long
// load run does not grow without bound (Bodies then returns none).
func (s *server) ForgetBodies() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forget, s.bodies, s.conns = true, nil, nil
}

// SetScript replaces the fault script (nil: behave).
func (s *server) SetScript(sc Script) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = sc
}

// Requests is how many requests the fake has received.
func (s *server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Connections is how many client connections the requests came on
// (distinct remote addresses; not kept after ForgetBodies).
func (s *server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Bodies returns the request bodies received so far.
func (s *server) Bodies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

func (s *server) next(r *http.Request, body []byte) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if !s.forget {
		s.bodies = append(s.bodies, string(body))
		if s.conns == nil {
			s.conns = map[string]bool{}
		}
		s.conns[r.RemoteAddr] = true
	}
	if s.script == nil {
		return nil
	}
	return s.script(s.n, r)
}

// apply serves the non-stream parts of a fault; it reports whether the
// response is finished.
func apply(w http.ResponseWriter, r *http.Request, f *Fault) bool {
	if f == nil {
		return false
	}
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return true
		}
	}
	for k, v := range f.Header {
		w.Header()[k] = v
	}
	switch {
	case f.Status != 0:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(f.Body))
		return true
	case f.Garbage:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("<html>502 Bad Gateway</html>"))
		return true
	case f.Truncated:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"x","choices":[{"message":{"content":"cut`))
		return true
	}
	return false
}

// stream writes SSE frames with the fault's drip, cut and error applied.
type stream struct {
	w      http.ResponseWriter
	r      *http.Request
	f      *Fault
	tokens int
}

func newStream(w http.ResponseWriter, r *http.Request, f *Fault) *stream {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	return &stream{w: w, r: r, f: f}
}

// token is called before each token; it returns false when the stream
// must stop (cut or in-stream error already sent by onError).
func (s *stream) token(onError func()) bool {
	if s.f != nil {
		if s.f.Cut && s.tokens == s.f.CutAfterTokens {
			s.cut()
			return false
		}
		if s.f.StreamError && s.tokens == s.f.StreamErrorAfterTokens {
			onError()
			return false
		}
		if s.f.Drip > 0 && s.tokens > 0 {
			select {
			case <-time.After(s.f.Drip):
			case <-s.r.Context().Done():
				return false
			}
		}
	}
	s.tokens++
	return true
}

// cut closes the connection without ending the chunked body: the client
// sees an unexpected EOF, as when a provider's connection drops.
func (s *stream) cut() {
	s.w.(http.Flusher).Flush()
	conn, buf, err := http.NewResponseController(s.w).Hijack()
	if err != nil {
		return
	}
	_ = buf.Flush()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func (s *stream) data(v any) {
	raw, _ := json.Marshal(v)
	fmt.Fprintf(s.w, "data: %s\n\n", raw)
	s.w.(http.Flusher).Flush()
}

func (s *stream) named(event string, v any) {
	raw, _ := json.Marshal(v)
	fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", event, raw)
	s.w.(http.Flusher).Flush()
}

func (s *stream) raw(line string) {
	fmt.Fprint(s.w, line)
	s.w.(http.Flusher).Flush()
}

// Reply is the fakes' deterministic answer: with numbered passages in the
// system prompt it quotes the first line of passage [1] and cites it;
// otherwise it greets.
func Reply(model string, msgs []providers.Message) string {
	for _, m := range msgs {
		if m.Role != "system" {
			continue
		}
		if i := strings.Index(m.Content, "\n[1] ("); i >= 0 {
			rest := m.Content[i+1:]
			sc := bufio.NewScanner(strings.NewReader(rest))
			sc.Scan() // "[1] (title)"
			for sc.Scan() {
				if line := strings.TrimSpace(strings.TrimLeft(sc.Text(), "#")); line != "" {
					return "According to your documents: " + line + " [1]"
				}
			}
		}
	}
	last := ""
	for _, m := range msgs {
		if m.Role == "user" {
			last = m.Content
		}
	}
	return fmt.Sprintf("Hello from %s. You said: %s", model, last)
}

// words splits a reply into stream tokens (each with its trailing space).
func words(s string) []string { return strings.SplitAfter(s, " ") }

// Vector is the fakes' deterministic embedding of text in dim dimensions:
// the offline embedder's vector tiled to size, so similar texts stay
// similar.
func Vector(text string, dim int) []float32 {
	resp, _ := local.New().Embed(context.Background(), providers.EmbedRequest{Texts: []string{text}})
	base := resp.Vectors[0]
	v := make([]float32, dim)
	for i := range v {
		v[i] = base[i%len(base)]
	}
	return vector.Normalize(v)
}

func usageOf(msgs []providers.Message, reply string) (int, int) {
	in := 0
	for _, m := range msgs {
		in += providers.EstimateTokens(m.Content)
	}
	return in, providers.EstimateTokens(reply)
}
