package local

import (
	"context"
	"hash/fnv"
	"math"

	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/vector"
)

// EmbedModel is the id of the built-in embedder; EmbedDimensions its size.
const (
	EmbedModel      = "penny-hash-384"
	EmbedDimensions = 384
)

// embed maps text to a unit vector by feature hashing: every stemmed word
// (weight 1) and every pair of neighbouring words (weight 0.5) adds its
// sublinear term frequency to one of EmbedDimensions buckets, with a sign
// taken from the hash so that collisions cancel out on average. No model,
// no download, fully deterministic.
func embed(text string) []float32 {
	terms := Terms(text)
	weights := map[string]float64{}
	for i, t := range terms {
		weights["u\x00"+t] += 1
		if i > 0 {
			weights["b\x00"+terms[i-1]+"\x00"+t] += 0.5
		}
	}
	v := make([]float32, EmbedDimensions)
	for f, w := range weights {
		h := fnv.New64a()
		_, _ = h.Write([]byte(f))
		sum := h.Sum64()
		sign := float32(1)
		if sum>>63 == 1 {
			sign = -1
		}
		v[sum%EmbedDimensions] += sign * float32(1+math.Log(w))
	}
	return vector.Normalize(v)
}

// Embed embeds every text locally.
func (p *Provider) Embed(ctx context.Context, req providers.EmbedRequest) (providers.EmbedResponse, error) {
	resp := providers.EmbedResponse{Vectors: make([][]float32, len(req.Texts))}
	for i, t := range req.Texts {
		if err := ctx.Err(); err != nil {
			return providers.EmbedResponse{}, err
		}
		resp.Vectors[i] = embed(t)
		resp.Usage.InputTokens += providers.EstimateTokens(t)
	}
	return resp, nil
}
