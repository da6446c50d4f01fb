package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/penny-dev/penny/app"
	"github.com/penny-dev/penny/app/backup"
	"github.com/penny-dev/penny/app/config"
	"github.com/penny-dev/penny/storage/postgres"
)

// signalContext ends when the user interrupts the command.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// backupCmd writes a backup archive. With the data dir idle it reads the
// store itself; while penny serve holds it, it fetches the archive from
// the server's admin API (PENNY_URL, PENNY_API_KEY of an admin).
func backupCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	to := fs.String("to", "", "file to write the backup to (required; .tar.gz)")
	url := fs.String("url", envOr(getenv, "PENNY_URL", "http://localhost:8080"), "the running penny, when it holds the data dir (env PENNY_URL)")
	cfg, err := config.Load(fs, args, getenv)
	if err != nil {
		return err
	}
	if *to == "" {
		return errors.New("usage: penny backup --to FILE")
	}
	ctx, cancel := signalContext()
	defer cancel()
	var m backup.Manifest
	err = backup.WriteFile(*to, func(w io.Writer) error {
		var err error
		m, err = app.BackupIdle(ctx, cfg, version, w)
		if errors.Is(err, app.ErrServing) {
			fmt.Fprintf(stderr, "penny serve holds %s: fetching the backup from %s\n", cfg.DataDir, *url)
			return fetchBackup(ctx, *url, getenv("PENNY_API_KEY"), w)
		}
		return err
	})
	if err != nil {
		return err
	}
	st, err := os.Stat(*to)
	if err != nil {
		return err
	}
	if m.Format == "" {
		fmt.Fprintf(stdout, "backup written to %s (%s)\n", *to, app.FormatBytes(st.Size()))
		return nil
	}
	fmt.Fprintf(stdout, "backup written to %s (%s): store %s, %d original(s), schema %d\n", *to, app.FormatBytes(st.Size()), app.FormatBytes(m.Store.Size), len(m.Files), m.SchemaVersion)
	return nil
}

// fetchBackup downloads GET /api/admin/backup into w.
func fetchBackup(ctx context.Context, base, key string, w io.Writer) error {
	if key == "" {
		return errors.New("set PENNY_API_KEY to an admin's API key to back up a running penny")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/api/admin/backup", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %w", base, apiError(resp))
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

func restoreCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "backup file to restore (required)")
	force := fs.Bool("force", false, "replace a data dir that already holds accounts (it is kept beside as *.before-restore)")
	cfg, err := config.Load(fs, args, getenv)
	if err != nil {
		return err
	}
	if *from == "" {
		return errors.New("usage: penny restore --from FILE [--force]")
	}
	f, err := os.Open(*from)
	if err != nil {
		return err
	}
	defer f.Close()
	ctx, cancel := signalContext()
	defer cancel()
	m, err := app.Restore(ctx, cfg, f, *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored the backup of %s (penny %s, schema %d): store %s, %d original(s) into %s\n",
		m.CreatedAt.Format(time.RFC3339), m.Version, m.SchemaVersion, app.FormatBytes(m.Store.Size), len(m.Files), cfg.DataDir)
	fmt.Fprintln(stdout, "the search indexes are rebuilt at the next start of penny serve")
	return nil
}

func compactCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("compact", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := config.Load(fs, args, getenv)
	if err != nil {
		return err
	}
	before, after, err := app.Compact(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "compacted %s: %s → %s\n", cfg.StorePath(), app.FormatBytes(before), app.FormatBytes(after))
	return nil
}

func reindexCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("reindex", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := config.Load(fs, args, getenv)
	if err != nil {
		return err
	}
	ctx, cancel := signalContext()
	defer cancel()
	start := time.Now()
	cfg.LogLevel = "info" // the rebuild's progress
	n, err := app.Reindex(ctx, cfg, app.NewLogger(cfg, stderr))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rebuilt the vector and keyword indexes from the store: %d chunk(s) in %s\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}

func doctorCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := config.Load(fs, args, getenv)
	if err != nil {
		fmt.Fprintf(stdout, "FAIL  config      %v\n", err)
		return err
	}
	return app.Doctor(context.Background(), cfg, stdout)
}

// migrateCmd applies or reports the PostgreSQL schema (scale-out mode).
func migrateCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("migrate "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := config.Load(fs, args, getenv)
	if err != nil {
		return err
	}
	if !cfg.Scaled() {
		return errors.New("set PENNY_DATABASE_URL to the PostgreSQL database (the embedded store migrates itself at start)")
	}
	ctx, cancel := signalContext()
	defer cancel()
	switch sub {
	case "up":
		applied, err := postgres.Migrate(ctx, cfg.DatabaseURL)
		for _, s := range applied {
			fmt.Fprintf(stdout, "applied %04d_%s\n", s.Version, s.Name)
		}
		if err != nil {
			return err
		}
		have, _, err := postgres.Status(ctx, cfg.DatabaseURL)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schema at version %d (%d applied now)\n", have, len(applied))
		return nil
	case "status":
		have, want, err := postgres.Status(ctx, cfg.DatabaseURL)
		if err != nil {
			return err
		}
		state := "up to date"
		switch {
		case have < want:
			state = "needs `penny migrate up`"
		case have > want:
			state = "newer than this penny: upgrade penny"
		}
		fmt.Fprintf(stdout, "schema at version %d, this penny needs %d: %s\n", have, want, state)
		return nil
	default:
		return fmt.Errorf("usage: penny migrate up | status")
	}
}

// migrateDataCmd copies an embedded install into PostgreSQL.
func migrateDataCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("migrate-data", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the data dir of the embedded install (required)")
	to := fs.String("to", "", "the PostgreSQL URL (default: PENNY_DATABASE_URL)")
	cfg, err := config.Load(fs, args, getenv)
	if err != nil {
		return err
	}
	if *from == "" {
		return errors.New("usage: penny migrate-data --from DATA_DIR [--to postgres://…]")
	}
	url := *to
	if url == "" {
		url = cfg.DatabaseURL
	}
	if url == "" {
		return errors.New("say where to: --to postgres://… or PENNY_DATABASE_URL (run `penny migrate up` on it first)")
	}
	cfg.DataDir = *from
	ctx, cancel := signalContext()
	defer cancel()
	report, err := app.MigrateData(ctx, cfg, url, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nverified: every record and file of the source is in PostgreSQL, byte for byte")
	fmt.Fprintf(stdout, "%-15s %8s %8s  %s\n", "kind", "source", "written", "checksum")
	for _, k := range report.Kinds {
		fmt.Fprintf(stdout, "%-15s %8d %8d  %s\n", k.Kind, k.Source, k.Written, k.Checksum)
	}
	return nil
}
