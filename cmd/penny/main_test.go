package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/providers/providertest"
)

func runCmd(t *testing.T, stdin string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

func TestVersionAndHelp(t *testing.T) {
	code, out, _ := runCmd(t, "", nil, "version")
	require.Equal(t, 0, code)
	require.Contains(t, out, "penny dev")
	code, out, _ = runCmd(t, "", nil, "help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "penny user create")
	code, _, errOut := runCmd(t, "", nil, "frobnicate")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `unknown command "frobnicate"`)
}

func TestServeRejectsBadConfig(t *testing.T) {
	code, _, errOut := runCmd(t, "", map[string]string{"PENNY_REGISTRATION": "maybe"}, "serve")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "PENNY_REGISTRATION")
}

func TestUserCreate(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"PENNY_DATA_DIR": dir, "PENNY_PASSWORD_MEMORY_KIB": "64", "PENNY_PASSWORD_TIME": "1"}
	code, out, errOut := runCmd(t, "correct horse battery\n", env, "user", "create", "--email", "root@example.com", "--admin")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "created admin root@example.com")
	require.NotContains(t, out+errOut, "correct horse battery", "the password is never echoed")

	env["PENNY_USER_PASSWORD"] = "another good one"
	code, out, _ = runCmd(t, "", env, "user", "create", "--email", "m@example.com", "--data-dir", dir)
	require.Equal(t, 0, code)
	require.Contains(t, out, "created member m@example.com")

	code, _, errOut = runCmd(t, "", env, "user", "create", "--email", "m@example.com")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "already exists")
	code, _, errOut = runCmd(t, "", env, "user", "create")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "--email is required")
	code, _, _ = runCmd(t, "", env, "user", "delete")
	require.Equal(t, 1, code)
	require.FileExists(t, filepath.Join(dir, "penny.db"))
}

func TestProvidersCheck(t *testing.T) {
	cf := providertest.NewCloudflare("acct", "tok")
	defer cf.Close()
	oa := providertest.NewOpenAI("sk")
	defer oa.Close()
	env := map[string]string{"CLOUDFLARE_ACCOUNT_ID": "acct", "CLOUDFLARE_API_TOKEN": "tok", "PENNY_CLOUDFLARE_BASE_URL": cf.BaseURL(),
		"OPENAI_API_KEY": "sk", "PENNY_OPENAI_BASE_URL": oa.BaseURL(), "PENNY_OLLAMA_URL": "off"}
	code, out, errOut := runCmd(t, "", env, "providers", "check")
	require.Equal(t, 0, code, errOut+out)
	require.Contains(t, out, "cloudflare  ping")
	require.Regexp(t, `cloudflare\s+chat\s+@cf/meta/llama-3.2-3b-instruct\s+ok`, out)
	require.Regexp(t, `cloudflare\s+embed\s+@cf/baai/bge-m3\s+ok`, out)
	require.Regexp(t, `openai\s+chat\s+gpt-4o-mini\s+ok\s+\S+\s+\d+ in / \d+ out\s+\$0\.0000`, out)

	cf.SetScript(providertest.Always(providertest.Fault{Status: 401, Body: providertest.Envelope(10000, "Authentication error")}))
	code, out, errOut = runCmd(t, "", env, "providers", "check")
	require.Equal(t, 1, code)
	require.Contains(t, out, "FAIL")
	require.Contains(t, errOut, "check(s) failed")

	code, out, _ = runCmd(t, "", map[string]string{"PENNY_OLLAMA_URL": "off"}, "providers", "check")
	require.Equal(t, 0, code)
	require.Contains(t, out, "no provider is configured")
}

func TestCostsReportCommand(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"PENNY_DATA_DIR": dir, "PENNY_PASSWORD_MEMORY_KIB": "64", "PENNY_PASSWORD_TIME": "1"}
	code, _, errOut := runCmd(t, "correct horse battery\n", env, "user", "create", "--email", "root@example.com")
	require.Equal(t, 0, code, errOut)
	code, out, errOut := runCmd(t, "", env, "costs", "report", "--month", "2026-11", "--format", "csv")
	require.Equal(t, 0, code, errOut)
	require.True(t, strings.HasPrefix(out, "section,key,calls"))
	code, _, errOut = runCmd(t, "", env, "costs", "report", "--month", "nov")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "2026-11")
}
