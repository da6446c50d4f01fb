package rag

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/storage"
)

func TestCheckCitations(t *testing.T) {
	sources := []Source{{Citation: storage.Citation{N: 1, ChunkID: "a"}}, {Citation: storage.Citation{N: 2, ChunkID: "b"}}}
	text, cits := checkCitations("Herons nest in reeds [2]. They eat fish [1][2]. Made up [7]. Zero [0].", sources)
	require.Equal(t, "Herons nest in reeds [2]. They eat fish [1][2]. Made up . Zero .", text)
	require.Len(t, cits, 2)
	require.Equal(t, "b", cits[0].ChunkID, "order of first mention")
	require.Equal(t, "a", cits[1].ChunkID)

	text, cits = checkCitations("no citations", sources)
	require.Equal(t, "no citations", text)
	require.Empty(t, cits)
	require.NotNil(t, cits)
}

func TestPromptNumbersPassages(t *testing.T) {
	msgs := prompt(nil, "q?", nil)
	require.Len(t, msgs, 2)
	require.Equal(t, "system", msgs[0].Role)
	require.Equal(t, "q?", msgs[1].Content)
}
