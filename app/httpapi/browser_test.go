package httpapi_test

import (
	"cmp"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/providers/providertest"
)

// TestWebUI drives the web UI in a real browser (Debian's Chromium through
// playwright-core, tests/browser) against the running server with fake
// Cloudflare, OpenAI and Anthropic: register the admin, upload, watch the
// progress reach ready, ask, open a citation, rate the answer, see the
// cost, flip the rollback switch, create an API key, and a document full of
// hostile markup that must not run. Access tokens live 3 s here, so the
// session is refreshed under the test's feet many times.
//
// It needs Chromium and `npm ci --prefix tests/browser`; .ci/run installs
// both and sets PENNY_TEST_BROWSER=1, which turns a missing setup into a
// failure.
func TestWebUI(t *testing.T) {
	dir, err := filepath.Abs("../../tests/browser")
	require.NoError(t, err)
	if os.Getenv("PENNY_TEST_BROWSER") == "" {
		t.Skip("set PENNY_TEST_BROWSER=1 after installing chromium and `npm ci --prefix tests/browser` to drive the web UI in a browser (make test-browser; .ci/run does)")
	}
	node, err := exec.LookPath("node")
	require.NoError(t, err, "PENNY_TEST_BROWSER is set but node is not installed")
	chromium := cmp.Or(os.Getenv("PENNY_CHROMIUM"), "/usr/bin/chromium")
	require.FileExists(t, chromium, "PENNY_TEST_BROWSER is set but Chromium is missing (apt-get install chromium, or set PENNY_CHROMIUM)")
	require.DirExists(t, filepath.Join(dir, "node_modules", "playwright-core"), "run npm ci --prefix tests/browser")

	ta, f := withProvidersEnv(t, map[string]string{"PENNY_ACCESS_TOKEN_TTL": "3s"})
	// Streamed answers drip (100 ms a word) so that the Stop button has
	// something to stop.
	f.cf.SetScript(func(int, *http.Request) *providertest.Fault { return &providertest.Fault{Drip: 100 * time.Millisecond} })
	cmd := exec.CommandContext(t.Context(), node, "--test", "--test-timeout=240000", "ui.test.mjs")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "PENNY_URL=" + ta.URL,
		"PENNY_CHROMIUM=" + chromium, "PENNY_SCREENSHOTS=" + os.Getenv("PENNY_SCREENSHOTS")}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "node --test ui.test.mjs:\n%s", out)
	require.Contains(t, string(out), "# fail 0")
	t.Logf("%s", out)
}
