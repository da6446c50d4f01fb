// Package documents is uploading, listing and deleting a user's documents.
// An upload is validated whole before anything is written; the originals
// are written to the data dir (fsync) and the documents committed with
// their ingest jobs in one transaction before the upload returns (202).
// Workers then parse, chunk and embed each document (through the router,
// in batches, with progress), and commit its chunks, its "ready" status and
// the end of its job in one transaction; a crash re-runs the job without
// duplicating chunks.
package documents

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/providers/router"
	"github.com/penny-dev/penny/storage"
)

// Store is what documents needs from storage.
type Store interface {
	storage.IngestStore
	ReadableDocuments(ctx context.Context, userID string) ([]storage.Document, error)
	ShareDocument(ctx context.Context, ownerID, id string, userIDs []string, all bool) (storage.Document, error)
	UserByEmail(ctx context.Context, email string) (storage.User, error)
	DocumentByID(ctx context.Context, ownerID, id string) (storage.Document, error)
	ListDocuments(ctx context.Context, ownerID string) ([]storage.Document, error)
	DeleteDocument(ctx context.Context, ownerID, id string) ([]string, error)
	ChunkByID(ctx context.Context, ownerID, documentID, chunkID string) (storage.Chunk, error)
}

// Embedder embeds through the router.
type Embedder interface {
	Embed(ctx context.Context, call router.Call, model string, texts []string) (router.EmbedResult, error)
}

// Index keeps the search indexes in step.
type Index interface {
	Add(ctx context.Context, chunks []storage.Chunk) error
	Remove(ctx context.Context, ids []string) error
}

// Options configure the Service.
type Options struct {
	// Blobs keeps every upload's original ("ID.orig") and extracted text
	// ("ID"), where every worker can read them.
	Blobs storage.BlobStore
	// Shared says several replicas share the store: a job's lease expires
	// by itself instead of being released when this process starts.
	Shared bool
	// MaxFileBytes caps one file.
	MaxFileBytes int64
	Chunker      Chunker
	// EmbedModel is the model of the search index.
	EmbedModel string
	// EmbedBatch is how many chunks go into one embedding call. Default 64.
	EmbedBatch int
	// PDF reads PDFs (nil: PDFs are refused).
	PDF PDFReader
	// Limits bound extraction; MaxChunks caps chunks per document
	// (default 20000).
	Limits    Limits
	MaxChunks int
	Logger    *slog.Logger
	Now       func() time.Time
}

// Service is the documents capability. Safe for concurrent use.
type Service struct {
	store  Store
	embed  Embedder
	index  Index
	pdf    PDFReader
	opts   Options
	notify chan struct{}
}

// New returns the service.
func New(store Store, embed Embedder, index Index, opts Options) *Service {
	if opts.EmbedBatch == 0 {
		opts.EmbedBatch = 64
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Limits.MaxPages == 0 {
		opts.Limits.MaxPages = 2000
	}
	if opts.Limits.MaxUnpackedBytes == 0 {
		opts.Limits.MaxUnpackedBytes = 200 << 20
	}
	if opts.MaxChunks == 0 {
		opts.MaxChunks = 20000
	}
	return &Service{store: store, embed: embed, index: index, pdf: opts.PDF, opts: opts, notify: make(chan struct{}, 1)}
}

// File is one uploaded file.
type File struct {
	Name string
	Data []byte
}

// DefaultCollection holds documents uploaded without a collection.
const DefaultCollection = "default"

// CheckCollection validates a collection name: 1–64 letters, digits, '-',
// '_' or '.'; empty means DefaultCollection.
func CheckCollection(name string) (string, error) {
	if name == "" {
		return DefaultCollection, nil
	}
	if len(name) > 64 {
		return "", apperr.Invalid("collection must have at most 64 characters")
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' && r != '.' {
			return "", apperr.Invalid("collection may hold letters, digits, '-', '_' and '.' only")
		}
	}
	return name, nil
}

// Upload queues the user's files as documents of a collection, all or
// none: each file is checked (type, size, content; everything but PDF is
// also read and chunked now, so bad input is a 4xx), its original is
// written durably, and the documents are committed with their ingest jobs
// in one transaction. The workers (Run) do the rest. A file the user
// already uploaded (same content) is not stored again: its document comes
// back marked duplicate.
func (s *Service) Upload(ctx context.Context, userID, requestID, collection string, files []File) ([]storage.Document, error) {
	if len(files) == 0 {
		return nil, apperr.Invalid("no file: send one or more files in the multipart field \"file\"")
	}
	collection, err := CheckCollection(collection)
	if err != nil {
		return nil, err
	}
	existing, err := s.store.ListDocuments(ctx, userID)
	if err != nil {
		return nil, err
	}
	byHash := map[string]storage.Document{}
	for _, d := range existing {
		if d.Status != storage.DocumentFailed && collectionOf(d) == collection {
			byHash[d.SHA256] = d
		}
	}
	now := s.opts.Now().UTC()
	out := make([]storage.Document, len(files))
	var queued []storage.Document
	var jobs []storage.IngestJob
	var originals [][]byte
	for i, f := range files {
		d, err := s.check(ctx, f, userID, collection, now)
		if err != nil {
			return nil, err
		}
		if dup, ok := byHash[d.SHA256]; ok {
			dup.Duplicate = true
			out[i] = dup
			continue
		}
		byHash[d.SHA256] = d
		out[i] = d
		queued = append(queued, d)
		jobs = append(jobs, storage.IngestJob{DocumentID: d.ID, OwnerID: userID, NextAt: now, CreatedAt: now})
		originals = append(originals, f.Data)
	}
	var written []string
	for i, d := range queued {
		name := originalName(d.ID)
		if err := s.opts.Blobs.PutBlob(ctx, name, originals[i]); err != nil {
			s.removeBlobs(written)
			return nil, fmt.Errorf("documents: write %s: %w", d.Filename, err)
		}
		written = append(written, name)
	}
	if len(queued) > 0 {
		if err := s.store.EnqueueDocuments(ctx, queued, jobs); err != nil {
			s.removeBlobs(written)
			return nil, err
		}
		s.wake()
	}
	for _, d := range queued {
		s.opts.Logger.Info("document queued", slog.String("document", d.ID), slog.String("user", userID), slog.String("request_id", requestID))
	}
	return out, nil
}

// check validates one file and returns its queued document.
func (s *Service) check(ctx context.Context, f File, userID, collection string, now time.Time) (storage.Document, error) {
	name := cleanName(f.Name)
	if int64(len(f.Data)) > s.opts.MaxFileBytes {
		return storage.Document{}, apperr.New(http.StatusRequestEntityTooLarge, "file_too_large", "%s is larger than %d bytes", name, s.opts.MaxFileBytes)
	}
	ctype := Formats[strings.ToLower(filepath.Ext(name))]
	d := storage.Document{ID: storage.NewID(), OwnerID: userID, Collection: collection, Filename: name, ContentType: ctype,
		Size: int64(len(f.Data)), Status: storage.DocumentQueued, EmbedModel: s.opts.EmbedModel, CreatedAt: now, UpdatedAt: now}
	sum := sha256.Sum256(f.Data)
	d.SHA256 = hex.EncodeToString(sum[:])
	if ctype == "application/pdf" {
		if !bytes.HasPrefix(f.Data, []byte("%PDF-")) {
			return d, unsupported(name, "the file is not a PDF")
		}
		d.Title = strings.TrimSuffix(name, filepath.Ext(name))
		return d, nil
	}
	p, err := s.parse(ctx, f, now) // cheap for everything but PDF: refuse bad input now
	if err != nil {
		return d, err
	}
	d.Title, d.ContentType = p.title, p.ex.ContentType
	return d, nil
}

type parsed struct {
	title string
	spans []Span
	ex    Extracted
}

func (s *Service) parse(ctx context.Context, f File, now time.Time) (parsed, error) {
	name := cleanName(f.Name)
	ex, err := s.extract(ctx, name, f.Data)
	if err != nil {
		return parsed{}, err
	}
	if strings.TrimSpace(ex.Text) == "" {
		return parsed{}, apperr.New(http.StatusBadRequest, "empty_file", "%s has no text", name)
	}
	spans := s.split(ex)
	if len(spans) > s.opts.MaxChunks {
		return parsed{}, apperr.New(http.StatusRequestEntityTooLarge, "too_many_chunks", "%s would make %d chunks, more than the limit of %d", name, len(spans), s.opts.MaxChunks)
	}
	t := ex.Title
	if t == "" {
		t = title(name, ex.Text, ex.Markdown)
	}
	return parsed{title: t, spans: spans, ex: ex}, nil
}

// split chunks the text; a PDF is chunked page by page, so that no chunk
// crosses a page and every citation names the right page.
func (s *Service) split(ex Extracted) []Span {
	if len(ex.PageStarts) == 0 {
		return s.opts.Chunker.Split(ex.Text, ex.Markdown)
	}
	var out []Span
	for i, start := range ex.PageStarts {
		end := len(ex.Text)
		if i+1 < len(ex.PageStarts) {
			end = ex.PageStarts[i+1]
		}
		for _, sp := range s.opts.Chunker.Split(ex.Text[start:end], false) {
			sp.Start += start
			sp.End += start
			out = append(out, sp)
		}
	}
	return out
}

// cleanName keeps the base name of an uploaded file, without directories
// (either slash), control characters or leading dots, at most 200 bytes.
func cleanName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = filepath.Base("/" + name)
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	if len(name) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut]
	}
	if name == "" || name == "/" {
		return "untitled"
	}
	return name
}

// title is a Markdown document's first heading, else the file name
// without its extension.
func title(name, text string, markdown bool) string {
	if markdown {
		for _, line := range strings.SplitN(text, "\n", 50) {
			if _, t, ok := atxHeading(line); ok {
				return t
			}
		}
	}
	return strings.TrimSuffix(name, filepath.Ext(name))
}

// removeBlobs takes back the blobs of an upload that was not stored.
func (s *Service) removeBlobs(names []string) {
	for _, name := range names {
		if err := s.opts.Blobs.DeleteBlob(context.Background(), name); err != nil {
			s.opts.Logger.Warn("remove blob of a failed upload", slog.String("blob", name), slog.Any("error", err))
		}
	}
}

// ListQuery narrows and pages a document list: Collection and Search (a
// case-insensitive part of the title or file name) filter; Offset and Limit
// (0: all) page the result, newest first.
type ListQuery struct {
	Collection, Search string
	Offset, Limit      int
}

// Page is one page of a document list, the number of documents that match,
// and the collections the user can read (for a picker).
type Page struct {
	Documents   []storage.Document `json:"documents"`
	Total       int                `json:"total"`
	Collections []string           `json:"collections"`
}

// ListPage is List with a search and a page, for lists of thousands.
func (s *Service) ListPage(ctx context.Context, userID string, q ListQuery) (Page, error) {
	if q.Offset < 0 || q.Limit < 0 {
		return Page{}, apperr.Invalid("offset and limit must not be negative")
	}
	docs, err := s.store.ReadableDocuments(ctx, userID)
	if err != nil {
		return Page{}, err
	}
	seen := map[string]bool{}
	out := Page{Documents: []storage.Document{}, Collections: []string{}}
	needle := strings.ToLower(strings.TrimSpace(q.Search))
	var match []storage.Document
	for _, d := range docs {
		c := collectionOf(d)
		if !seen[c] {
			seen[c] = true
			out.Collections = append(out.Collections, c)
		}
		if q.Collection != "" && c != q.Collection {
			continue
		}
		if needle != "" && !strings.Contains(strings.ToLower(d.Title), needle) && !strings.Contains(strings.ToLower(d.Filename), needle) {
			continue
		}
		match = append(match, d)
	}
	sort.Strings(out.Collections)
	sort.SliceStable(match, func(i, j int) bool {
		if !match[i].CreatedAt.Equal(match[j].CreatedAt) {
			return match[i].CreatedAt.After(match[j].CreatedAt)
		}
		return match[i].ID > match[j].ID
	})
	out.Total = len(match)
	start := min(q.Offset, len(match))
	end := len(match)
	if q.Limit > 0 {
		end = min(start+q.Limit, len(match))
	}
	out.Documents = append(out.Documents, match[start:end]...)
	return out, nil
}

// collectionOf reads a document's collection (documents stored before
// collections existed are in the default one).
func collectionOf(d storage.Document) string {
	if d.Collection == "" {
		return DefaultCollection
	}
	return d.Collection
}

// Collections returns the names of the collections the user may read, sorted.
func (s *Service) Collections(ctx context.Context, userID string) ([]string, error) {
	docs, err := s.store.ReadableDocuments(ctx, userID)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, d := range docs {
		if c := collectionOf(d); !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Get returns one of the user's documents.
func (s *Service) Get(ctx context.Context, userID, id string) (storage.Document, error) {
	d, err := s.store.DocumentByID(ctx, userID, id)
	if errors.Is(err, storage.ErrNotFound) {
		return d, apperr.NotFound("document")
	}
	return d, err
}

// Chunk returns one chunk (the cited span) of the user's document.
func (s *Service) Chunk(ctx context.Context, userID, documentID, chunkID string) (storage.Chunk, error) {
	c, err := s.store.ChunkByID(ctx, userID, documentID, chunkID)
	if errors.Is(err, storage.ErrNotFound) {
		return c, apperr.NotFound("chunk")
	}
	c.Vector = nil
	return c, err
}

// Share sets who besides its owner may read a document: users by email,
// and/or everyone on the instance. Only the owner may share.
func (s *Service) Share(ctx context.Context, ownerID, id string, emails []string, all bool) (storage.Document, error) {
	ids := make([]string, 0, len(emails))
	for _, e := range emails {
		u, err := s.store.UserByEmail(ctx, strings.TrimSpace(e))
		if errors.Is(err, storage.ErrNotFound) {
			return storage.Document{}, apperr.New(http.StatusBadRequest, "unknown_user", "no account has the email %q", e)
		} else if err != nil {
			return storage.Document{}, err
		}
		ids = append(ids, u.ID)
	}
	d, err := s.store.ShareDocument(ctx, ownerID, id, ids, all)
	if errors.Is(err, storage.ErrNotFound) {
		return d, apperr.NotFound("document")
	}
	return d, err
}

// Delete removes the user's document from the store, every index and the
// data dir.
func (s *Service) Delete(ctx context.Context, userID, id string) error {
	ids, err := s.store.DeleteDocument(ctx, userID, id)
	if errors.Is(err, storage.ErrNotFound) {
		return apperr.NotFound("document")
	} else if err != nil {
		return err
	}
	if err := s.index.Remove(ctx, ids); err != nil {
		s.opts.Logger.Error("remove chunks from index", slog.String("document", id), slog.Any("error", err))
	}
	for _, name := range []string{id, originalName(id)} {
		if err := s.opts.Blobs.DeleteBlob(ctx, name); err != nil {
			s.opts.Logger.Warn("remove document file", slog.String("document", id), slog.Any("error", err))
		}
	}
	return nil
}
