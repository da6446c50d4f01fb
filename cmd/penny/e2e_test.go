package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// buildPenny compiles the real binary for a test. With PENNY_TEST_COVERDIR
// set (make cover), the binary counts coverage into that directory, so the
// code these tests run in subprocesses counts too: bin is then a script
// that sets GOCOVERDIR and execs the binary (same process, so signals
// reach it).
func buildPenny(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "penny")
	coverDir := os.Getenv("PENNY_TEST_COVERDIR")
	if coverDir == "" {
		out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
		require.NoError(t, err, string(out))
		return bin
	}
	out, err := exec.Command("go", "build", "-cover", "-coverpkg=github.com/penny-dev/penny/...", "-o", bin+".cover", ".").CombinedOutput()
	require.NoError(t, err, string(out))
	script := fmt.Sprintf("#!/bin/sh\nGOCOVERDIR=%q exec %q \"$@\"\n", coverDir, bin+".cover")
	require.NoError(t, os.WriteFile(bin, []byte(script), 0o755))
	return bin
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

type server struct {
	cmd  *exec.Cmd
	addr string
	log  *logBuffer
}

// logBuffer collects a process's output; tests read it while the process
// still writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startPenny(t *testing.T, bin, dataDir string, env ...string) *server {
	t.Helper()
	s := &server{addr: freeAddr(t), log: &logBuffer{}}
	s.cmd = exec.Command(bin, "serve", "--addr", s.addr, "--data-dir", dataDir)
	// A clean environment: a developer's real provider keys must never
	// reach a test, and no local model server is looked for.
	s.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "PENNY_PASSWORD_MEMORY_KIB=1024", "PENNY_PASSWORD_TIME=1",
		"PENNY_OLLAMA_URL=off", "PENNY_PROBE_INTERVAL=0"}
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	require.NoError(t, s.cmd.Start())
	t.Cleanup(s.end)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for {
		resp, err := http.Get("http://" + s.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("penny did not become ready: %s", s.log)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// end stops the server if it still runs when its test ends: SIGTERM
// first (a binary built for make cover writes its counts when it exits),
// SIGKILL after 10 s.
func (s *server) end() {
	if s.cmd.ProcessState != nil || s.cmd.Process.Signal(syscall.SIGTERM) != nil {
		return // already waited for, or gone
	}
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// stop sends SIGTERM and expects a clean, drained exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, s.cmd.Wait(), s.log.String())
	require.Contains(t, s.log.String(), "stopped")
}

var quickstartRE = regexp.MustCompile("(?s)<!-- quickstart -->\\s*```sh\\n(.*?)```")

// TestREADMEQuickstart runs the README's quickstart verbatim (only the
// address differs) against the real binary: register, log in, upload,
// ask, see the cost. Then it restarts the server and asks again.
func TestREADMEQuickstart(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the quickstart needs %s (installed by .ci/run)", tool)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	m := quickstartRE.FindSubmatch(readme)
	require.NotNil(t, m, "README.md has a <!-- quickstart --> sh block")
	script := strings.ReplaceAll(string(m[1]), "localhost:8080", "ADDR")

	bin := buildPenny(t)
	dataDir := t.TempDir()
	srv := startPenny(t, bin, dataDir)
	work := t.TempDir()
	run := func(script string) string {
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", strings.ReplaceAll(script, "ADDR", srv.addr))
		cmd.Dir = work
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "quickstart failed:\n%s\nserver log:\n%s", out, srv.log)
		return string(out)
	}
	out := run(script)
	require.Regexp(t, `\[\d\]`, out, "the answer cites a passage")
	require.Contains(t, out, `"provider": "local"`)
	require.Contains(t, out, `"byService"`, "the cost summary is printed")
	require.Contains(t, out, "heronries")

	// A restart keeps everything: the store reopens, indexes reload.
	srv.stop(t)
	srv = startPenny(t, bin, dataDir)
	again := run(`TOKEN=$(curl -s ADDR/api/auth/login -H 'Content-Type: application/json' -d '{"email":"ada@example.com","password":"correct horse battery"}' | jq -r .accessToken)
curl -s ADDR/api/rag/query -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"question":"Where do grey herons nest?"}' | jq -r .answer`)
	require.Contains(t, again, "heronries", "answers survive a restart")
	srv.stop(t)
}
