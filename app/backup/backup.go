// Package backup writes and restores backups of an embedded penny: one
// gzip-compressed tar holding a manifest, a consistent snapshot of the
// store (bbolt) and the uploaded originals. The search indexes are not in
// it: they are derived data, rebuilt from the stored chunks and vectors at
// the first start after a restore.
//
// A backup can be taken while penny serves: the store snapshot comes from
// one read transaction, and originals are written before the transaction
// that names them, so every original the snapshot needs is on disk when
// the snapshot is taken.
package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/penny-dev/penny/storage/atomicfile"
)

// Format names the archive layout; Restore refuses any other.
const Format = "penny-backup/1"

// Names inside the archive.
const (
	manifestName = "manifest.json"
	storeName    = "penny.db"
	filesPrefix  = "files/"
)

// Manifest describes a backup: what wrote it, and the size and SHA-256 of
// every file in it, so that Restore can verify the archive before it
// touches the data dir.
type Manifest struct {
	Format        string    `json:"format"`
	Version       string    `json:"version"`
	SchemaVersion int       `json:"schemaVersion"`
	CreatedAt     time.Time `json:"createdAt"`
	Store         File      `json:"store"`
	Files         []File    `json:"files"`
}

// File is one file of the archive.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Store is the part of the embedded store a backup reads.
type Store interface {
	// Snapshot writes a consistent copy of the store to w.
	Snapshot(ctx context.Context, w io.Writer) (int64, error)
	SchemaVersion(ctx context.Context) (int, error)
}

// Paths are where the data dir keeps what a backup covers.
type Paths struct {
	// Store is the bbolt file.
	Store string
	// Files is the directory of uploaded originals.
	Files string
	// Indexes is the directory of the search indexes (removed on restore).
	Indexes string
}

// Write snapshots st into a temporary file in tmpDir (on the same disk,
// so the store's read transaction is short), then writes the archive —
// manifest, store, originals — to w.
func Write(ctx context.Context, st Store, p Paths, tmpDir, version string, w io.Writer) (Manifest, error) {
	schema, err := st.SchemaVersion(ctx)
	if err != nil {
		return Manifest{}, err
	}
	tmp, err := os.CreateTemp(tmpDir, ".backup-*.db")
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: temp file: %w", err)
	}
	defer func() { _ = tmp.Close(); _ = os.Remove(tmp.Name()) }()
	h := sha256.New()
	n, err := st.Snapshot(ctx, io.MultiWriter(tmp, h))
	if err != nil {
		return Manifest{}, err
	}
	m := Manifest{Format: Format, Version: version, SchemaVersion: schema, CreatedAt: time.Now().UTC(),
		Store: File{Name: storeName, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}}
	names, err := originals(p.Files)
	if err != nil {
		return Manifest{}, err
	}
	for _, name := range names {
		f, err := sumFile(filepath.Join(p.Files, name))
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted since it was listed: its document is gone too
		}
		if err != nil {
			return Manifest{}, err
		}
		f.Name = filesPrefix + name
		m.Files = append(m.Files, f)
	}

	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, err
	}
	if err := writeEntry(tw, manifestName, int64(len(raw)), strings.NewReader(string(raw))); err != nil {
		return Manifest{}, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return Manifest{}, err
	}
	if err := writeEntry(tw, storeName, n, tmp); err != nil {
		return Manifest{}, err
	}
	for _, f := range m.Files {
		if err := ctx.Err(); err != nil {
			return Manifest{}, err
		}
		if err := copyFileEntry(tw, f, filepath.Join(p.Files, strings.TrimPrefix(f.Name, filesPrefix))); err != nil {
			return Manifest{}, err
		}
	}
	if err := tw.Close(); err != nil {
		return Manifest{}, fmt.Errorf("backup: write: %w", err)
	}
	if err := gz.Close(); err != nil {
		return Manifest{}, fmt.Errorf("backup: write: %w", err)
	}
	return m, nil
}

// originals lists the regular files of the originals directory.
func originals(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backup: list originals: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

func sumFile(path string) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, fmt.Errorf("backup: read %s: %w", path, err)
	}
	return File{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func writeEntry(tw *tar.Writer, name string, size int64, r io.Reader) error {
	hdr := &tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: time.Now().UTC(), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("backup: write %s: %w", name, err)
	}
	if _, err := io.CopyN(tw, r, size); err != nil {
		return fmt.Errorf("backup: write %s: %w", name, err)
	}
	return nil
}

// copyFileEntry writes an original whose size was taken when it was
// listed; originals never change once written, so a different size means
// the file was replaced, and the backup fails rather than lie.
func copyFileEntry(tw *tar.Writer, f File, path string) error {
	in, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", path, err)
	}
	defer in.Close()
	return writeEntry(tw, f.Name, f.Size, in)
}

// Check verifies a restored store file before it replaces the current
// one (schema version, readability); Restore calls it on the staged copy.
type Check func(storePath string) error

// Restore reads the archive r into the data dir described by p. The
// archive is first unpacked beside the data (a staging directory) and
// verified — format, every size and SHA-256, check on the store — and only
// then moved into place: the current store is kept as
// penny.db.before-restore, the current originals as files.before-restore,
// and the indexes are removed so that the next start rebuilds them. A
// restore that fails verification leaves the data dir as it was.
func Restore(ctx context.Context, r io.Reader, p Paths, check Check) (Manifest, error) {
	dir := filepath.Dir(p.Store)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Manifest{}, err
	}
	stage, err := os.MkdirTemp(dir, ".restore-*")
	if err != nil {
		return Manifest{}, fmt.Errorf("restore: staging dir: %w", err)
	}
	defer os.RemoveAll(stage)
	m, err := unpack(ctx, r, stage)
	if err != nil {
		return m, err
	}
	staged := filepath.Join(stage, storeName)
	if check != nil {
		if err := check(staged); err != nil {
			return m, fmt.Errorf("restore: the backup's store: %w", err)
		}
	}
	// Verified: move into place. Keep what was there.
	if err := moveAside(p.Store, p.Store+".before-restore"); err != nil {
		return m, err
	}
	if err := moveAside(p.Files, p.Files+".before-restore"); err != nil {
		return m, err
	}
	if err := os.RemoveAll(p.Indexes); err != nil {
		return m, fmt.Errorf("restore: remove indexes: %w", err)
	}
	if err := os.Rename(staged, p.Store); err != nil {
		return m, fmt.Errorf("restore: place store: %w", err)
	}
	if err := os.Rename(filepath.Join(stage, "files"), p.Files); err != nil {
		return m, fmt.Errorf("restore: place originals: %w", err)
	}
	return m, atomicfile.SyncDir(dir)
}

// unpack extracts and verifies the archive into stage.
func unpack(ctx context.Context, r io.Reader, stage string) (Manifest, error) {
	var m Manifest
	gz, err := gzip.NewReader(r)
	if err != nil {
		return m, fmt.Errorf("restore: not a penny backup (gzip): %w", err)
	}
	tr := tar.NewReader(gz)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != manifestName || hdr.Size > 64<<20 {
		return m, errors.New("restore: not a penny backup: the archive does not start with its manifest")
	}
	if err := json.NewDecoder(io.LimitReader(tr, hdr.Size)).Decode(&m); err != nil {
		return m, fmt.Errorf("restore: manifest: %w", err)
	}
	if m.Format != Format {
		return m, fmt.Errorf("restore: unknown backup format %q (this penny reads %s)", m.Format, Format)
	}
	want := map[string]File{m.Store.Name: m.Store}
	for _, f := range m.Files {
		want[f.Name] = f
	}
	if err := os.Mkdir(filepath.Join(stage, "files"), 0o700); err != nil {
		return m, err
	}
	seen := map[string]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return m, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return m, fmt.Errorf("restore: read archive: %w", err)
		}
		f, ok := want[hdr.Name]
		if !ok || seen[hdr.Name] || hdr.Typeflag != tar.TypeReg || hdr.Size != f.Size {
			return m, fmt.Errorf("restore: unexpected entry %q in the archive", hdr.Name)
		}
		seen[hdr.Name] = true
		dst := filepath.Join(stage, storeName)
		if hdr.Name != storeName {
			name := strings.TrimPrefix(hdr.Name, filesPrefix)
			if name == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") {
				return m, fmt.Errorf("restore: bad file name %q in the archive", hdr.Name)
			}
			dst = filepath.Join(stage, "files", name)
		}
		if err := extract(tr, dst, f); err != nil {
			return m, err
		}
	}
	if len(seen) != len(want) {
		return m, fmt.Errorf("restore: the archive is incomplete: %d of %d files", len(seen), len(want))
	}
	return m, nil
}

func extract(r io.Reader, dst string, f File) error {
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	h := sha256.New()
	_, err = io.CopyN(io.MultiWriter(out, h), r, f.Size)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restore: write %s: %w", f.Name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return fmt.Errorf("restore: %s is corrupt (SHA-256 %s, the manifest says %s)", f.Name, got, f.SHA256)
	}
	return nil
}

// moveAside renames path to aside (replacing an older aside); a missing
// path is fine.
func moveAside(path, aside string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := os.RemoveAll(aside); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.Rename(path, aside); err != nil {
		return fmt.Errorf("restore: keep %s: %w", path, err)
	}
	return nil
}

// WriteFile writes an archive to path atomically: nothing, or all of it.
func WriteFile(path string, write func(io.Writer) error) error {
	return atomicfile.Write(path, write)
}
