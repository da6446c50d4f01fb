package atomicfile_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/storage/atomicfile"
)

func TestWriteReplacesWholeOrNotAtAll(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sub")
	path := filepath.Join(dir, "f")
	require.NoError(t, atomicfile.WriteBytes(path, []byte("one")))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "one", string(got))

	// A failing writer leaves the old content and no temporary file.
	boom := errors.New("boom")
	err = atomicfile.Write(path, func(w io.Writer) error {
		_, _ = w.Write([]byte("half"))
		return boom
	})
	require.ErrorIs(t, err, boom)
	got, err = os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "one", string(got))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left")

	require.NoError(t, atomicfile.WriteBytes(path, []byte("two")))
	got, _ = os.ReadFile(path)
	require.Equal(t, "two", string(got))
}
