package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/penny-dev/penny/app/config"
	"github.com/penny-dev/penny/storage"
	"github.com/penny-dev/penny/storage/bolt"
	"github.com/penny-dev/penny/storage/postgres"
)

// MigrationReport is what penny migrate-data moved and checked, per kind
// of record (and "blobs" for the uploaded files).
type MigrationReport struct {
	Kinds []KindReport
}

// KindReport counts one kind: records in the source, records written now
// (the rest were there from an earlier run), and the checksum both sides
// agree on.
type KindReport struct {
	Kind     string
	Source   int
	Written  int
	Checksum string
}

// exporter is what both backends offer to move and verify records.
type exporter interface {
	Export(ctx context.Context, fn func(storage.Record) error) error
}

const importBatch = 500

// MigrateData copies the embedded install of cfg's data dir into the
// PostgreSQL database at url (migrated first with `penny migrate up`):
// users, invites, sessions, API keys, chats and messages, documents with
// their chunks and vectors, ingest jobs, the ledger, settings, and the
// uploaded files. It may run again after an interruption (what is there is
// kept); at the end it reads both sides back and compares counts and
// checksums of every record. The server must be stopped (the data dir is
// opened read-only and refuses while penny serve holds it).
func MigrateData(ctx context.Context, cfg config.Config, url string, progress io.Writer) (MigrationReport, error) {
	src, err := bolt.Open(cfg.StorePath(), bolt.Options{ReadOnly: true})
	if errors.Is(err, bolt.ErrInUse) {
		return MigrationReport{}, fmt.Errorf("%w: stop it first (%s)", ErrServing, cfg.DataDir)
	} else if err != nil {
		return MigrationReport{}, err
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, url)
	if err != nil {
		return MigrationReport{}, err
	}
	defer dst.Close()
	cfg.DatabaseURL = url
	blobStore, err := sharedBlobs(ctx, cfg, dst)
	if err != nil {
		return MigrationReport{}, err
	}

	written := map[string]int{}
	var batch []storage.Record
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := dst.Import(ctx, batch)
		if err != nil {
			return err
		}
		written[batch[0].Kind] += n
		batch = batch[:0]
		return nil
	}
	kind := ""
	err = src.Export(ctx, func(r storage.Record) error {
		if r.Kind != kind {
			if err := flush(); err != nil {
				return err
			}
			if kind != "" {
				fmt.Fprintf(progress, "%-15s %d written\n", kind, written[kind])
			}
			kind = r.Kind
		}
		batch = append(batch, r)
		if len(batch) == importBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return MigrationReport{}, err
	}
	if kind != "" {
		fmt.Fprintf(progress, "%-15s %d written\n", kind, written[kind])
	}
	blobs, err := copyBlobs(ctx, cfg.FilesDir(), blobStore)
	if err != nil {
		return MigrationReport{}, err
	}
	fmt.Fprintf(progress, "%-15s %d written\n", "blobs", blobs)

	// Verify: every record and file of the source, byte for byte.
	want, err := digest(ctx, src)
	if err != nil {
		return MigrationReport{}, err
	}
	have, err := digest(ctx, dst)
	if err != nil {
		return MigrationReport{}, err
	}
	var report MigrationReport
	for _, k := range storage.RecordKinds {
		if missing := compare(want[k], have[k]); missing != "" {
			return report, fmt.Errorf("verify %s: %s", k, missing)
		}
		report.Kinds = append(report.Kinds, KindReport{Kind: k, Source: len(want[k]), Written: written[k], Checksum: sum(want[k])})
	}
	fileSums, err := blobDigest(ctx, cfg.FilesDir(), blobStore)
	if err != nil {
		return report, err
	}
	report.Kinds = append(report.Kinds, KindReport{Kind: "blobs", Source: len(fileSums), Written: blobs, Checksum: sum(fileSums)})
	return report, nil
}

// copyBlobs stores every uploaded file the database lacks.
func copyBlobs(ctx context.Context, dir string, dst storage.BlobStore) (int, error) {
	n := 0
	err := eachFile(dir, func(name string, data []byte) error {
		if _, err := dst.GetBlob(ctx, name); err == nil {
			return nil
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		n++
		return dst.PutBlob(ctx, name, data)
	})
	return n, err
}

// blobDigest checks every file against the database and returns their sums.
func blobDigest(ctx context.Context, dir string, dst storage.BlobStore) (map[string]string, error) {
	out := map[string]string{}
	err := eachFile(dir, func(name string, data []byte) error {
		got, err := dst.GetBlob(ctx, name)
		if err != nil {
			return fmt.Errorf("verify blobs: %s: %w", name, err)
		}
		if !bytes.Equal(got, data) {
			return fmt.Errorf("verify blobs: %s differs", name)
		}
		h := sha256.Sum256(data)
		out[name] = hex.EncodeToString(h[:])
		return nil
	})
	return out, err
}

func eachFile(dir string, fn func(name string, data []byte) error) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue // atomicfile's temp files start with a dot
		}
		data, err := os.ReadFile(dir + string(os.PathSeparator) + e.Name())
		if err != nil {
			return err
		}
		if err := fn(e.Name(), data); err != nil {
			return err
		}
	}
	return nil
}

// digest hashes every record by kind and key: its JSON with the keys
// sorted (the backends store the same record with different spacing and
// key order) and its vector.
func digest(ctx context.Context, x exporter) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	err := x.Export(ctx, func(r storage.Record) error {
		h := sha256.New()
		if r.Kind == "settings" {
			h.Write(r.Data)
		} else {
			norm, err := normalise(r.Data)
			if err != nil {
				return fmt.Errorf("%s %s: %w", r.Kind, r.Key, err)
			}
			h.Write(norm)
		}
		for _, f := range r.Vector {
			_ = binary.Write(h, binary.LittleEndian, math.Float32bits(f))
		}
		if out[r.Kind] == nil {
			out[r.Kind] = map[string]string{}
		}
		out[r.Kind][r.Key] = hex.EncodeToString(h.Sum(nil))
		return nil
	})
	return out, err
}

func normalise(raw []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// compare says what of want is missing or different in have ("" if none).
func compare(want, have map[string]string) string {
	var missing, differ []string
	for k, h := range want {
		switch got, ok := have[k]; {
		case !ok:
			missing = append(missing, k)
		case got != h:
			differ = append(differ, k)
		}
	}
	if len(missing)+len(differ) == 0 {
		return ""
	}
	slices.Sort(missing)
	slices.Sort(differ)
	return fmt.Sprintf("%d missing %v, %d different %v", len(missing), first(missing), len(differ), first(differ))
}

func first(s []string) []string { return s[:min(3, len(s))] }

// sum is one checksum of a kind: the hash of its records' sorted hashes.
func sum(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k + "=" + m[k] + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
