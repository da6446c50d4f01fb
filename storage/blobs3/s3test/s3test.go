// Package s3test starts npm's s3rver, a real S3-compatible server, on a
// free loopback port for a test (credentials S3RVER / S3RVER).
// PENNY_TEST_S3RVER names the program (.ci/run and make test-scaleout set
// it); without it the tests skip, saying so.
package s3test

import (
	"fmt"
	"testing"
	"time"

	"github.com/penny-dev/penny/internal/testproc"
)

// Start runs s3rver for t and returns its endpoint URL.
func Start(t testing.TB) string {
	t.Helper()
	bin := testproc.Setting(t, "PENNY_TEST_S3RVER", "tests/s3rver/node_modules/.bin/s3rver to run against S3")
	port := testproc.FreePort(t)
	testproc.Start(t, 20*time.Second, testproc.Listening(port), bin, "-d", t.TempDir(), "-a", "127.0.0.1", "-p", fmt.Sprint(port), "--silent")
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}
