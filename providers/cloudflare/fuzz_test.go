package cloudflare_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/cloudflare"
	"github.com/penny-dev/penny/providers/providertest"
)

func FuzzChatStream(f *testing.F) {
	providertest.FuzzStream(f, func(baseURL string) providers.Streamer {
		return cloudflare.New(cloudflare.Options{BaseURL: baseURL, AccountID: "acct", Token: "t", HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	}, "@cf/meta/llama-3.2-3b-instruct",
		"data: {\"response\":\"Hello\"}\n\ndata: {\"response\":\" world\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n",
		"data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n",
		"data: {\"errors\":[{\"code\":3040,\"message\":\"capacity\"}]}\n\n",
		"data: {\"response\":",
		": comment\r\nevent: x\r\ndata:[DONE]\r\n\r\n")
}
