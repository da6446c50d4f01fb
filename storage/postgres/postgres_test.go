package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/storage"
	"github.com/penny-dev/penny/storage/postgres"
	"github.com/penny-dev/penny/storage/postgres/pgtest"
	"github.com/penny-dev/penny/storage/storagetest"
)

// engines are the PostgreSQL servers the suites run on: PGlite (PostgreSQL
// 17 with pgvector, one session shared by every connection) and Debian's
// postgresql-15, whose real concurrency the race tests need.
var engines = map[string]func(testing.TB) string{"pglite": pgtest.PGlite, "postgresql-15": pgtest.Postgres15}

// reset drops every table so that each test starts from an empty database.
func reset(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `DO $$ DECLARE r record; BEGIN
		FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
			EXECUTE 'DROP TABLE IF EXISTS ' || quote_ident(r.tablename) || ' CASCADE';
		END LOOP; END $$`)
	require.NoError(t, err)
}

// fresh is an empty, migrated store.
func fresh(t *testing.T, url string) *postgres.Store {
	reset(t, url)
	_, err := postgres.Migrate(context.Background(), url)
	require.NoError(t, err)
	s, err := postgres.Open(context.Background(), url)
	require.NoError(t, err)
	return s
}

func TestConformance(t *testing.T) {
	for name, engine := range engines {
		t.Run(name, func(t *testing.T) {
			url := engine(t)
			storagetest.Run(t, func(t *testing.T) storage.Store { return fresh(t, url) })
		})
	}
}

func TestBlobs(t *testing.T) {
	for name, engine := range engines {
		t.Run(name, func(t *testing.T) {
			url := engine(t)
			storagetest.RunBlobs(t, func(t *testing.T) storage.BlobStore {
				s := fresh(t, url)
				t.Cleanup(func() { _ = s.Close() })
				return s
			})
		})
	}
}

func TestMigrations(t *testing.T) {
	for name, engine := range engines {
		t.Run(name, func(t *testing.T) {
			url := engine(t)
			ctx := context.Background()
			reset(t, url)
			_, err := postgres.Open(ctx, url)
			require.ErrorIs(t, err, postgres.ErrSchemaOld, "serve refuses an unmigrated database")
			require.ErrorContains(t, err, "penny migrate up")

			applied, err := postgres.Migrate(ctx, url)
			require.NoError(t, err)
			require.NotEmpty(t, applied)
			again, err := postgres.Migrate(ctx, url)
			require.NoError(t, err)
			require.Empty(t, again, "a second run applies nothing")
			have, want, err := postgres.Status(ctx, url)
			require.NoError(t, err)
			require.Equal(t, want, have)

			s, err := postgres.Open(ctx, url)
			require.NoError(t, err)
			require.NoError(t, s.Close())

			conn, err := pgx.Connect(ctx, url)
			require.NoError(t, err)
			_, err = conn.Exec(ctx, fmt.Sprintf(`INSERT INTO schema_migrations (version, name) VALUES (%d, 'from the future')`, want+1))
			require.NoError(t, err)
			require.NoError(t, conn.Close(ctx))
			_, err = postgres.Open(ctx, url)
			require.ErrorIs(t, err, postgres.ErrSchemaNew, "an older penny refuses a newer schema")
		})
	}
}
