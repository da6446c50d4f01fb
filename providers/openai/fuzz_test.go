package openai_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/openai"
	"github.com/penny-dev/penny/providers/providertest"
)

func FuzzChatStream(f *testing.F) {
	providertest.FuzzStream(f, func(baseURL string) providers.Streamer {
		return openai.New(openai.Options{BaseURL: baseURL, APIKey: "sk-fuzz", HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	}, "gpt-4o-mini",
		"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"}}]}\n\n"+
			"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"+
			"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\ndata: [DONE]\n\n",
		"data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}\n\n",
		"data: {\"choices\":[{\"delta\":{\"content\":",
		": keep-alive\n\ndata: [DONE]\n\n")
}
