// Package s3test starts npm's s3rver, a real S3-compatible server, on a
// free loopback port for a test (credentials S3RVER / S3RVER).
// PENNY_TEST_S3RVER names the program (.ci/run and make test-scaleout set
// it); without it the tests skip, saying so.
package s3test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Start starts npm's s3rver, a real S3-compatible server, on loopback
// (PENNY_TEST_S3RVER names the program; .ci/run sets it).
func Start(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("PENNY_TEST_S3RVER")
	if bin == "" {
		t.Skip("set PENNY_TEST_S3RVER to tests/s3rver/node_modules/.bin/s3rver to run against S3: make test-scaleout starts the engines (.ci/run does too)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	cmd := exec.Command(bin, "-d", t.TempDir(), "-a", "127.0.0.1", "-p", fmt.Sprint(port), "--silent")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			_ = c.Close()
			return fmt.Sprintf("http://127.0.0.1:%d", port)
		}
		if time.Now().After(deadline) {
			t.Fatalf("s3rver did not listen within 20 s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
