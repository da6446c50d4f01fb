package quality_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/quality"
)

func TestGroundedness(t *testing.T) {
	passages := map[int]string{1: "Grey herons nest in colonies called heronries, high in tall trees.", 2: "Revenue grew by twelve percent."}
	cases := []struct {
		answer string
		want   float64
	}{
		{"Grey herons nest in heronries high in trees [1].", 1},
		{"Grey herons nest in heronries [1]. Revenue grew twelve percent [2].", 1},
		{"Grey herons nest in heronries [1]. They also migrate to Africa every winter [1].", 0.5},
		{"Grey herons nest in heronries. Revenue grew.", 0}, // no citations: not supported
		{"Herons nest in heronries [2].", 0},                // cites the wrong passage
		{"", 0},
		{"Grey herons nest in heronries, high in trees. [1] Revenue grew. [2]", 1}, // citations after the full stop
	}
	for _, tc := range cases {
		require.InDelta(t, tc.want, quality.Groundedness(tc.answer, passages), 1e-9, tc.answer)
	}
}

func TestRefusal(t *testing.T) {
	require.True(t, quality.Refusal("I'm sorry, but I can't help with that."))
	require.True(t, quality.Refusal("As an AI language model, I cannot answer."))
	require.True(t, quality.Refusal("I cannot answer that question."))
	require.False(t, quality.Refusal("Herons nest in heronries [1]."))
}
