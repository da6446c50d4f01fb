package postgres

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/storage"
)

// PostgreSQL's error codes become the storage sentinels the API maps to
// answers: a full disk on the database server is a 507, not a 500.
func TestErrorsBecomeSentinels(t *testing.T) {
	for code, want := range map[string]error{"23505": storage.ErrConflict, "23503": storage.ErrNotFound, "53100": storage.ErrDiskFull} {
		err := mapErr(&pgconn.PgError{Code: code, Message: "from the server"}, "add message")
		require.ErrorIs(t, err, want, code)
		require.Contains(t, err.Error(), "add message", code)
	}
	require.True(t, storage.DiskFull(mapErr(&pgconn.PgError{Code: "53100"}, "x")))
	require.False(t, storage.DiskFull(mapErr(errors.New("connection refused"), "x")))
}
