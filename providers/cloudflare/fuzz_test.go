package cloudflare_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/cloudflare"
)

// FuzzChatStream feeds the stream reader whatever a broken or hostile
// server might send: it must end with the text so far and an error, or
// complete, never panic or hang; every error is a classified provider
// error (so the router knows whether to fail over).
func FuzzChatStream(f *testing.F) {
	f.Add("data: {\"response\":\"Hello\"}\n\ndata: {\"response\":\" world\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n")
	f.Add("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n")
	f.Add("data: {\"errors\":[{\"code\":3040,\"message\":\"capacity\"}]}\n\n")
	f.Add("data: {\"response\":")
	f.Add(": comment\r\nevent: x\r\ndata:[DONE]\r\n\r\n")
	var body atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte(body.Load().(string)))
	}))
	f.Cleanup(srv.Close)
	c := cloudflare.New(cloudflare.Options{BaseURL: srv.URL, AccountID: "acct", Token: "t", HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	f.Fuzz(func(t *testing.T, stream string) {
		body.Store(stream)
		got := ""
		resp, err := c.ChatStream(context.Background(), providers.ChatRequest{Model: "@cf/meta/llama-3.2-3b-instruct",
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
