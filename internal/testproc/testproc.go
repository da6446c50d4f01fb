// Package testproc runs a real server program for a test: on a free
// loopback port, with its output kept for the failure message, stopped when
// the test ends. pgtest, redistest and s3test start their engines with it.
package testproc

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

// Setting returns the environment variable that names a test engine (its
// program, or a server's URL), or skips t saying what to set it to.
func Setting(t testing.TB, variable, what string) string {
	t.Helper()
	v := os.Getenv(variable)
	if v == "" {
		t.Skipf("set %s to %s: make test-scaleout starts the engines (.ci/run does too)", variable, what)
	}
	return v
}

// FreePort returns a loopback port nothing listens on (now).
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// Start runs bin with args until the test ends and waits until ready
// returns nil (polled every 50 ms, at most within).
func Start(t testing.TB, within time.Duration, ready func() error, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start(), "%s does not start", bin)
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(within)
	for {
		err := ready()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not ready within %s: %v\n%s", bin, within, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Listening is a ready check: something accepts connections on port.
func Listening(port int) func() error {
	return func() error {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			_ = c.Close()
		}
		return err
	}
}
