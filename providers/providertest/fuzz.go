package providertest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/penny-dev/penny/providers"
)

// FuzzStream feeds a provider's stream reader whatever a broken or hostile
// server might send as an SSE body: it must complete, with the answer it
// streamed, or end with a classified provider error (so the router knows
// whether to fail over) — never panic or hang. newClient makes the client
// for a server at baseURL; seeds are bodies to start from.
func FuzzStream(f *testing.F, newClient func(baseURL string) providers.Streamer, model string, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	var body atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte(body.Load().(string)))
	}))
	f.Cleanup(srv.Close)
	c := newClient(srv.URL)
	f.Fuzz(func(t *testing.T, stream string) {
		body.Store(stream)
		got := ""
		resp, err := c.ChatStream(context.Background(), providers.ChatRequest{Model: model,
			Messages: []providers.Message{{Role: "user", Content: "hi"}}}, func(d string) error { got += d; return nil })
		if err != nil {
			var pe *providers.Error
			if !errors.As(err, &pe) {
				t.Fatalf("unclassified error %T: %v", err, err)
			}
			return
		}
		if resp.Text != got {
			t.Fatalf("the answer %q is not what was streamed %q", resp.Text, got)
		}
	})
}
