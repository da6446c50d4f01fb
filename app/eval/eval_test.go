package eval_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/eval"
)

func TestMetrics(t *testing.T) {
	rel := map[string]bool{"a": true, "b": true}
	require.InDelta(t, 1.0, eval.NDCG([]string{"a", "b", "c"}, rel, 10), 1e-9)
	// a at rank 2, b missing: (1/log2 3) / (1 + 1/log2 3)
	require.InDelta(t, 0.6309/1.6309, eval.NDCG([]string{"x", "a"}, rel, 10), 1e-4)
	require.Zero(t, eval.NDCG([]string{"x"}, rel, 10))
	require.InDelta(t, 0.5, eval.Recall([]string{"x", "a"}, rel, 100), 1e-9)
	require.Zero(t, eval.Recall([]string{"a"}, map[string]bool{}, 100))
}
