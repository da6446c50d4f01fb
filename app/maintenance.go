package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/penny-dev/penny/app/backup"
	"github.com/penny-dev/penny/app/config"
	"github.com/penny-dev/penny/storage/bolt"
)

// ErrServing means a penny serve holds the data dir: the command has to
// go through its API, or wait until it stops.
var ErrServing = errors.New("penny serve is running on this data dir")

// ErrScaled means the command works on the embedded store, and the records
// live in PostgreSQL (PENNY_DATABASE_URL).
var ErrScaled = errors.New("the records live in PostgreSQL (PENNY_DATABASE_URL): back them up with pg_dump, and restore with pg_restore; vacuum and reindex are PostgreSQL's own")

// OpenIdleStore opens the embedded store of a data dir that no server
// holds; ErrServing when one does.
func OpenIdleStore(cfg config.Config) (*bolt.Store, error) {
	return openStore(cfg, bolt.Options{})
}

// openStore opens the data dir's store with opts; ErrServing when a
// server holds it.
func openStore(cfg config.Config, opts bolt.Options) (*bolt.Store, error) {
	if cfg.Scaled() {
		return nil, ErrScaled
	}
	st, err := bolt.Open(cfg.StorePath(), opts)
	if errors.Is(err, bolt.ErrInUse) {
		return nil, fmt.Errorf("%w (%s)", ErrServing, cfg.DataDir)
	}
	return st, err
}

func backupPaths(cfg config.Config) backup.Paths {
	return backup.Paths{Store: cfg.StorePath(), Files: cfg.FilesDir(), Indexes: filepath.Dir(cfg.KeywordIndexPath())}
}

// Backup writes a backup of the running App to w (GET /api/admin/backup).
func (a *App) Backup(ctx context.Context, w io.Writer) (backup.Manifest, error) {
	st, ok := a.Store.(backup.Store)
	if !ok {
		return backup.Manifest{}, errors.New("backup: this store has no snapshot; back up PostgreSQL with pg_dump")
	}
	return backup.Write(ctx, st, backupPaths(a.Config), a.Config.DataDir, a.Version, w)
}

// BackupIdle writes a backup of a data dir no server holds to w (`penny
// backup` without a running server).
func BackupIdle(ctx context.Context, cfg config.Config, version string, w io.Writer) (backup.Manifest, error) {
	st, err := OpenIdleStore(cfg)
	if err != nil {
		return backup.Manifest{}, err
	}
	defer st.Close()
	return backup.Write(ctx, st, backupPaths(cfg), cfg.DataDir, version, w)
}

// Restore replaces the data dir's store and originals with a backup's
// (`penny restore`). The server must be stopped. A data dir that already
// holds accounts is replaced only with force; what was there is kept
// beside it (penny.db.before-restore, files.before-restore). The indexes
// are rebuilt at the next start.
func Restore(ctx context.Context, cfg config.Config, r io.Reader, force bool) (backup.Manifest, error) {
	if cfg.Scaled() {
		return backup.Manifest{}, ErrScaled
	}
	if _, err := os.Stat(cfg.StorePath()); err == nil {
		st, err := openStore(cfg, bolt.Options{ReadOnly: true})
		if err != nil {
			return backup.Manifest{}, err
		}
		users, err := st.CountUsers(ctx)
		_ = st.Close()
		if err != nil {
			return backup.Manifest{}, err
		}
		if users > 0 && !force {
			return backup.Manifest{}, fmt.Errorf("restore: %s holds %d account(s); pass --force to replace it (it is kept as %s.before-restore)",
				cfg.DataDir, users, filepath.Base(cfg.StorePath()))
		}
	}
	return backup.Restore(ctx, r, backupPaths(cfg), func(path string) error {
		st, err := bolt.Open(path, bolt.Options{ReadOnly: true}) // refuses a newer schema
		if err != nil {
			return err
		}
		return st.Close()
	})
}

// Compact rewrites the embedded store without its free pages (`penny
// compact`; the server must be stopped) and returns the sizes before and
// after.
func Compact(cfg config.Config) (before, after int64, err error) {
	if cfg.Scaled() {
		return 0, 0, ErrScaled
	}
	before, after, err = bolt.Compact(cfg.StorePath())
	if errors.Is(err, bolt.ErrInUse) {
		return 0, 0, fmt.Errorf("%w: stop it first (%s)", ErrServing, cfg.DataDir)
	}
	return before, after, err
}

// Reindex removes the search indexes and rebuilds them from the stored
// chunks and vectors (`penny reindex`; the server must be stopped),
// logging progress, and returns how many chunks were indexed.
func Reindex(ctx context.Context, cfg config.Config, logger *slog.Logger) (int, error) {
	st, err := OpenIdleStore(cfg) // fails fast while a server holds the data dir
	if err != nil {
		return 0, err
	}
	if err := st.Close(); err != nil {
		return 0, err
	}
	if err := os.RemoveAll(backupPaths(cfg).Indexes); err != nil {
		return 0, fmt.Errorf("reindex: %w", err)
	}
	cfg.IngestWorkers = 0 // rebuild only: no ingest work meanwhile
	cfg.Providers.ProbeInterval = 0
	a, err := New(ctx, cfg, logger, "reindex")
	if err != nil {
		return 0, err
	}
	n := a.Indexes.Vectors.Len()
	return n, a.Close() // Close saves the vector snapshot
}

// RemoveData deletes the data dir's store, search indexes and uploaded
// originals (`penny seed --reset`). The server must be stopped.
func RemoveData(cfg config.Config) error {
	p := backupPaths(cfg)
	for _, path := range []string{p.Store, p.Indexes, p.Files} {
		if err := os.RemoveAll(path); err != nil {
			return fmt.Errorf("app: remove %s: %w", path, err)
		}
	}
	return nil
}
