// Package storagetest is the conformance suite every storage backend runs.
// A backend's test calls Run with a function that opens a fresh, empty
// store; the suite checks every repository method and the rules the rest of
// penny relies on (isolation per user, atomic compare-and-set, ordering).
package storagetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/storage"
)

// Run runs the suite; open must return a new empty store per call.
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	tests := map[string]func(*testing.T, storage.Store){
		"Users":            testUsers,
		"FirstUserRace":    testFirstUserRace,
		"Invites":          testInvites,
		"RefreshTokens":    testRefreshTokens,
		"RefreshUseRace":   testRefreshUseRace,
		"APIKeys":          testAPIKeys,
		"Chats":            testChats,
		"Documents":        testDocuments,
		"Sharing":          testSharing,
		"IngestQueue":      testIngestQueue,
		"Ledger":           testLedger,
		"LedgerConcurrent": testLedgerConcurrent,
		"Settings":         testSettings,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			fn(t, s)
		})
	}
}

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func user(email string, role storage.Role) storage.User {
	return storage.User{ID: storage.NewID(), Email: email, PasswordHash: "h", Role: role, CreatedAt: t0}
}

func testUsers(t *testing.T, s storage.Store) {
	ctx := context.Background()
	n, err := s.CountUsers(ctx)
	require.NoError(t, err)
	require.Zero(t, n)

	a := user("Ada@Example.com", storage.RoleAdmin)
	require.NoError(t, s.CreateUser(ctx, a))
	dup := user("ada@example.COM", storage.RoleMember)
	require.ErrorIs(t, s.CreateUser(ctx, dup), storage.ErrConflict)

	got, err := s.UserByEmail(ctx, "ADA@example.com")
	require.NoError(t, err)
	require.Equal(t, a.ID, got.ID)
	require.Equal(t, "ada@example.com", got.Email)
	require.Equal(t, storage.RoleAdmin, got.Role)

	got, err = s.UserByID(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, "ada@example.com", got.Email)

	_, err = s.UserByID(ctx, "nope")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = s.UserByEmail(ctx, "nobody@example.com")
	require.ErrorIs(t, err, storage.ErrNotFound)

	require.NoError(t, s.CreateUser(ctx, user("bob@example.com", storage.RoleMember)))
	all, err := s.ListUsers(ctx)
	require.NoError(t, err)
	require.Len(t, all, 2)
	n, err = s.CountUsers(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.ErrorIs(t, s.CreateFirstUser(ctx, user("c@example.com", storage.RoleAdmin)), storage.ErrConflict)
}

func testFirstUserRace(t *testing.T, s storage.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.CreateFirstUser(ctx, user(fmt.Sprintf("u%d@example.com", i), storage.RoleAdmin))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, storage.ErrConflict)
		}
	}
	require.Equal(t, 1, ok, "exactly one first user")
}

func testInvites(t *testing.T, s storage.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateUser(ctx, user("taken@example.com", storage.RoleMember)))
	inv := storage.Invite{CodeHash: "hash1", Role: storage.RoleMember, CreatedBy: "x", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	require.NoError(t, s.CreateInvite(ctx, inv))

	require.ErrorIs(t, s.RedeemInvite(ctx, "other", t0, user("n@example.com", storage.RoleMember)), storage.ErrNotFound)
	require.ErrorIs(t, s.RedeemInvite(ctx, "hash1", t0.Add(2*time.Hour), user("n@example.com", storage.RoleMember)), storage.ErrNotFound)
	// A taken email leaves the invite usable.
	require.ErrorIs(t, s.RedeemInvite(ctx, "hash1", t0, user("taken@example.com", storage.RoleMember)), storage.ErrConflict)
	require.NoError(t, s.RedeemInvite(ctx, "hash1", t0, user("new@example.com", storage.RoleMember)))
	_, err := s.UserByEmail(ctx, "new@example.com")
	require.NoError(t, err)
	// Single use.
	require.ErrorIs(t, s.RedeemInvite(ctx, "hash1", t0, user("again@example.com", storage.RoleMember)), storage.ErrNotFound)
}

func testRefreshTokens(t *testing.T, s storage.Store) {
	ctx := context.Background()
	a := storage.RefreshToken{ID: storage.NewID(), UserID: "u", FamilyID: "f1", Hash: "a", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	b := storage.RefreshToken{ID: storage.NewID(), UserID: "u", FamilyID: "f1", Hash: "b", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	other := storage.RefreshToken{ID: storage.NewID(), UserID: "u", FamilyID: "f2", Hash: "c", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	for _, tok := range []storage.RefreshToken{a, b, other} {
		require.NoError(t, s.CreateRefreshToken(ctx, tok))
	}
	require.ErrorIs(t, s.CreateRefreshToken(ctx, a), storage.ErrConflict)

	got, err := s.UseRefreshToken(ctx, "a", t0)
	require.NoError(t, err)
	require.Equal(t, "f1", got.FamilyID)
	require.Nil(t, got.UsedAt)

	got, err = s.UseRefreshToken(ctx, "a", t0.Add(time.Second))
	require.ErrorIs(t, err, storage.ErrConflict, "second use is a reuse")
	require.Equal(t, "f1", got.FamilyID, "a reused token still names its family")
	require.NotNil(t, got.UsedAt, "and when it was spent (the reuse grace needs it)")
	require.True(t, got.UsedAt.Equal(t0), "the first use counts")
	require.Nil(t, got.RevokedAt)

	_, err = s.UseRefreshToken(ctx, "zzz", t0)
	require.ErrorIs(t, err, storage.ErrNotFound)

	require.NoError(t, s.RevokeRefreshFamily(ctx, "f1", t0))
	_, err = s.UseRefreshToken(ctx, "b", t0)
	require.ErrorIs(t, err, storage.ErrConflict, "revoked with its family")
	got, err = s.UseRefreshToken(ctx, "a", t0)
	require.ErrorIs(t, err, storage.ErrConflict)
	require.NotNil(t, got.RevokedAt, "a spent token is revoked with its family too")
	_, err = s.UseRefreshToken(ctx, "c", t0)
	require.NoError(t, err, "another family is untouched")
}

func testRefreshUseRace(t *testing.T, s storage.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateRefreshToken(ctx, storage.RefreshToken{ID: storage.NewID(), UserID: "u", FamilyID: "f", Hash: "h", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.UseRefreshToken(ctx, "h", t0); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 1, ok, "a refresh token is spent exactly once")
}

func testAPIKeys(t *testing.T, s storage.Store) {
	ctx := context.Background()
	k1 := storage.APIKey{ID: storage.NewID(), UserID: "u1", Name: "ci", Prefix: "pk-abc", Hash: "h1", CreatedAt: t0}
	k2 := storage.APIKey{ID: storage.NewID(), UserID: "u1", Name: "laptop", Prefix: "pk-def", Hash: "h2", CreatedAt: t0}
	k3 := storage.APIKey{ID: storage.NewID(), UserID: "u2", Name: "x", Prefix: "pk-ghi", Hash: "h3", CreatedAt: t0}
	for _, k := range []storage.APIKey{k1, k2, k3} {
		require.NoError(t, s.CreateAPIKey(ctx, k))
	}
	got, err := s.APIKeyByHash(ctx, "h2")
	require.NoError(t, err)
	require.Equal(t, k2.ID, got.ID)
	list, err := s.ListAPIKeys(ctx, "u1")
	require.NoError(t, err)
	require.Len(t, list, 2)
	none, err := s.ListAPIKeys(ctx, "u3")
	require.NoError(t, err)
	require.Empty(t, none)

	require.ErrorIs(t, s.DeleteAPIKey(ctx, "u2", k1.ID), storage.ErrNotFound, "another user's key")
	require.NoError(t, s.DeleteAPIKey(ctx, "u1", k1.ID))
	_, err = s.APIKeyByHash(ctx, "h1")
	require.ErrorIs(t, err, storage.ErrNotFound)
	require.ErrorIs(t, s.DeleteAPIKey(ctx, "u1", k1.ID), storage.ErrNotFound)
}

func testChats(t *testing.T, s storage.Store) {
	ctx := context.Background()
	c1 := storage.Chat{ID: storage.NewID(), UserID: "u1", Title: "one", CreatedAt: t0, UpdatedAt: t0}
	c2 := storage.Chat{ID: storage.NewID(), UserID: "u1", Title: "two", CreatedAt: t0, UpdatedAt: t0.Add(time.Minute)}
	c3 := storage.Chat{ID: storage.NewID(), UserID: "u2", Title: "other", CreatedAt: t0, UpdatedAt: t0}
	for _, c := range []storage.Chat{c1, c2, c3} {
		require.NoError(t, s.CreateChat(ctx, c))
	}
	_, err := s.ChatByID(ctx, "u2", c1.ID)
	require.ErrorIs(t, err, storage.ErrNotFound)

	list, err := s.ListChats(ctx, "u1")
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, c2.ID, list[0].ID, "most recently updated first")

	m1 := storage.Message{ID: storage.NewID(), ChatID: c1.ID, UserID: "u1", Role: "user", Content: "hi", CreatedAt: t0.Add(2 * time.Minute)}
	m2 := storage.Message{ID: storage.NewID(), ChatID: c1.ID, UserID: "u1", Role: "assistant", Content: "hello [1]",
		Citations: []storage.Citation{{N: 1, DocumentID: "d", ChunkID: "c", Start: 1, End: 5, Score: 0.5}},
		Provider:  "local", Model: "m", CostMicros: 7, CreatedAt: t0.Add(3 * time.Minute)}
	require.NoError(t, s.AddMessage(ctx, m1))
	require.NoError(t, s.AddMessage(ctx, m2))
	require.ErrorIs(t, s.AddMessage(ctx, storage.Message{ID: storage.NewID(), ChatID: c1.ID, UserID: "u2", Role: "user", Content: "x"}), storage.ErrNotFound)

	msgs, err := s.ListMessages(ctx, "u1", c1.ID)
	require.NoError(t, err)
	require.Len(t, msgs, 2)
	require.Equal(t, "hi", msgs[0].Content)
	require.Equal(t, m2.Citations, msgs[1].Citations)
	require.Equal(t, int64(7), msgs[1].CostMicros)
	_, err = s.ListMessages(ctx, "u2", c1.ID)
	require.ErrorIs(t, err, storage.ErrNotFound)

	list, err = s.ListChats(ctx, "u1")
	require.NoError(t, err)
	require.Equal(t, c1.ID, list[0].ID, "a new message moves the chat to the top")

	// Feedback: only on one's own messages.
	_, err = s.SetFeedback(ctx, "u2", m2.ID, storage.Feedback{Rating: "down", At: t0})
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = s.SetFeedback(ctx, "u1", "nope", storage.Feedback{Rating: "up", At: t0})
	require.ErrorIs(t, err, storage.ErrNotFound)
	rated, err := s.SetFeedback(ctx, "u1", m2.ID, storage.Feedback{Rating: "up", Comment: "clear", At: t0})
	require.NoError(t, err)
	require.Equal(t, "up", rated.Feedback.Rating)
	msgs, err = s.ListMessages(ctx, "u1", c1.ID)
	require.NoError(t, err)
	require.Equal(t, "clear", msgs[1].Feedback.Comment)

	var seen []string
	require.NoError(t, s.EachMessage(ctx, t0.Add(150*time.Second), t0.Add(time.Hour), func(m storage.Message) error {
		seen = append(seen, m.ID)
		return nil
	}))
	require.Equal(t, []string{m2.ID}, seen, "[from, to), across users")
}

func testDocuments(t *testing.T, s storage.Store) {
	ctx := context.Background()
	d1 := storage.Document{ID: storage.NewID(), OwnerID: "u1", Title: "a", Status: storage.DocumentReady, Chunks: 2, CreatedAt: t0}
	d2 := storage.Document{ID: storage.NewID(), OwnerID: "u1", Title: "b", Status: storage.DocumentReady, Chunks: 1, CreatedAt: t0}
	chunks := []storage.Chunk{
		{ID: storage.NewID(), DocumentID: d1.ID, OwnerID: "u1", Ordinal: 0, Text: "alpha", Start: 0, End: 5, Vector: []float32{1, 0, -0.5}},
		{ID: storage.NewID(), DocumentID: d1.ID, OwnerID: "u1", Ordinal: 1, Text: "beta", Start: 6, End: 10, Vector: []float32{0, 1, 0.25}},
		{ID: storage.NewID(), DocumentID: d2.ID, OwnerID: "u1", Ordinal: 0, Text: "gamma", Start: 0, End: 5, Vector: []float32{0, 0, 1}},
	}
	require.NoError(t, s.CreateDocuments(ctx, []storage.Document{d1, d2}, chunks))

	// All or nothing: a chunk of an unknown document aborts the whole write.
	d3 := storage.Document{ID: storage.NewID(), OwnerID: "u1", Title: "c"}
	bad := storage.Chunk{ID: storage.NewID(), DocumentID: "missing", OwnerID: "u1"}
	require.Error(t, s.CreateDocuments(ctx, []storage.Document{d3}, []storage.Chunk{bad}))
	_, err := s.DocumentByID(ctx, "u1", d3.ID)
	require.ErrorIs(t, err, storage.ErrNotFound, "nothing half-written")

	got, err := s.DocumentByID(ctx, "u1", d1.ID)
	require.NoError(t, err)
	require.Equal(t, "a", got.Title)
	_, err = s.DocumentByID(ctx, "u2", d1.ID)
	require.ErrorIs(t, err, storage.ErrNotFound)

	list, err := s.ListDocuments(ctx, "u1")
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, d2.ID, list[0].ID, "newest first")
	other, err := s.ListDocuments(ctx, "u2")
	require.NoError(t, err)
	require.Empty(t, other)

	cs, err := s.ChunksByID(ctx, []string{chunks[1].ID, "missing", chunks[0].ID})
	require.NoError(t, err)
	require.Len(t, cs, 2)
	require.Equal(t, chunks[1].ID, cs[0].ID)
	require.Equal(t, []float32{0, 1, 0.25}, cs[0].Vector)

	c, err := s.ChunkByID(ctx, "u1", d1.ID, chunks[0].ID)
	require.NoError(t, err)
	require.Equal(t, "alpha", c.Text)
	_, err = s.ChunkByID(ctx, "u2", d1.ID, chunks[0].ID)
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = s.ChunkByID(ctx, "u1", d2.ID, chunks[0].ID)
	require.ErrorIs(t, err, storage.ErrNotFound, "chunk of another document")

	n, err := s.CountChunks(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	seen := 0
	require.NoError(t, s.EachChunk(ctx, func(c storage.Chunk) error {
		seen++
		require.NotEmpty(t, c.Vector)
		return nil
	}))
	require.Equal(t, 3, seen)
	var ids []string
	require.NoError(t, s.EachChunkID(ctx, func(id string) error { ids = append(ids, id); return nil }))
	require.ElementsMatch(t, []string{chunks[0].ID, chunks[1].ID, chunks[2].ID}, ids)

	_, err = s.DeleteDocument(ctx, "u2", d1.ID)
	require.ErrorIs(t, err, storage.ErrNotFound)
	removed, err := s.DeleteDocument(ctx, "u1", d1.ID)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{chunks[0].ID, chunks[1].ID}, removed)
	_, err = s.DocumentByID(ctx, "u1", d1.ID)
	require.ErrorIs(t, err, storage.ErrNotFound)
	n, err = s.CountChunks(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	cs, err = s.ChunksByID(ctx, []string{chunks[0].ID})
	require.NoError(t, err)
	require.Empty(t, cs)
}

func testLedger(t *testing.T, s storage.Store) {
	ctx := context.Background()
	for i, u := range []string{"u1", "u2", "u1", "u1"} {
		e := storage.LedgerEntry{ID: storage.NewID(), Time: t0.Add(time.Duration(i) * time.Hour), UserID: u,
			Service: storage.ServiceRAG, Provider: "local", Model: "m", TokensIn: 10 * (i + 1), CostMicros: int64(i), BaselineMicros: 100, Outcome: storage.OutcomeOK, Reasons: []string{"r"}}
		require.NoError(t, s.AppendLedger(ctx, e))
	}
	var got []storage.LedgerEntry
	collect := func(e storage.LedgerEntry) error { got = append(got, e); return nil }

	require.NoError(t, s.EachLedger(ctx, storage.LedgerFilter{From: t0, To: t0.Add(10 * time.Hour)}, collect))
	require.Len(t, got, 4)
	for i := 1; i < len(got); i++ {
		require.False(t, got[i].Time.Before(got[i-1].Time), "time order")
	}
	require.Equal(t, []string{"r"}, got[0].Reasons)

	got = nil
	require.NoError(t, s.EachLedger(ctx, storage.LedgerFilter{From: t0.Add(time.Hour), To: t0.Add(3 * time.Hour)}, collect))
	require.Len(t, got, 2, "[from, to)")

	got = nil
	require.NoError(t, s.EachLedger(ctx, storage.LedgerFilter{From: t0, To: t0.Add(10 * time.Hour), UserID: "u1"}, collect))
	require.Len(t, got, 3)
	for _, e := range got {
		require.Equal(t, "u1", e.UserID)
	}
}

func testSettings(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, err := s.GetSetting(ctx, "k")
	require.ErrorIs(t, err, storage.ErrNotFound)
	require.NoError(t, s.PutSetting(ctx, "k", []byte(`{"a":1}`)))
	v, err := s.GetSetting(ctx, "k")
	require.NoError(t, err)
	require.JSONEq(t, `{"a":1}`, string(v))

	v, err = s.PutSettingIfAbsent(ctx, "once", []byte("first"))
	require.NoError(t, err)
	require.Equal(t, "first", string(v))
	v, err = s.PutSettingIfAbsent(ctx, "once", []byte("second"))
	require.NoError(t, err)
	require.Equal(t, "first", string(v), "the first value stays")

	ver, err := s.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Positive(t, ver)
}

// testLedgerConcurrent: concurrent appends are all stored, none twice.
func testLedgerConcurrent(t *testing.T, s storage.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				e := storage.LedgerEntry{ID: storage.NewID(), Time: t0.Add(time.Duration(w*50+i) * time.Millisecond), UserID: "u", Outcome: storage.OutcomeOK, CostMicros: 1}
				require.NoError(t, s.AppendLedger(ctx, e))
			}
		}()
	}
	wg.Wait()
	n, total := 0, int64(0)
	require.NoError(t, s.EachLedger(ctx, storage.LedgerFilter{From: t0, To: t0.Add(time.Hour)}, func(e storage.LedgerEntry) error {
		n++
		total += e.CostMicros
		return nil
	}))
	require.Equal(t, 800, n)
	require.Equal(t, int64(800), total)
	dup := storage.LedgerEntry{ID: "same", Time: t0}
	require.NoError(t, s.AppendLedger(ctx, dup))
	require.ErrorIs(t, s.AppendLedger(ctx, dup), storage.ErrConflict)
}

// testIngestQueue: enqueue, lease, retry, complete, fail; no job is
// claimed twice while leased.
func testIngestQueue(t *testing.T, s storage.Store) {
	ctx := context.Background()
	d1 := storage.Document{ID: storage.NewID(), OwnerID: "u", Title: "a", Status: storage.DocumentQueued, CreatedAt: t0}
	d2 := storage.Document{ID: storage.NewID(), OwnerID: "u", Title: "b", Status: storage.DocumentQueued, CreatedAt: t0}
	require.NoError(t, s.EnqueueDocuments(ctx, []storage.Document{d1, d2}, []storage.IngestJob{
		{DocumentID: d1.ID, OwnerID: "u", NextAt: t0, CreatedAt: t0},
		{DocumentID: d2.ID, OwnerID: "u", NextAt: t0, CreatedAt: t0.Add(time.Second)},
	}))
	j, ok, err := s.ClaimIngestJob(ctx, t0, t0.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, d1.ID, j.DocumentID, "oldest first")
	j2, ok, err := s.ClaimIngestJob(ctx, t0, t0.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, d2.ID, j2.DocumentID, "a leased job is not claimed twice")
	_, ok, err = s.ClaimIngestJob(ctx, t0, t0.Add(time.Hour))
	require.NoError(t, err)
	require.False(t, ok)

	require.NoError(t, s.SetDocumentStatus(ctx, d1.ID, storage.DocumentEmbedding, storage.Progress{Done: 1, Total: 3}, ""))
	got, err := s.DocumentByID(ctx, "u", d1.ID)
	require.NoError(t, err)
	require.Equal(t, storage.DocumentEmbedding, got.Status)
	require.Equal(t, &storage.Progress{Done: 1, Total: 3}, got.Progress)

	// Retry later: not due before nextAt.
	require.NoError(t, s.RetryIngest(ctx, d1.ID, 1, t0.Add(time.Hour), "provider down; retrying"))
	_, ok, err = s.ClaimIngestJob(ctx, t0.Add(2*time.Minute), t0.Add(3*time.Minute))
	require.NoError(t, err)
	require.False(t, ok, "d1 waits for its retry time, d2 is still leased")
	// A lease that ran out (its worker died) is claimed again, oldest first.
	j, ok, err = s.ClaimIngestJob(ctx, t0.Add(2*time.Hour), t0.Add(3*time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 1, j.Attempts)

	chunks := []storage.Chunk{{ID: storage.NewID(), DocumentID: d1.ID, OwnerID: "u", Text: "x", Vector: []float32{1}}}
	require.NoError(t, s.CompleteIngest(ctx, d1.ID, 3, chunks))
	got, err = s.DocumentByID(ctx, "u", d1.ID)
	require.NoError(t, err)
	require.Equal(t, storage.DocumentReady, got.Status)
	require.Equal(t, 1, got.Chunks)
	require.Equal(t, 3, got.Pages)
	require.Nil(t, got.Progress)
	require.ErrorIs(t, s.CompleteIngest(ctx, d1.ID, 0, nil), storage.ErrNotFound, "completed once")

	require.NoError(t, s.FailIngest(ctx, d2.ID, "needs OCR"))
	got, err = s.DocumentByID(ctx, "u", d2.ID)
	require.NoError(t, err)
	require.Equal(t, storage.DocumentFailed, got.Status)
	require.Equal(t, "needs OCR", got.Error)

	// A restart frees leases.
	d3 := storage.Document{ID: storage.NewID(), OwnerID: "u", Status: storage.DocumentQueued, CreatedAt: t0}
	require.NoError(t, s.EnqueueDocuments(ctx, []storage.Document{d3}, []storage.IngestJob{{DocumentID: d3.ID, OwnerID: "u", NextAt: t0, CreatedAt: t0}}))
	_, ok, err = s.ClaimIngestJob(ctx, t0, t0.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, s.ReleaseIngestLeases(ctx))
	_, ok, err = s.ClaimIngestJob(ctx, t0, t0.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	// Deleting a queued document deletes its job.
	_, err = s.DeleteDocument(ctx, "u", d3.ID)
	require.NoError(t, err)
	require.NoError(t, s.ReleaseIngestLeases(ctx))
	_, ok, err = s.ClaimIngestJob(ctx, t0.Add(24*time.Hour), t0.Add(25*time.Hour))
	require.NoError(t, err)
	require.False(t, ok)
}

// testSharing: a shared document is readable (not deletable) by its
// readers, and by everyone when shared with all; unsharing takes it back.
func testSharing(t *testing.T, s storage.Store) {
	ctx := context.Background()
	a, b, c := user("a@example.com", storage.RoleMember), user("b@example.com", storage.RoleMember), user("c@example.com", storage.RoleMember)
	for _, u := range []storage.User{a, b, c} {
		require.NoError(t, s.CreateUser(ctx, u))
	}
	d := storage.Document{ID: storage.NewID(), OwnerID: a.ID, Title: "a's", Status: storage.DocumentReady, CreatedAt: t0}
	chunk := storage.Chunk{ID: storage.NewID(), DocumentID: d.ID, OwnerID: a.ID, Text: "x", Vector: []float32{1}}
	require.NoError(t, s.CreateDocuments(ctx, []storage.Document{d}, []storage.Chunk{chunk}))

	readable := func(u storage.User) int {
		docs, err := s.ReadableDocuments(ctx, u.ID)
		require.NoError(t, err)
		return len(docs)
	}
	require.Equal(t, 1, readable(a))
	require.Equal(t, 0, readable(b))
	_, err := s.DocumentByID(ctx, b.ID, d.ID)
	require.ErrorIs(t, err, storage.ErrNotFound)

	_, err = s.ShareDocument(ctx, b.ID, d.ID, []string{b.ID}, false)
	require.ErrorIs(t, err, storage.ErrNotFound, "only the owner shares")
	_, err = s.ShareDocument(ctx, a.ID, d.ID, []string{"no-such-user"}, false)
	require.ErrorIs(t, err, storage.ErrNotFound)
	shared, err := s.ShareDocument(ctx, a.ID, d.ID, []string{b.ID}, false)
	require.NoError(t, err)
	require.Equal(t, []string{b.ID}, shared.SharedWith)
	require.Equal(t, 1, readable(b))
	require.Equal(t, 0, readable(c))
	_, err = s.ChunkByID(ctx, b.ID, d.ID, chunk.ID)
	require.NoError(t, err, "a reader may open the cited span")
	_, err = s.DeleteDocument(ctx, b.ID, d.ID)
	require.ErrorIs(t, err, storage.ErrNotFound, "readers do not delete")
	mine, err := s.ListDocuments(ctx, b.ID)
	require.NoError(t, err)
	require.Empty(t, mine, "shared is not owned")

	_, err = s.ShareDocument(ctx, a.ID, d.ID, nil, true)
	require.NoError(t, err)
	require.Equal(t, 1, readable(c), "everyone")
	require.Equal(t, 1, readable(b))
	require.Equal(t, 1, readable(a), "listed once for its owner")

	_, err = s.ShareDocument(ctx, a.ID, d.ID, nil, false)
	require.NoError(t, err)
	require.Equal(t, 0, readable(b))
	require.Equal(t, 0, readable(c))
	_, err = s.ShareDocument(ctx, a.ID, d.ID, []string{c.ID}, false)
	require.NoError(t, err)
	_, err = s.DeleteDocument(ctx, a.ID, d.ID)
	require.NoError(t, err)
	require.Equal(t, 0, readable(c), "deleting removes the shares")
}
