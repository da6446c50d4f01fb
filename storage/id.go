package storage

import "github.com/oklog/ulid/v2"

// NewID returns a new sortable unique id (a ULID: time-ordered, 26 chars).
func NewID() string { return ulid.Make().String() }
