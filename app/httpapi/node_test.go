package httpapi_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOfficialNodeClient drives the running server (with fake providers)
// with the official openai npm package: chat, streaming chat, embeddings,
// models and error cases, in tests/openai-node. It needs Node and
// `npm ci --prefix tests/openai-node`; .ci/run does both and sets
// PENNY_TEST_NODE=1, which turns a missing setup into a failure.
func TestOfficialNodeClient(t *testing.T) {
	dir, err := filepath.Abs("../../tests/openai-node")
	require.NoError(t, err)
	if os.Getenv("PENNY_TEST_NODE") == "" {
		t.Skip("set PENNY_TEST_NODE=1 after `npm ci --prefix tests/openai-node` to run the official openai npm client against penny (.ci/run does)")
	}
	node, err := exec.LookPath("node")
	require.NoError(t, err, "PENNY_TEST_NODE is set but node is not installed")
	require.DirExists(t, filepath.Join(dir, "node_modules", "openai"), "run npm ci --prefix tests/openai-node")

	ta, _ := withProviders(t)
	admin := ta.Register("admin@example.com")
	key := apiKey(t, ta, admin.Token, map[string]any{"name": "node"})
	cmd := exec.CommandContext(t.Context(), node, "--test")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "PENNY_BASE_URL=" + ta.URL + "/v1", "PENNY_API_KEY=" + key}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "node --test:\n%s", out)
	require.Contains(t, string(out), "# fail 0")
	t.Logf("%s", out)
}
