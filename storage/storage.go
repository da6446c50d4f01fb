// Package storage declares penny's records: the models every backend stores
// and the repository interfaces they implement. Backends live in
// subpackages (storage/bolt today, storage/postgres in scale-out mode) and
// all of them pass the conformance suite in storage/storagetest.
package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// Sentinel errors every backend returns (wrapped) so that callers can use
// errors.Is without knowing the backend.
var (
	// ErrNotFound means the record does not exist (or is not visible).
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness rule or a compare-and-set failed.
	ErrConflict = errors.New("conflict")
	// ErrDiskFull means the store's disk has no room left (PostgreSQL's
	// disk_full); local files fail with syscall.ENOSPC. See DiskFull.
	ErrDiskFull = errors.New("the disk is full")
)

// DiskFull reports whether err means a disk has no room left: the
// database server's, or the data dir's (no space, or over quota).
func DiskFull(err error) bool {
	return errors.Is(err, ErrDiskFull) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// Store is every repository together, the contract a backend fulfils.
// Capability packages declare the smaller interfaces they actually use.
type Store interface {
	UserStore
	InviteStore
	RefreshTokenStore
	APIKeyStore
	ChatStore
	DocumentStore
	IngestStore
	LedgerStore
	SettingStore
	// SchemaVersion is the version of the on-disk schema the store runs.
	SchemaVersion(ctx context.Context) (int, error)
	// Close flushes and releases the store. Calls after Close fail.
	Close() error
}

// Role is what a user may do: admins manage users, invites and settings and
// see aggregate costs; members see only their own data.
type Role string

// Roles.
const (
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// User is an account. Email is unique (stored lower-cased).
type User struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	PasswordHash string    `json:"passwordHash"`
	Role         Role      `json:"role"`
	CreatedAt    time.Time `json:"createdAt"`
}

// UserStore keeps accounts.
type UserStore interface {
	// CreateUser stores u; ErrConflict when the email is taken.
	CreateUser(ctx context.Context, u User) error
	// CreateFirstUser stores u only if no user exists yet, atomically;
	// ErrConflict otherwise. It makes "the first user becomes admin" race-free.
	CreateFirstUser(ctx context.Context, u User) error
	UserByID(ctx context.Context, id string) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	CountUsers(ctx context.Context) (int, error)
}

// Invite lets one person register while registration is "invite". Only the
// hash of the code is stored.
type Invite struct {
	CodeHash  string    `json:"codeHash"`
	Role      Role      `json:"role"`
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// InviteStore keeps invites.
type InviteStore interface {
	CreateInvite(ctx context.Context, inv Invite) error
	// RedeemInvite creates u and deletes the invite in one transaction. It
	// returns ErrNotFound for an unknown or expired code and ErrConflict
	// when the email is taken (the invite then stays usable).
	RedeemInvite(ctx context.Context, codeHash string, now time.Time, u User) error
}

// RefreshToken is one opaque refresh token, stored only as a hash. Tokens
// issued from one login form a family; reusing a spent token revokes it.
type RefreshToken struct {
	ID        string     `json:"id"`
	UserID    string     `json:"userId"`
	FamilyID  string     `json:"familyId"`
	Hash      string     `json:"hash"`
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt time.Time  `json:"expiresAt"`
	UsedAt    *time.Time `json:"usedAt,omitempty"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
}

// RefreshTokenStore keeps refresh tokens.
type RefreshTokenStore interface {
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// UseRefreshToken marks the token with this hash as used, atomically,
	// and returns it as it was before. A token already used or revoked is
	// returned with ErrConflict (so that the caller can revoke its family);
	// an unknown hash gives ErrNotFound.
	UseRefreshToken(ctx context.Context, hash string, now time.Time) (RefreshToken, error)
	// RevokeRefreshFamily revokes every token of the family (used or not):
	// reuse detection and logout.
	RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) error
}

// APIKey lets programs call penny as a user. Only the hash is stored; the
// prefix is shown in lists so that people can tell keys apart.
type APIKey struct {
	ID        string    `json:"id"`
	UserID    string    `json:"userId"`
	Name      string    `json:"name"`
	Prefix    string    `json:"prefix"`
	Hash      string    `json:"hash"`
	CreatedAt time.Time `json:"createdAt"`
	// RPM caps requests per minute (0: the configured default).
	RPM int `json:"rpm,omitempty"`
	// MonthlyBudgetMicros caps paid spend per calendar month (0: none).
	MonthlyBudgetMicros int64      `json:"monthlyBudgetMicros,omitempty"`
	LastUsedAt          *time.Time `json:"lastUsedAt,omitempty"`
}

// APIKeyStore keeps API keys.
type APIKeyStore interface {
	CreateAPIKey(ctx context.Context, k APIKey) error
	APIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	ListAPIKeys(ctx context.Context, userID string) ([]APIKey, error)
	// DeleteAPIKey removes the user's key; ErrNotFound when the key does
	// not exist or belongs to someone else.
	DeleteAPIKey(ctx context.Context, userID, id string) error
}

// Chat is one conversation of one user.
type Chat struct {
	ID        string    `json:"id"`
	UserID    string    `json:"userId"`
	Title     string    `json:"title"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Citation ties an [n] marker in an answer to the chunk it came from.
type Citation struct {
	N          int     `json:"n"`
	DocumentID string  `json:"documentId"`
	Title      string  `json:"title"`
	ChunkID    string  `json:"chunkId"`
	Start      int     `json:"start"`
	End        int     `json:"end"`
	Page       int     `json:"page,omitempty"`
	Score      float64 `json:"score"`
}

// Message is one turn of a chat. Assistant messages carry the model that
// wrote them, the citations and the cost.
type Message struct {
	ID         string     `json:"id"`
	ChatID     string     `json:"chatId"`
	UserID     string     `json:"userId"`
	Role       string     `json:"role"`
	Content    string     `json:"content"`
	Citations  []Citation `json:"citations,omitempty"`
	Provider   string     `json:"provider,omitempty"`
	Model      string     `json:"model,omitempty"`
	CostMicros int64      `json:"costMicros"`
	CreatedAt  time.Time  `json:"createdAt"`
	// Tier, Arm and LatencyMs describe how an assistant message was made;
	// Groundedness is the share of its sentences supported by the passages
	// they cite (-1: not a document answer).
	Tier         string    `json:"tier,omitempty"`
	Arm          string    `json:"arm,omitempty"`
	LatencyMs    int64     `json:"latencyMs,omitempty"`
	Groundedness float64   `json:"groundedness"`
	Feedback     *Feedback `json:"feedback,omitempty"`
	// Reasons say why this model answered (tier, candidates skipped,
	// failures on the way); Cached is "", "exact" or "semantic".
	Reasons []string `json:"reasons,omitempty"`
	Cached  string   `json:"cached,omitempty"`
}

// Feedback is a user's rating of an answer.
type Feedback struct {
	Rating  string    `json:"rating"` // up or down
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

// ChatStore keeps chats and their messages. Every read takes the user id:
// a chat of another user is ErrNotFound.
type ChatStore interface {
	CreateChat(ctx context.Context, c Chat) error
	ChatByID(ctx context.Context, userID, id string) (Chat, error)
	// ListChats returns the user's chats, most recently updated first.
	ListChats(ctx context.Context, userID string) ([]Chat, error)
	// AddMessage appends m to its chat and bumps the chat's UpdatedAt;
	// ErrNotFound when the chat is not the user's.
	AddMessage(ctx context.Context, m Message) error
	// ListMessages returns the chat's messages, oldest first.
	ListMessages(ctx context.Context, userID, chatID string) ([]Message, error)
	// SetFeedback rates the user's message; ErrNotFound for another's.
	SetFeedback(ctx context.Context, userID, messageID string, f Feedback) (Message, error)
	// EachMessage calls fn for every message of every user created in
	// [from, to) (reports; fn must not call the store).
	EachMessage(ctx context.Context, from, to time.Time, fn func(Message) error) error
}

// Document statuses, in the order an upload goes through them.
const (
	DocumentQueued    = "queued"
	DocumentParsing   = "parsing"
	DocumentEmbedding = "embedding"
	DocumentReady     = "ready"
	DocumentFailed    = "failed"
)

// Progress counts the chunks embedded so far.
type Progress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

// IngestJob is the durable work item of one uploaded document.
type IngestJob struct {
	DocumentID string    `json:"documentId"`
	OwnerID    string    `json:"ownerId"`
	Attempts   int       `json:"attempts"`
	NextAt     time.Time `json:"nextAt"`
	// LeaseUntil: a worker holds the job until then.
	LeaseUntil time.Time `json:"leaseUntil"`
	CreatedAt  time.Time `json:"createdAt"`
}

// IngestStore is the ingest queue, kept with the documents so that a
// document and its job are written together.
type IngestStore interface {
	// EnqueueDocuments stores queued documents and their jobs in one
	// transaction.
	EnqueueDocuments(ctx context.Context, docs []Document, jobs []IngestJob) error
	// ClaimIngestJob leases the next due job (NextAt and LeaseUntil
	// passed) to the caller until leaseUntil; ok=false when none is due.
	ClaimIngestJob(ctx context.Context, now, leaseUntil time.Time) (IngestJob, bool, error)
	// SetDocumentStatus records a document's status, progress and error.
	SetDocumentStatus(ctx context.Context, id, status string, p Progress, errMsg string) error
	// CompleteIngest stores the chunks, marks the document ready (with its
	// pages) and deletes its job, in one transaction.
	CompleteIngest(ctx context.Context, id string, pages int, chunks []Chunk) error
	// RetryIngest releases the job for another attempt at nextAt.
	RetryIngest(ctx context.Context, id string, attempts int, nextAt time.Time, errMsg string) error
	// FailIngest marks the document failed and deletes its job.
	FailIngest(ctx context.Context, id, reason string) error
	// ReleaseIngestLeases frees every lease (the embedded store's start:
	// its one process holds none after a restart).
	ReleaseIngestLeases(ctx context.Context) error
}

// Document is one uploaded file.
type Document struct {
	ID      string `json:"id"`
	OwnerID string `json:"ownerId"`
	// Collection groups documents (a workspace); "default" unless named.
	Collection  string    `json:"collection"`
	Title       string    `json:"title"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"contentType"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	Status      string    `json:"status"`
	Progress    *Progress `json:"progress,omitempty"`
	// Duplicate marks an upload answered with the same content stored before.
	Duplicate bool `json:"duplicate,omitempty"`
	// SharedWith lists the users (ids) who may read the document besides
	// its owner; SharedAll opens it to every user of the instance.
	SharedWith []string `json:"sharedWith,omitempty"`
	SharedAll  bool     `json:"sharedAll,omitempty"`
	Error      string   `json:"error,omitempty"`
	Chunks     int      `json:"chunks"`
	// Pages is a PDF\'s page count (0 for other formats).
	Pages      int       `json:"pages,omitempty"`
	EmbedModel string    `json:"embeddingModel"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// Chunk is a span of a document's text: Text is exactly the document text
// from byte offset Start to End. Vector is the embedding of Heading+Text
// under the model EmbedModel.
type Chunk struct {
	ID         string    `json:"id"`
	DocumentID string    `json:"documentId"`
	OwnerID    string    `json:"ownerId"`
	Ordinal    int       `json:"ordinal"`
	Heading    string    `json:"heading,omitempty"`
	Text       string    `json:"text"`
	Start      int       `json:"start"`
	End        int       `json:"end"`
	Page       int       `json:"page,omitempty"`
	Tokens     int       `json:"tokens"`
	EmbedModel string    `json:"embeddingModel"`
	Vector     []float32 `json:"vector,omitempty"`
}

// DocumentStore keeps documents and their chunks.
type DocumentStore interface {
	// CreateDocuments stores the documents with their chunks in one
	// transaction: all or nothing.
	CreateDocuments(ctx context.Context, docs []Document, chunks []Chunk) error
	// DocumentByID returns a document the user may read (owned or shared);
	// ErrNotFound otherwise.
	DocumentByID(ctx context.Context, userID, id string) (Document, error)
	// ListDocuments returns the owner's documents, newest first.
	ListDocuments(ctx context.Context, ownerID string) ([]Document, error)
	// ReadableDocuments returns every document the user may read — their
	// own, those shared with them, those shared with everyone — newest first.
	ReadableDocuments(ctx context.Context, userID string) ([]Document, error)
	// ShareDocument sets who besides the owner may read it; ErrNotFound
	// unless ownerID owns it.
	ShareDocument(ctx context.Context, ownerID, id string, userIDs []string, all bool) (Document, error)
	// DeleteDocument removes the owner's document and its chunks and
	// returns the removed chunk ids.
	DeleteDocument(ctx context.Context, ownerID, id string) ([]string, error)
	// ChunksByID returns the chunks that exist among ids, in the order of ids.
	ChunksByID(ctx context.Context, ids []string) ([]Chunk, error)
	// ChunkByID returns one chunk of a document the user may read.
	ChunkByID(ctx context.Context, userID, documentID, chunkID string) (Chunk, error)
	// EachChunk calls fn for every stored chunk (to rebuild indexes). fn
	// must not call the store.
	EachChunk(ctx context.Context, fn func(Chunk) error) error
	// CountChunks is the number of stored chunks.
	CountChunks(ctx context.Context) (int, error)
	// EachChunkID calls fn with every chunk id, without reading chunks
	// (cheap: to check an index snapshot against the store).
	EachChunkID(ctx context.Context, fn func(id string) error) error
}

// Ledger services: what a model call was made for.
const (
	ServiceChat    = "chat"
	ServiceRAG     = "rag"
	ServiceIngest  = "ingest"
	ServiceGateway = "gateway"
)

// Ledger outcomes.
const (
	OutcomeOK    = "ok"
	OutcomeError = "error"
)

// LedgerEntry records one model call. Money is integer micro-dollars:
// CostMicros is what the call cost, BaselineMicros what the same tokens
// would have cost on the OpenAI-only reference.
type LedgerEntry struct {
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	UserID   string    `json:"userId"`
	Service  string    `json:"service"`
	Kind     string    `json:"kind"` // "chat" or "embedding"
	Provider string    `json:"provider"`
	Model    string    `json:"model"`
	Tier     string    `json:"tier,omitempty"`
	// Arm is the traffic-split arm: "cheap" or "control".
	Arm            string `json:"arm,omitempty"`
	TokensIn       int    `json:"tokensIn"`
	TokensOut      int    `json:"tokensOut"`
	CachedTokens   int    `json:"cachedTokens,omitempty"`
	CostMicros     int64  `json:"costMicros"`
	BaselineMicros int64  `json:"baselineMicros"`
	BaselineModel  string `json:"baselineModel"`
	Estimated      bool   `json:"estimated"`
	LatencyMs      int64  `json:"latencyMs"`
	CacheHit       bool   `json:"cacheHit"`
	// AvoidedMicros is what a cache hit saved: the cost of the call it replaced.
	AvoidedMicros int64 `json:"avoidedMicros,omitempty"`
	// CacheClass names the cache that answered: embedding, generation, rag, semantic.
	CacheClass string   `json:"cacheClass,omitempty"`
	Outcome    string   `json:"outcome"`
	Error      string   `json:"error,omitempty"`
	Reasons    []string `json:"reasons,omitempty"`
	RequestID  string   `json:"requestId,omitempty"`
	// APIKeyID is set for calls made with an API key (the gateway).
	APIKeyID string `json:"apiKeyId,omitempty"`
	// Collection is set for calls that answered from one collection.
	Collection string `json:"collection,omitempty"`
	// Groundedness is the share of a document answer's sentences that
	// its cited passages support (nil for other calls): the quality
	// report's groundedness, shadow answers included.
	Groundedness *float64 `json:"groundedness,omitempty"`
}

// LedgerFilter selects entries: Time in [From, To), and only UserID's when
// UserID is set.
type LedgerFilter struct {
	From, To time.Time
	UserID   string
}

// LedgerStore keeps the append-only ledger.
type LedgerStore interface {
	AppendLedger(ctx context.Context, e LedgerEntry) error
	// EachLedger calls fn for every matching entry in time order.
	EachLedger(ctx context.Context, f LedgerFilter, fn func(LedgerEntry) error) error
}

// SettingStore keeps small named values (JSON), such as the token signing
// keys and admin settings.
type SettingStore interface {
	GetSetting(ctx context.Context, key string) ([]byte, error)
	PutSetting(ctx context.Context, key string, value []byte) error
	// PutSettingIfAbsent stores value only when key is unset and returns
	// the value in force afterwards (so two starts agree on one key).
	PutSettingIfAbsent(ctx context.Context, key string, value []byte) ([]byte, error)
}

// BlobStore keeps the uploaded originals and their extracted texts by name
// (a document id, with ".orig" for the original), where every process that
// serves the data can read them: the data dir in embedded mode, PostgreSQL
// or S3-compatible object storage in scale-out mode.
type BlobStore interface {
	// PutBlob stores data under name durably, replacing any earlier value.
	PutBlob(ctx context.Context, name string, data []byte) error
	// GetBlob returns the data; ErrNotFound when there is none.
	GetBlob(ctx context.Context, name string) ([]byte, error)
	// DeleteBlob removes name; a missing name is not an error.
	DeleteBlob(ctx context.Context, name string) error
}

// Record is one stored record in a backend-neutral form, for moving an
// install from one backend to another (penny migrate-data). Data is the
// record as JSON; a chunk's vector travels in Vector, a setting's raw
// value in Data.
type Record struct {
	Kind   string
	Key    string
	Data   []byte
	Vector []float32
}

// RecordKinds are the kinds of Record, in an order that keeps references
// valid when they are written in it (chats before their messages,
// documents before their chunks and jobs).
var RecordKinds = []string{"users", "invites", "refresh_tokens", "api_keys", "chats", "messages",
	"documents", "chunks", "ingest_jobs", "ledger", "settings"}

// RecordKey is the identity of a record of kind (the same in every
// backend): its id, invite code hash, token hash or document id; for
// settings, the key the backend stored it under.
func RecordKey(kind, storedKey string, data []byte) (string, error) {
	if kind == "settings" {
		return storedKey, nil
	}
	var ids struct {
		ID         string `json:"id"`
		CodeHash   string `json:"codeHash"`
		Hash       string `json:"hash"`
		DocumentID string `json:"documentId"`
	}
	if err := json.Unmarshal(data, &ids); err != nil {
		return "", fmt.Errorf("storage: %s record %s: %w", kind, storedKey, err)
	}
	switch kind {
	case "invites":
		return ids.CodeHash, nil
	case "refresh_tokens", "api_keys":
		return ids.Hash, nil
	case "ingest_jobs":
		return ids.DocumentID, nil
	}
	return ids.ID, nil
}
