package documents

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/app/retrieval"
	"github.com/penny-dev/penny/providers/router"
	"github.com/penny-dev/penny/storage"
)

// Queue tunables.
const (
	// leaseFor is how long a worker holds a job before another may take it.
	leaseFor = 10 * time.Minute
	// maxAttempts is how often a failing job is tried before it fails.
	maxAttempts = 8
	// maxBackoff caps the wait between attempts (1 s, 2 s, 4 s, …).
	maxBackoff = 5 * time.Minute
	// poll is how often idle workers look for retries that came due.
	poll = time.Second
)

// diskFullWait is the wait before a job that met a full disk runs again;
// such attempts do not count against maxAttempts. A variable for tests.
var diskFullWait = 5 * time.Second

// originalName is the blob of a document's uploaded file; its extracted
// text is the blob named by the bare id.
func originalName(id string) string { return id + ".orig" }

// wake tells an idle worker that there is work.
func (s *Service) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Run works the ingest queue with n workers until ctx ends; jobs in
// flight are abandoned and re-run after a restart (their chunks were not
// written).
func (s *Service) Run(ctx context.Context, n int) {
	if !s.opts.Shared {
		if err := s.store.ReleaseIngestLeases(ctx); err != nil {
			s.opts.Logger.Error("release ingest leases", slog.Any("error", err))
		}
	}
	var wg sync.WaitGroup
	for range max(n, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.work(ctx)
		}()
	}
	wg.Wait()
}

func (s *Service) work(ctx context.Context) {
	for ctx.Err() == nil {
		now := s.opts.Now().UTC()
		job, ok, err := s.store.ClaimIngestJob(ctx, now, now.Add(leaseFor))
		if err != nil {
			s.opts.Logger.Error("claim ingest job", slog.Any("error", err))
		}
		if !ok || err != nil {
			select {
			case <-ctx.Done():
				return
			case <-s.notify:
			case <-time.After(poll):
			}
			continue
		}
		// A job whose retry the store could not record (its disk is
		// full) stays with this worker, which runs it again while its
		// lease lasts; otherwise the lease would hide it for leaseFor.
		leaseEnd := now.Add(leaseFor - time.Minute)
		for again := s.process(ctx, &job); again > 0 && s.opts.Now().Add(again).Before(leaseEnd); again = s.process(ctx, &job) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(again):
			}
		}
		s.wake() // there may be more
	}
}

// process runs one job: parse, chunk, embed, commit, index. It returns
// when to run the job again if the store could not schedule the retry
// (0: done, failed or scheduled in the store).
func (s *Service) process(ctx context.Context, job *storage.IngestJob) time.Duration {
	log := s.opts.Logger.With(slog.String("document", job.DocumentID))
	doc, err := s.store.DocumentByID(ctx, job.OwnerID, job.DocumentID)
	if err != nil {
		log.Warn("ingest job without its document", slog.Any("error", err))
		_ = s.store.FailIngest(ctx, job.DocumentID, "the document is gone")
		return 0
	}
	fail := func(reason string) {
		log.Warn("ingest failed", slog.String("reason", reason))
		if err := s.store.FailIngest(context.WithoutCancel(ctx), doc.ID, reason); err != nil {
			log.Error("record ingest failure", slog.Any("error", err))
		}
	}
	data, err := s.opts.Blobs.GetBlob(ctx, originalName(doc.ID))
	if errors.Is(err, storage.ErrNotFound) {
		fail("the uploaded file is missing from the blob store")
		return 0
	}
	if err != nil {
		return s.retry(ctx, job, err)
	}
	_ = s.store.SetDocumentStatus(ctx, doc.ID, storage.DocumentParsing, storage.Progress{}, "")
	p, err := s.parse(ctx, File{Name: doc.Filename, Data: data}, doc.CreatedAt)
	if err != nil {
		if e, ok := apperr.As(err); ok {
			fail(e.Message)
			return 0
		}
		return s.retry(ctx, job, err)
	}
	chunks := make([]storage.Chunk, len(p.spans))
	for i, sp := range p.spans {
		if sp.Heading == "" {
			// A chunk without a heading is introduced by its document's
			// title: later chunks of a paper or a page keep their subject.
			sp.Heading = doc.Title
		}
		chunks[i] = storage.Chunk{ID: storage.NewID(), DocumentID: doc.ID, OwnerID: doc.OwnerID, Ordinal: i, Heading: sp.Heading,
			Text: sp.Text, Start: sp.Start, End: sp.End, Tokens: sp.Tokens, EmbedModel: s.opts.EmbedModel, Page: p.ex.PageAt(sp.Start)}
	}
	call := router.Call{UserID: doc.OwnerID, Service: storage.ServiceIngest, Collection: doc.Collection}
	for start := 0; start < len(chunks); start += s.opts.EmbedBatch {
		_ = s.store.SetDocumentStatus(ctx, doc.ID, storage.DocumentEmbedding, storage.Progress{Done: start, Total: len(chunks)}, "")
		batch := chunks[start:min(start+s.opts.EmbedBatch, len(chunks))]
		texts := make([]string, len(batch))
		for i, c := range batch {
			texts[i] = retrieval.EmbedText(c)
		}
		res, err := s.embed.Embed(ctx, call, s.opts.EmbedModel, texts)
		if err != nil {
			return s.retry(ctx, job, fmt.Errorf("embedding with %s: %w", s.opts.EmbedModel, err))
		}
		for i := range batch {
			batch[i].Vector = res.Vectors[i]
		}
	}
	if err := s.opts.Blobs.PutBlob(ctx, doc.ID, []byte(p.ex.Text)); err != nil {
		return s.retry(ctx, job, err)
	}
	if err := s.store.CompleteIngest(context.WithoutCancel(ctx), doc.ID, len(p.ex.PageStarts), chunks); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return 0 // deleted meanwhile
		}
		return s.retry(ctx, job, err)
	}
	if err := s.index.Add(ctx, chunks); err != nil {
		// The store has them: the indexes are rebuilt from it at the next start.
		log.Error("index new chunks", slog.Any("error", err))
	}
	log.Info("document ready", slog.Int("chunks", len(chunks)), slog.Int("attempts", job.Attempts+1))
	return 0
}

// retry schedules another attempt with exponential backoff, or fails the
// document after maxAttempts. A full disk is not the document's fault: it
// costs no attempt and is tried again after diskFullWait. When the store
// cannot record the retry, retry returns the wait and the caller keeps
// the job (with job.Attempts counted); otherwise it returns 0.
func (s *Service) retry(ctx context.Context, job *storage.IngestJob, cause error) time.Duration {
	if ctx.Err() != nil {
		return 0 // shutting down: the job is re-run after the restart
	}
	attempt := job.Attempts + 1
	counted, wait := attempt, min(time.Second<<(attempt-1), maxBackoff)
	if storage.DiskFull(cause) {
		counted, wait = job.Attempts, diskFullWait
	}
	if counted >= maxAttempts {
		_ = s.store.FailIngest(ctx, job.DocumentID, fmt.Sprintf("gave up after %d attempts: %v", counted, cause))
		return 0
	}
	s.opts.Logger.Warn("ingest attempt failed; retrying", slog.String("document", job.DocumentID), slog.Int("attempt", attempt),
		slog.Duration("in", wait), slog.Any("error", cause))
	msg := fmt.Sprintf("attempt %d failed (%v); retrying in %s", attempt, cause, wait)
	if err := s.store.RetryIngest(ctx, job.DocumentID, counted, s.opts.Now().UTC().Add(wait), msg); err != nil {
		s.opts.Logger.Error("schedule ingest retry; this worker keeps the job", slog.String("document", job.DocumentID), slog.Any("error", err))
		job.Attempts = counted
		return wait
	}
	return 0
}

// Wait blocks until every document in ids is ready or failed, or ctx ends,
// and returns them as they are then.
func (s *Service) Wait(ctx context.Context, userID string, ids []string) ([]storage.Document, error) {
	out := make([]storage.Document, len(ids))
	for {
		done := true
		for i, id := range ids {
			d, err := s.store.DocumentByID(ctx, userID, id)
			if err != nil {
				return nil, err
			}
			out[i] = d
			if d.Status != storage.DocumentReady && d.Status != storage.DocumentFailed {
				done = false
			}
		}
		if done {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return out, nil
		case <-time.After(25 * time.Millisecond):
		}
	}
}
