package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSIGKILLLosesNothingAcknowledged kills `penny serve` with SIGKILL at
// random moments while uploads and chat messages are in flight, 20 times
// on one data dir. After every restart the store opens, every upload that
// was acknowledged (202) is there and reaches ready, every answer that was
// acknowledged (201) is in its chat, and at the end the indexes agree with
// the store (penny doctor) and every document is found by its own word.
func TestSIGKILLLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts the server 20 times")
	}
	bin := buildPenny(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 11))
	const password = "correct horse battery"

	type message struct{ chat, id string }
	var (
		mu       sync.Mutex
		docs     = map[string]string{} // acknowledged document id → its unique word
		messages []message
	)
	token := func(s *server) string {
		path := "/api/auth/login"
		if len(docs) == 0 && len(messages) == 0 {
			path = "/api/auth/register"
		}
		status, out := call(t, s, "POST", path, "", map[string]string{"email": "ada@example.com", "password": password})
		if status == http.StatusConflict { // registered in a run that was killed before anything else
			status, out = call(t, s, "POST", "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": password})
		}
		require.Less(t, status, 300, "sign in after restart: %v", out)
		return out["accessToken"].(string)
	}

	for round := range 20 {
		srv := startPenny(t, bin, dir)
		tok := token(srv)
		var chatID string
		if status, out := call(t, srv, "POST", "/api/chats", tok, map[string]any{"title": fmt.Sprint("round ", round)}); status == http.StatusCreated {
			chatID = out["id"].(string)
		}

		// Traffic until the kill: uploads (not waiting for ingestion) and
		// chat messages, from two clients at once.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				word := fmt.Sprintf("kestrel%dx%d", round, i)
				id, ok := uploadNoWait(srv, tok, word+".md", "# "+word+"\n\nThe "+word+" hovers over the meadow before it dives.\n")
				if ok {
					mu.Lock()
					docs[id] = word
					mu.Unlock()
				}
			}
		})
		wg.Go(func() {
			for i := 0; chatID != ""; i++ {
				select {
				case <-stop:
					return
				default:
				}
				status, out := callQuiet(srv, "POST", "/api/chats/"+chatID+"/messages", tok, map[string]any{"content": fmt.Sprint("What hovers over the meadow? ", i)})
				if status == http.StatusCreated {
					m := out["message"].(map[string]any)
					mu.Lock()
					messages = append(messages, message{chatID, m["id"].(string)})
					mu.Unlock()
				}
			}
		})
		time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		require.NoError(t, srv.cmd.Process.Signal(syscall.SIGKILL))
		close(stop)
		wg.Wait()
		_ = srv.cmd.Wait()
	}

	// The last start: everything acknowledged is there.
	srv := startPenny(t, bin, dir)
	tok := token(srv)
	require.NotEmpty(t, docs, "uploads were acknowledged")
	require.NotEmpty(t, messages, "answers were acknowledged")
	allReady(t, srv, tok, docs)
	byChat := map[string]map[string]bool{}
	for _, m := range messages {
		if byChat[m.chat] == nil {
			byChat[m.chat] = map[string]bool{}
			status, out := call(t, srv, "GET", "/api/chats/"+m.chat+"/messages", tok, nil)
			require.Equal(t, http.StatusOK, status)
			for _, x := range out["messages"].([]any) {
				byChat[m.chat][x.(map[string]any)["id"].(string)] = true
			}
		}
		require.True(t, byChat[m.chat][m.id], "acknowledged answer %s is lost", m.id)
	}
	foundByOwnWord(t, srv, tok, docs)
	srv.stop(t)
	doctorPasses(t, bin, dir, "20 kills")
	t.Logf("20 kills: %d acknowledged uploads and %d acknowledged answers, none lost", len(docs), len(messages))
}
