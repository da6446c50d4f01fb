package vector_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/vector"
)

func TestFuse(t *testing.T) {
	vec := []vector.Hit{{ID: "a"}, {ID: "b"}, {ID: "c"}}
	kw := []vector.Hit{{ID: "c"}, {ID: "a"}, {ID: "d"}}
	got := vector.Fuse([][]vector.Hit{vec, kw}, nil)
	require.Equal(t, "a", got[0].ID, "high in both lists wins")
	require.InDelta(t, 1.0/61+1.0/62, got[0].Score, 1e-12)
	require.Equal(t, "c", got[1].ID)
	require.Len(t, got, 4)

	// Weights shift the balance.
	got = vector.Fuse([][]vector.Hit{vec, kw}, []float64{0, 1})
	require.Equal(t, "c", got[0].ID)

	require.Empty(t, vector.Fuse(nil, nil))
}

func TestNormalize(t *testing.T) {
	v := vector.Normalize([]float32{3, 4})
	require.InDelta(t, 1.0, vector.Dot(v, v), 1e-6)
	require.Equal(t, []float32{0, 0}, vector.Normalize([]float32{0, 0}))
}

func BenchmarkDot384(b *testing.B) {
	x, y := make([]float32, 384), make([]float32, 384)
	for i := range x {
		x[i], y[i] = float32(i%7)/7, float32(i%5)/5
	}
	var s float64
	for b.Loop() {
		s += vector.Dot(x, y)
	}
	_ = s
}
