// Package redistest starts a real redis-server (Debian's) for a test on a
// free loopback port, with no persistence, and stops it afterwards.
// PENNY_TEST_REDIS names the program (.ci/run and make test-scaleout set
// it); without it the tests skip, saying so.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// Start runs redis-server for t and returns its URL.
func Start(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("PENNY_TEST_REDIS")
	if bin == "" {
		t.Skip("set PENNY_TEST_REDIS to redis-server's path to run against Redis: make test-scaleout starts the engines (.ci/run does too)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start(), "PENNY_TEST_REDIS is set but %s does not start", bin)
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	opts, err := goredis.ParseURL(url)
	require.NoError(t, err)
	rdb := goredis.NewClient(opts)
	defer rdb.Close()
	deadline := time.Now().Add(20 * time.Second)
	for rdb.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not answer within 20 s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return url
}
