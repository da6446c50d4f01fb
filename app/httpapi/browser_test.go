package httpapi_test

import (
	"cmp"
	"net/http"
	"os"
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
	suite := nodeSuite{dir: "browser", gate: "PENNY_TEST_BROWSER", module: "playwright-core",
		hint: "after installing chromium and `npm ci --prefix tests/browser` to drive the web UI in a browser (make test-browser; .ci/run does)"}
	node, dir := suite.check(t)
	chromium := cmp.Or(os.Getenv("PENNY_CHROMIUM"), "/usr/bin/chromium")
	require.FileExists(t, chromium, "PENNY_TEST_BROWSER is set but Chromium is missing (apt-get install chromium, or set PENNY_CHROMIUM)")

	ta, f := withProvidersEnv(t, map[string]string{"PENNY_ACCESS_TOKEN_TTL": "3s"})
	// Streamed answers drip (100 ms a word) so that the Stop button has
	// something to stop.
	f.cf.SetScript(func(int, *http.Request) *providertest.Fault { return &providertest.Fault{Drip: 100 * time.Millisecond} })
	suite.run(t, node, dir, []string{"PENNY_URL=" + ta.URL, "PENNY_CHROMIUM=" + chromium,
		"PENNY_SCREENSHOTS=" + os.Getenv("PENNY_SCREENSHOTS")}, "--test-timeout=240000", "ui.test.mjs")
}
