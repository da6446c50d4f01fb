// Package migrations holds the schema versions of penny's stores. The
// embedded store (storage/bolt) records BoltSchemaVersion in its meta bucket
// and refuses a data dir written by a newer penny; upgrades from older
// versions run in storage/bolt at open, one transaction per step. PostgreSQL
// migrations (scale-out mode) will live in migrations/postgres as embedded
// SQL files applied in order.
package migrations

// BoltSchemaVersion is the schema version of the embedded bbolt store that
// this build writes. Bump it together with an upgrade step in storage/bolt.
const BoltSchemaVersion = 1
