// Package migrations holds the schema versions of penny's stores. The
// embedded store (storage/bolt) records BoltSchemaVersion in its meta bucket
// and refuses a data dir written by a newer penny; upgrades from older
// versions run in storage/bolt at open, one transaction per step. PostgreSQL
// migrations (scale-out mode) are the SQL files in postgres/, numbered
// NNNN_name.sql, embedded here and applied in order by storage/postgres,
// one transaction per file.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed postgres/*.sql
var postgresFS embed.FS

// Step is one PostgreSQL migration.
type Step struct {
	Version int
	Name    string
	SQL     string
}

// Postgres returns the PostgreSQL migrations in order.
func Postgres() ([]Step, error) {
	names, err := fs.Glob(postgresFS, "postgres/*.sql")
	if err != nil {
		return nil, err
	}
	var steps []Step
	for _, name := range names {
		base := strings.TrimPrefix(name, "postgres/")
		num, rest, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migrations: %s: want NNNN_name.sql", name)
		}
		raw, err := postgresFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		steps = append(steps, Step{Version: v, Name: strings.TrimSuffix(rest, ".sql"), SQL: string(raw)})
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].Version < steps[j].Version })
	for i, s := range steps {
		if s.Version != i+1 {
			return nil, fmt.Errorf("migrations: postgres versions must run 1, 2, 3…: found %d at position %d", s.Version, i+1)
		}
	}
	return steps, nil
}

// BoltSchemaVersion is the schema version of the embedded bbolt store that
// this build writes. Bump it together with an upgrade step in storage/bolt.
const BoltSchemaVersion = 1
