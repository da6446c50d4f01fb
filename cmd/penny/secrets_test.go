package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/providers/providertest"
)

// TestSecretsStayOutOfLogs plants a provider key, a password, tokens and an
// API key, drives the real server through sign-in, refresh, answers, a
// provider that refuses the key, and the gateway, with debug logging on,
// and checks that none of them appears in any log line, nor the key and the
// password in any API response.
func TestSecretsStayOutOfLogs(t *testing.T) {
	const providerKey = "sk-planted-provider-key-9f8e7d6c5b4a"
	const password = "planted-password-7d1f2e"
	oa := providertest.NewOpenAI(providerKey)
	t.Cleanup(oa.Close)
	bin := buildPenny(t)
	srv := startPenny(t, bin, t.TempDir(), "OPENAI_API_KEY="+providerKey, "PENNY_OPENAI_BASE_URL="+oa.BaseURL(),
		"PENNY_LOG_LEVEL=debug", "PENNY_CACHE_SIZE=0")

	var responses strings.Builder
	do := func(method, path, token string, body any) map[string]any {
		status, out := call(t, srv, method, path, token, body)
		responses.WriteString(fmtJSON(out))
		require.Less(t, status, 500, "%s %s: %v", method, path, out)
		return out
	}
	reg := do("POST", "/api/auth/register", "", map[string]string{"email": "ada@example.com", "password": password})
	do("POST", "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": password + "-wrong"})
	login := do("POST", "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": password})
	token, refresh := login["accessToken"].(string), login["refreshToken"].(string)
	renewed := do("POST", "/api/auth/refresh", "", map[string]string{"refreshToken": refresh})
	do("POST", "/api/auth/refresh", "", map[string]string{"refreshToken": refresh}) // reuse after the grace? at once: within it
	upload(t, srv, token, "herons.md", "Grey herons nest in colonies called heronries, high in tall trees.\n")
	do("POST", "/api/rag/query", token, map[string]any{"question": "Where do grey herons nest?", "options": map[string]any{"provider": "openai"}})
	oa.SetScript(providertest.Always(providertest.Fault{Status: 401, Body: `{"error":{"message":"Incorrect API key provided: ` + providerKey + `","type":"invalid_request_error","code":"invalid_api_key"}}`}))
	do("POST", "/api/rag/query", token, map[string]any{"question": "How high do they nest?"})
	do("GET", "/api/health/providers", token, nil) // the provider's last error, as admins see it
	oa.SetScript(nil)
	key := do("POST", "/api/keys", token, map[string]any{"name": "script"})
	apiKey := key["key"].(string)
	status, _ := call(t, srv, "POST", "/v1/chat/completions", apiKey, map[string]any{"model": "auto", "messages": []map[string]string{{"role": "user", "content": "hi"}}})
	require.Equal(t, http.StatusOK, status)
	srv.stop(t)

	logs := srv.log.String()
	require.Contains(t, logs, "model call failed", "the provider's refusal was logged (with its message)")
	for name, secret := range map[string]string{"the provider key": providerKey, "the password": password, "an access token": token,
		"a refresh token": refresh, "a renewed refresh token": renewed["refreshToken"].(string), "an API key": apiKey,
		"the first access token": reg["accessToken"].(string)} {
		require.NotContains(t, logs, secret, "%s is in the log", name)
	}
	require.NotContains(t, logs, providerKey[:20], "not even most of the provider key")
	require.NotContains(t, responses.String(), providerKey[:20], "no API response carries the provider key")
	require.NotContains(t, responses.String(), password, "no API response carries the password")
}

func fmtJSON(v map[string]any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}
