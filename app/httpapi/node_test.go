package httpapi_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// nodeSuite is a suite of Node tests in tests/<name>, run with `node
// --test` against the server: it skips unless the variable gate is set (the
// setup needs npm; .ci/run does it), and then a missing setup fails.
type nodeSuite struct {
	dir, gate, hint, module string
}

// check finds node and the suite's installed module, or skips.
func (s nodeSuite) check(t *testing.T) (node, dir string) {
	dir, err := filepath.Abs("../../tests/" + s.dir)
	require.NoError(t, err)
	if os.Getenv(s.gate) == "" {
		t.Skip("set " + s.gate + "=1 " + s.hint)
	}
	node, err = exec.LookPath("node")
	require.NoError(t, err, "%s is set but node is not installed", s.gate)
	require.DirExists(t, filepath.Join(dir, "node_modules", s.module), "run npm ci --prefix tests/%s", s.dir)
	return node, dir
}

// run runs node --test args in the suite's folder with env and expects
// every test to pass.
func (s nodeSuite) run(t *testing.T, node, dir string, env []string, args ...string) {
	cmd := exec.CommandContext(t.Context(), node, append([]string{"--test"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "node --test:\n%s", out)
	require.Contains(t, string(out), "# fail 0")
	t.Logf("%s", out)
}

// TestOfficialNodeClient drives the running server (with fake providers)
// with the official openai npm package: chat, streaming chat, embeddings,
// models and error cases, in tests/openai-node. It needs Node and
// `npm ci --prefix tests/openai-node`; .ci/run does both and sets
// PENNY_TEST_NODE=1, which turns a missing setup into a failure.
func TestOfficialNodeClient(t *testing.T) {
	suite := nodeSuite{dir: "openai-node", gate: "PENNY_TEST_NODE", module: "openai",
		hint: "after `npm ci --prefix tests/openai-node` to run the official openai npm client against penny (.ci/run does)"}
	node, dir := suite.check(t)
	ta, _ := withProviders(t)
	admin := ta.Register("admin@example.com")
	key := apiKey(t, ta, admin.Token, map[string]any{"name": "node"})
	suite.run(t, node, dir, []string{"PENNY_BASE_URL=" + ta.URL + "/v1", "PENNY_API_KEY=" + key})
}
