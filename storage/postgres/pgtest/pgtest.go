// Package pgtest gives tests a real, empty PostgreSQL: a PGlite server
// (PostgreSQL 17 with pgvector, npm @electric-sql/pglite-socket) started
// for the test on a free loopback port, or a fresh database on Debian's
// postgresql-15. Each test gets its own, so packages never share state.
//
// PENNY_TEST_PGLITE names the pglite-server program (.ci/run and make
// test-scaleout set it after `npm ci --prefix tests/pglite`);
// PENNY_TEST_POSTGRES15_URL a postgresql-15 server whose user may create
// databases. Without them the tests skip, saying so.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/internal/testproc"
)

// PGlite starts a PGlite server for t and returns its URL. PGlite serves
// one session to every connection: the URL asks pgx for the simple
// protocol, since named prepared statements would collide.
func PGlite(t testing.TB) string {
	t.Helper()
	bin := testproc.Setting(t, "PENNY_TEST_PGLITE", "tests/pglite/node_modules/.bin/pglite-server to run against PostgreSQL 17 + pgvector")
	port := testproc.FreePort(t)
	dsn := fmt.Sprintf("postgres://postgres:postgres@127.0.0.1:%d/postgres?sslmode=disable&default_query_exec_mode=simple_protocol", port)
	testproc.Start(t, 60*time.Second, func() error {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err == nil {
			_ = conn.Close(context.Background())
		}
		return err
	}, bin, "-p", fmt.Sprint(port), "-h", "127.0.0.1", "-e", "@electric-sql/pglite/vector:vector", "-m", "20")
	return dsn
}

// Postgres15 creates an empty database on the postgresql-15 server for t
// (dropped afterwards) and returns its URL.
func Postgres15(t testing.TB) string {
	t.Helper()
	base := testproc.Setting(t, "PENNY_TEST_POSTGRES15_URL", "a postgresql-15 server to run against it")
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	require.NoError(t, err, "PENNY_TEST_POSTGRES15_URL is set but the server does not answer")
	name := fmt.Sprintf("penny_test_%d", time.Now().UnixNano())
	_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = admin.Close(ctx)
	})
	cfg, err := pgx.ParseConfig(base)
	require.NoError(t, err)
	u := &url.URL{Scheme: "postgres", User: url.User(cfg.User), Host: fmt.Sprintf("%s:%d", cfg.Host, cfg.Port), Path: "/" + name, RawQuery: "sslmode=disable"}
	if cfg.Password != "" {
		u.User = url.UserPassword(cfg.User, cfg.Password)
	}
	return u.String()
}
