// Package postgres is penny's records store on PostgreSQL (scale-out mode):
// every storage interface, for several penny replicas sharing one database.
// Each row keeps its record as JSON, as the embedded store does, next to
// the columns that lookups, uniqueness and ordering need. The schema is
// migrations/postgres/*.sql, applied by Migrate (penny migrate up) one
// transaction per step; Open refuses a database whose schema is older or
// newer than this build's.
package postgres

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/penny-dev/penny/migrations"
	"github.com/penny-dev/penny/storage"
)

// ErrSchemaOld means the database needs `penny migrate up` first.
var ErrSchemaOld = errors.New("postgres: the database schema is older than this penny: run `penny migrate up`")

// ErrSchemaNew means a newer penny migrated the database.
var ErrSchemaNew = errors.New("postgres: the database schema is newer than this penny: upgrade penny")

// Store is the PostgreSQL backend. Safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

var _ storage.Store = (*Store)(nil)

// connect opens a pool on url (a postgres:// URL or key=value DSN).
func connect(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: cannot reach the database: %w", err)
	}
	return pool, nil
}

// Open connects and checks that the schema is this build's.
func Open(ctx context.Context, url string) (*Store, error) {
	pool, err := connect(ctx, url)
	if err != nil {
		return nil, err
	}
	s := &Store{pool: pool}
	have, err := s.SchemaVersion(ctx)
	if err != nil {
		pool.Close()
		return nil, err
	}
	want, err := latest()
	if err != nil {
		pool.Close()
		return nil, err
	}
	switch {
	case have < want:
		pool.Close()
		return nil, fmt.Errorf("%w (database at version %d, this penny needs %d)", ErrSchemaOld, have, want)
	case have > want:
		pool.Close()
		return nil, fmt.Errorf("%w (database at version %d, this penny knows %d)", ErrSchemaNew, have, want)
	}
	return s, nil
}

// Close releases the connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

func latest() (int, error) {
	steps, err := migrations.Postgres()
	if err != nil {
		return 0, err
	}
	return len(steps), nil
}

// SchemaVersion is the last migration applied (0: none).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	return schemaVersion(ctx, s.pool)
}

type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func schemaVersion(ctx context.Context, q querier) (int, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, fmt.Errorf("postgres: read schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := q.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("postgres: read schema version: %w", err)
	}
	return v, nil
}

// migrateLock is the advisory lock that keeps two replicas from migrating
// at once.
const migrateLock = 0x70656e6e79 // "penny"

// Migrate applies the migrations the database lacks, one transaction per
// step, and returns the versions applied. Replicas that migrate at the
// same time wait for each other; each step is applied once.
func Migrate(ctx context.Context, url string) ([]migrations.Step, error) {
	pool, err := connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	steps, err := migrations.Postgres()
	if err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("postgres: create schema_migrations: %w", err)
	}
	var applied []migrations.Step
	for _, step := range steps {
		done, err := applyStep(ctx, pool, step)
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, step)
		}
	}
	return applied, nil
}

func applyStep(ctx context.Context, pool *pgxpool.Pool, step migrations.Step) (applied bool, err error) {
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
			return err
		}
		if have >= step.Version {
			return nil
		}
		if have != step.Version-1 {
			return fmt.Errorf("postgres: migration %d needs version %d first (database at %d)", step.Version, step.Version-1, have)
		}
		if _, err := tx.Exec(ctx, step.SQL); err != nil {
			return fmt.Errorf("postgres: migration %04d_%s: %w", step.Version, step.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, step.Version, step.Name); err != nil {
			return err
		}
		applied = true
		return nil
	})
	return applied, err
}

// Status reports the database's schema version and the version this build
// needs.
func Status(ctx context.Context, url string) (have, want int, err error) {
	pool, err := connect(ctx, url)
	if err != nil {
		return 0, 0, err
	}
	defer pool.Close()
	if have, err = schemaVersion(ctx, pool); err != nil {
		return 0, 0, err
	}
	want, err = latest()
	return have, want, err
}

// mapErr turns PostgreSQL's constraint errors into the storage sentinels.
func mapErr(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", what, storage.ErrNotFound)
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "23505": // unique_violation
			return fmt.Errorf("postgres: %s: %w", what, storage.ErrConflict)
		case "23503": // foreign_key_violation
			return fmt.Errorf("postgres: %s: %w", what, storage.ErrNotFound)
		case "53100": // disk_full
			return fmt.Errorf("postgres: %s: %w: %w", what, storage.ErrDiskFull, err)
		}
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

// encode is a record as JSON text (a string, not []byte: in the exec and
// simple protocols pgx sends []byte as bytea, which jsonb refuses).
func encode(v any) (string, error) {
	raw, err := json.Marshal(v)
	return string(raw), err
}

// writeRecord runs sql (an INSERT or UPDATE of one record) with args and,
// as the last parameter, v encoded as the record's JSON data.
func writeRecord(ctx context.Context, q querier, what, sql string, v any, args ...any) error {
	data, err := encode(v)
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx, sql, append(args, data)...)
	return mapErr(err, what)
}

// one reads a single JSON record.
func one[T any](ctx context.Context, q querier, what, sql string, args ...any) (T, error) {
	var v T
	var raw []byte
	if err := q.QueryRow(ctx, sql, args...).Scan(&raw); err != nil {
		return v, mapErr(err, what)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return v, nil
}

// each calls fn with every JSON record the query returns.
func each[T any](ctx context.Context, q querier, what, sql string, args []any, fn func(T) error) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return mapErr(err, what)
	}
	defer rows.Close()
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return mapErr(err, what)
		}
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("postgres: %s: %w", what, err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return mapErr(rows.Err(), what)
}

// all collects every JSON record the query returns (never nil).
func all[T any](ctx context.Context, q querier, what, sql string, args ...any) ([]T, error) {
	out := []T{}
	err := each(ctx, q, what, sql, args, func(v T) error {
		out = append(out, v)
		return nil
	})
	return out, err
}

// tx runs fn in a transaction.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// encodeVector stores a vector as little-endian float32s.
func encodeVector(v []float32) []byte {
	if v == nil {
		return nil
	}
	out := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(f))
	}
	return out
}

func decodeVector(b []byte) []float32 {
	if b == nil {
		return nil
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

var (
	errFirstUserExists = fmt.Errorf("a user exists: %w", storage.ErrConflict)
	errSpent           = fmt.Errorf("postgres: refresh token spent: %w", storage.ErrConflict)
)

func decodeJSON(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("postgres: decode: %w", err)
	}
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }

// Pool is the store's connection pool, for the indexes that live in the
// same database (vector/pgvector).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }
