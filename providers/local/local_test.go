package local_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/local"
	"github.com/penny-dev/penny/vector"
)

func TestTerms(t *testing.T) {
	require.Equal(t, []string{"heron", "nest", "river"}, local.Terms("Where do the Herons nest? By the river."))
	require.Empty(t, local.Terms("the and of"))
}

func TestEmbedderDeterministicNormalisedSimilar(t *testing.T) {
	p := local.New()
	ctx := context.Background()
	resp, err := p.Embed(ctx, providers.EmbedRequest{Texts: []string{
		"The heron nests in tall reeds by the river.",
		"Where do herons nest?",
		"Quarterly revenue grew by twelve percent.",
		"The heron nests in tall reeds by the river.",
	}})
	require.NoError(t, err)
	require.Len(t, resp.Vectors, 4)
	for _, v := range resp.Vectors {
		require.Len(t, v, local.EmbedDimensions)
		require.InDelta(t, 1.0, vector.Dot(v, v), 1e-5)
	}
	require.Equal(t, resp.Vectors[0], resp.Vectors[3], "deterministic")
	related := vector.Dot(resp.Vectors[0], resp.Vectors[1])
	unrelated := vector.Dot(resp.Vectors[0], resp.Vectors[2])
	require.Greater(t, related, unrelated+0.2)
	require.Positive(t, resp.Usage.InputTokens)
}

var marker = regexp.MustCompile(`\[(\d+)\]`)

func TestAnswerCitesTheRightPassage(t *testing.T) {
	p := local.New()
	passages := []providers.Passage{
		{N: 1, Title: "finance", Text: "Quarterly revenue grew by twelve percent. Costs stayed flat."},
		{N: 2, Title: "birds", Text: "# Herons\nThe grey heron nests in tall reeds by the river. It eats fish and frogs."},
	}
	resp, err := p.Chat(context.Background(), providers.ChatRequest{
		Retrieval: true, Passages: passages,
		Messages: []providers.Message{{Role: "user", Content: "Where does the heron nest?"}},
	})
	require.NoError(t, err)
	require.Contains(t, resp.Text, "nests in tall reeds")
	for _, m := range marker.FindAllStringSubmatch(resp.Text, -1) {
		require.Equal(t, "2", m[1], resp.Text)
	}
	require.Positive(t, resp.Usage.InputTokens)
	require.Positive(t, resp.Usage.OutputTokens)
}

func TestAnswerEdgeCases(t *testing.T) {
	p := local.New()
	ctx := context.Background()
	resp, err := p.Chat(ctx, providers.ChatRequest{Retrieval: true, Messages: []providers.Message{{Role: "user", Content: "anything?"}}})
	require.NoError(t, err)
	require.Equal(t, local.NothingFoundAnswer, resp.Text)

	resp, err = p.Chat(ctx, providers.ChatRequest{Messages: []providers.Message{{Role: "user", Content: "hello"}}})
	require.NoError(t, err)
	require.Equal(t, local.NoModelAnswer, resp.Text)

	resp, err = p.Chat(ctx, providers.ChatRequest{Retrieval: true,
		Passages: []providers.Passage{{N: 1, Text: "Completely unrelated material about tax forms."}},
		Messages: []providers.Message{{Role: "user", Content: "heron nesting?"}}})
	require.NoError(t, err)
	require.Contains(t, resp.Text, "[1]", "falls back to the closest passage, still cited")
}

func TestStreamDeliversTheWholeAnswer(t *testing.T) {
	p := local.New()
	var b strings.Builder
	resp, err := p.ChatStream(context.Background(), providers.ChatRequest{}, func(s string) error { b.WriteString(s); return nil })
	require.NoError(t, err)
	require.Equal(t, resp.Text, b.String())
}

func TestSentences(t *testing.T) {
	require.Equal(t, []string{"One.", "Two!", "Three", "four?", "no"},
		local.Sentences("One. Two!\n## Three\n\n- - four? no"))
	require.Equal(t, []string{"v1.2 is out.", "Next"}, local.Sentences("v1.2 is out. Next"))
	// Hard-wrapped lines (PDF pages, wrapped text) are one sentence; a
	// title line, list items and a line after a full stop are not joined.
	require.Equal(t, []string{"Solar Report", "Soiling from trees reduced output until the panels were cleaned.", "Next one."},
		local.Sentences("Solar Report\nSoiling from trees reduced output until the panels were\ncleaned.\nNext one."))
	require.Equal(t, []string{"Costs", "one", "two"}, local.Sentences("# Costs\n- one\n- two"))
	ordered := local.Sentences("A list:\n1. first\nsecond line")
	require.Equal(t, "second line", ordered[len(ordered)-1], "a numbered item is a block of its own")
}

func TestFallbackSaysUnavailable(t *testing.T) {
	resp, err := local.NewFallback().Chat(context.Background(), providers.ChatRequest{Messages: []providers.Message{{Role: "user", Content: "hi"}}})
	require.NoError(t, err)
	require.Equal(t, local.UnavailableAnswer, resp.Text)
}
