package documents_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/documents"
	"github.com/penny-dev/penny/providers/router"
	"github.com/penny-dev/penny/storage"
	"github.com/penny-dev/penny/storage/blobfs"
	"github.com/penny-dev/penny/storage/bolt"
)

// fullDisk is a store and a blob store on a disk that is full for the
// first fails writes of the kinds it fails.
type fullDisk struct {
	*bolt.Store
	blobs        storage.BlobStore
	mu           sync.Mutex
	fails        int
	blobTries    int
	retryRecords int
}

func (f *fullDisk) full(counter *int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	*counter++
	if *counter <= f.fails {
		return fmt.Errorf("write penny.db: %w", syscall.ENOSPC)
	}
	return nil
}

// PutBlob fails for the extracted text (the original is written by the
// upload, before the disk fills).
func (f *fullDisk) PutBlob(ctx context.Context, name string, data []byte) error {
	if filepath.Ext(name) != ".orig" {
		if err := f.full(&f.blobTries); err != nil {
			return err
		}
	}
	return f.blobs.PutBlob(ctx, name, data)
}

func (f *fullDisk) GetBlob(ctx context.Context, name string) ([]byte, error) {
	return f.blobs.GetBlob(ctx, name)
}

func (f *fullDisk) DeleteBlob(ctx context.Context, name string) error {
	return f.blobs.DeleteBlob(ctx, name)
}

func (f *fullDisk) RetryIngest(ctx context.Context, id string, attempts int, nextAt time.Time, errMsg string) error {
	if err := f.full(&f.retryRecords); err != nil {
		return err
	}
	return f.Store.RetryIngest(ctx, id, attempts, nextAt, errMsg)
}

type embedder struct{}

func (embedder) Embed(_ context.Context, _ router.Call, _ string, texts []string) (router.EmbedResult, error) {
	out := router.EmbedResult{Vectors: make([][]float32, len(texts))}
	for i := range texts {
		out.Vectors[i] = []float32{1, 0, 0}
	}
	return out, nil
}

type index struct{}

func (index) Add(context.Context, []storage.Chunk) error { return nil }
func (index) Remove(context.Context, []string) error     { return nil }

// A full disk while a document is ingested: its extracted text cannot be
// written, and neither can the record of the retry. The worker keeps the
// job (its lease would otherwise hide it for ten minutes) and runs it
// again; the full disk costs the document none of its attempts, and it is
// ready once there is room.
func TestFullDiskKeepsTheJob(t *testing.T) {
	documents.SetDiskFullWait(t, 20*time.Millisecond)
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "penny.db"), bolt.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	disk := &fullDisk{Store: st, blobs: blobfs.New(filepath.Join(dir, "files")), fails: 12}
	svc := documents.New(disk, embedder{}, index{}, documents.Options{Blobs: disk, EmbedModel: "test/embed", MaxFileBytes: 1 << 20,
		Chunker: documents.Chunker{Target: 200, Overlap: 20}})
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { svc.Run(ctx, 1) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	docs, err := svc.Upload(ctx, "ada", "req-1", "", []documents.File{{Name: "herons.md", Data: []byte("# Herons\n\nGrey herons nest in heronries near the lake.\n")}})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		d, err := svc.Get(ctx, "ada", docs[0].ID)
		require.NoError(t, err)
		require.NotEqual(t, storage.DocumentFailed, d.Status, d.Error)
		return d.Status == storage.DocumentReady
	}, 10*time.Second, 10*time.Millisecond)
	disk.mu.Lock()
	defer disk.mu.Unlock()
	require.Equal(t, 13, disk.blobTries, "twelve tries on a full disk, more than maxAttempts (8), then one with room")
	require.Equal(t, 12, disk.retryRecords, "no retry could be recorded: the worker kept the job")
}
