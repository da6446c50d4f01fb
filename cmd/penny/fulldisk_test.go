package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/internal/testproc"
)

// TestFullDisk runs `penny serve` on a small filesystem of its own
// (PENNY_TEST_FULLDISK: a tmpfs that .ci/engines mounts) and fills the disk
// to the last block while a user uploads, chats and calls the gateway.
// Every refusal is a JSON 507 that says the disk is full; the server stays
// up and keeps answering reads; nothing refused is half-written; once space
// is freed every acknowledged upload reaches ready, new work succeeds, and
// after a restart everything acknowledged is there and penny doctor passes.
func TestFullDisk(t *testing.T) {
	_, dir := smallDisk(t)
	data := filepath.Join(dir, "data")
	bin := buildPenny(t)
	srv := startPenny(t, bin, data)
	first := srv
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("penny's log on the full disk:\n%s", first.log)
		}
	})

	status, out := call(t, srv, "POST", "/api/auth/register", "", map[string]string{"email": "ada@example.com", "password": "correct horse battery"})
	require.Equal(t, http.StatusCreated, status, out)
	tok := out["accessToken"].(string)
	upload(t, srv, tok, "kestrel.md", "# Kestrels\n\nThe kestrel hovers over the meadow before it dives.\n")
	status, out = call(t, srv, "POST", "/api/chats", tok, map[string]any{"title": "birds"})
	require.Equal(t, http.StatusCreated, status, out)
	chatID := out["id"].(string)

	ballast := fillDisk(t, dir)

	// Every kind of write, on a full disk. An answer is either a success
	// (bbolt may reuse pages it already owns) or the disk-full refusal.
	docs := map[string]string{} // acknowledged upload id → its word
	var answers []string        // acknowledged chat answers
	refused := map[string]int{}
	refusal := func(what string, status int, out map[string]any) bool {
		if status < 300 {
			return false
		}
		require.Equal(t, http.StatusInsufficientStorage, status, "%s on a full disk: %v", what, out)
		e := out["error"].(map[string]any)
		require.Equal(t, "disk_full", e["code"], what)
		require.Contains(t, e["message"], "disk is full", what)
		refused[what]++
		return true
	}
	for i := range 40 {
		if i > 0 { // a little room each round: writes fail at different points
			require.NoError(t, os.Truncate(ballast, max(0, size(t, ballast)-8<<10)))
		}
		word := fmt.Sprintf("merlin%d", i)
		status, out, err := send(srv, http.MethodPost, "/api/documents", tok, multipartType,
			multipartFile(word+".md", "# "+word+"\n\nThe "+word+" chases larks low over the heath.\n"+strings.Repeat("Larks rise and sing. ", 500)))
		require.NoError(t, err, "the answer is JSON")
		if !refusal("upload", status, out) {
			require.Equal(t, http.StatusAccepted, status, out)
			docs[out["documents"].([]any)[0].(map[string]any)["id"].(string)] = word
		}
		status, out = call(t, srv, "POST", "/api/chats/"+chatID+"/messages", tok, map[string]any{"content": fmt.Sprint("What hovers over the meadow? ", i)})
		if !refusal("chat", status, out) {
			require.Equal(t, http.StatusCreated, status, out)
			answers = append(answers, out["message"].(map[string]any)["id"].(string))
		}
		status, out = call(t, srv, "POST", "/api/chats", tok, map[string]any{"title": word})
		if !refusal("new chat", status, out) {
			require.Equal(t, http.StatusCreated, status, out)
		}
		status, out = call(t, srv, "POST", "/v1/chat/completions", tok, map[string]any{"model": "auto", "messages": []map[string]string{{"role": "user", "content": fmt.Sprint("Say hello ", i)}}})
		if !refusal("gateway", status, out) { // OpenAI's error shape, the same code and message
			require.Equal(t, http.StatusOK, status, out)
		}
	}
	t.Logf("on a full disk: %d uploads and %d answers acknowledged; refused %v", len(docs), len(answers), refused)
	require.NotZero(t, refused["upload"], "a full disk refuses uploads")

	// Reads keep working, and the server is still up.
	status, out = call(t, srv, "GET", "/api/documents", tok, nil)
	require.Equal(t, http.StatusOK, status, out)
	require.EqualValues(t, 1+len(docs), out["total"], "refused uploads left nothing behind")
	status, _ = call(t, srv, "GET", "/readyz", "", nil)
	require.Equal(t, http.StatusOK, status)

	// Space again: what was acknowledged finishes, new work succeeds.
	require.NoError(t, os.Remove(ballast))
	allReady(t, srv, tok, docs)
	foundByOwnWord(t, srv, tok, docs)
	upload(t, srv, tok, "owl.md", "# Owls\n\nThe barn owl hunts voles along the hedge at dusk.\n")
	status, out = call(t, srv, "POST", "/api/chats/"+chatID+"/messages", tok, map[string]any{"content": "What hunts voles?"})
	require.Equal(t, http.StatusCreated, status, out)
	answers = append(answers, out["message"].(map[string]any)["id"].(string))
	srv.stop(t)

	srv = startPenny(t, bin, data)
	status, out = call(t, srv, "POST", "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": "correct horse battery"})
	require.Equal(t, http.StatusOK, status, out)
	tok = out["accessToken"].(string)
	allReady(t, srv, tok, docs)
	foundByOwnWord(t, srv, tok, docs)
	status, out = call(t, srv, "GET", "/api/chats/"+chatID+"/messages", tok, nil)
	require.Equal(t, http.StatusOK, status, out)
	stored := map[string]bool{}
	for _, m := range out["messages"].([]any) {
		stored[m.(map[string]any)["id"].(string)] = true
	}
	for _, id := range answers {
		require.True(t, stored[id], "acknowledged answer %s is lost", id)
	}
	srv.stop(t)
	doctorPasses(t, bin, data, "a full disk")
}

// smallDisk returns the small filesystem of PENNY_TEST_FULLDISK (or skips
// t) and a directory on it, removed when t ends.
func smallDisk(t *testing.T) (mount, dir string) {
	mount = testproc.Setting(t, "PENNY_TEST_FULLDISK", "a directory on a small filesystem of its own (mount -t tmpfs -o size=320m tmpfs DIR)")
	dir, err := os.MkdirTemp(mount, "penny-*")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return mount, dir
}

// fillDisk writes a file in dir until the filesystem has no block left
// and returns its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "ballast")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	for _, size := range []int{1 << 20, 4 << 10, 1} {
		buf := make([]byte, size)
		for {
			if _, err := f.Write(buf); err != nil {
				require.True(t, errors.Is(err, syscall.ENOSPC), "the disk fills up: %v", err)
				break
			}
		}
	}
	var fs syscall.Statfs_t
	require.NoError(t, syscall.Statfs(dir, &fs))
	require.Zero(t, fs.Bavail, "no block left")
	return path
}

func size(t *testing.T, path string) int64 {
	st, err := os.Stat(path)
	require.NoError(t, err)
	return st.Size()
}

// TestReadOnlyDataDir remounts the data dir's filesystem read-only (root
// only, on PENNY_TEST_FULLDISK's tmpfs): penny serve refuses to start and
// says why, penny doctor names the cause and the fix, and once the
// filesystem is writable again everything is as it was.
func TestReadOnlyDataDir(t *testing.T) {
	mount, dir := smallDisk(t)
	data := filepath.Join(dir, "data")
	bin := buildPenny(t)
	srv := startPenny(t, bin, data)
	status, out := call(t, srv, "POST", "/api/auth/register", "", map[string]string{"email": "ada@example.com", "password": "correct horse battery"})
	require.Equal(t, http.StatusCreated, status, out)
	upload(t, srv, out["accessToken"].(string), "kestrel.md", "# Kestrels\n\nThe kestrel hovers over the meadow before it dives.\n")
	srv.stop(t)

	remount := func(flags uintptr) {
		require.NoError(t, syscall.Mount("none", mount, "", syscall.MS_REMOUNT|flags, ""), "remount %s (needs root)", mount)
	}
	remount(syscall.MS_RDONLY)
	t.Cleanup(func() { remount(0) })
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "PENNY_OLLAMA_URL=off"}
	serve := exec.Command(bin, "serve", "--addr", freeAddr(t), "--data-dir", data)
	serve.Env = env
	got, err := serve.CombinedOutput()
	require.Error(t, err, "serve on a read-only filesystem: %s", got)
	require.Contains(t, string(got), "read-only file system")
	doctor := exec.Command(bin, "doctor", "--data-dir", data)
	doctor.Env = env
	got, err = doctor.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(got), "read-only filesystem")
	require.Contains(t, string(got), "mount -o remount,rw")

	remount(0)
	srv = startPenny(t, bin, data)
	status, out = call(t, srv, "POST", "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": "correct horse battery"})
	require.Equal(t, http.StatusOK, status, out)
	status, out = call(t, srv, "GET", "/api/documents", out["accessToken"].(string), nil)
	require.Equal(t, http.StatusOK, status, out)
	require.EqualValues(t, 1, out["total"])
	require.Equal(t, "ready", out["documents"].([]any)[0].(map[string]any)["status"])
	srv.stop(t)
}
