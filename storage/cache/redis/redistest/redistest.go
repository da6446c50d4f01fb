// Package redistest starts a real redis-server (Debian's) for a test on a
// free loopback port, with no persistence, and stops it afterwards.
// PENNY_TEST_REDIS names the program (.ci/run and make test-scaleout set
// it); without it the tests skip, saying so.
package redistest

import (
	"context"
	"fmt"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/penny-dev/penny/internal/testproc"
)

// Start runs redis-server for t and returns its URL.
func Start(t testing.TB) string {
	t.Helper()
	bin := testproc.Setting(t, "PENNY_TEST_REDIS", "redis-server's path to run against Redis")
	port := testproc.FreePort(t)
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	rdb := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	defer rdb.Close()
	testproc.Start(t, 20*time.Second, func() error { return rdb.Ping(context.Background()).Err() },
		bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	return url
}
