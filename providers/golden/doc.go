// Package golden holds the golden fixtures that prove penny's cost
// arithmetic: for each provider's usage schema, a verbatim response goes
// through the real client, and the ledger cost computed from the catalog
// must equal the hand-computed figure in the table. See golden_test.go.
package golden
