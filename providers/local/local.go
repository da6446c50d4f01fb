// Package local is penny's built-in offline provider: an embedder that
// needs no model download (feature hashing) and an extractive answerer that
// builds answers from the retrieved passages with [n] citations. It is the
// last resort of every candidate list and the whole story when no key and
// no network are available.
package local

import "github.com/penny-dev/penny/providers"

// Name is the provider name used in the catalog and the ledger.
const Name = "local"

// Provider is the offline provider. The zero value is ready to use.
type Provider struct {
	fallback bool
}

// New returns the offline provider as the only one.
func New() *Provider { return &Provider{} }

// NewFallback returns the offline provider as the last resort behind
// configured models: without documents it says they are unavailable,
// rather than that none is configured.
func NewFallback() *Provider { return &Provider{fallback: true} }

var (
	_ providers.ChatModel = (*Provider)(nil)
	_ providers.Streamer  = (*Provider)(nil)
	_ providers.Embedder  = (*Provider)(nil)
)
