package documents

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestChunkOffsetsAreExact(t *testing.T) {
	text := strings.Repeat("The heron waits by the river. It catches a fish! Then it flies away?\n\n", 40)
	spans := Chunker{Target: 50, Overlap: 10}.Split(text, false)
	require.Greater(t, len(spans), 5)
	for i, s := range spans {
		require.Equal(t, text[s.Start:s.End], s.Text, "span %d", i)
		require.LessOrEqual(t, s.Tokens, 50)
		require.NotEmpty(t, strings.TrimSpace(s.Text))
		if i > 0 {
			require.Less(t, spans[i-1].Start, s.Start, "progress")
			require.Less(t, s.Start, spans[i-1].End, "neighbours overlap")
		}
	}
	require.Equal(t, len(strings.TrimRight(text, "\n")), spans[len(spans)-1].End, "covers the end")
}

func TestMarkdownHeadings(t *testing.T) {
	text := "# Guide\nIntro text here.\n\n## Install\nRun make run.\n\n```sh\n# not a heading\nmake test\n```\n\n### Linux\nUse apt.\n\n## Use\nAsk questions.\n"
	spans := Chunker{Target: 200, Overlap: 20}.Split(text, true)
	var headings []string
	for _, s := range spans {
		headings = append(headings, s.Heading)
		require.Equal(t, text[s.Start:s.End], s.Text)
	}
	require.Equal(t, []string{"Guide", "Guide > Install", "Guide > Install > Linux", "Guide > Use"}, headings)
	require.Contains(t, spans[1].Text, "# not a heading", "a # inside a code fence is code")
}

func TestLongSentenceAndNoSpaces(t *testing.T) {
	long := strings.Repeat("word ", 1000)
	spans := Chunker{Target: 100, Overlap: 0}.Split(long, false)
	require.Greater(t, len(spans), 5)
	for _, s := range spans {
		require.LessOrEqual(t, s.Tokens, 101)
		require.Equal(t, long[s.Start:s.End], s.Text)
	}
	blob := strings.Repeat("é", 3000) // no spaces, multi-byte
	spans = Chunker{Target: 100, Overlap: 0}.Split(blob, false)
	total := 0
	for _, s := range spans {
		require.True(t, strings.HasPrefix(s.Text, "é"), "cut at rune boundaries")
		total += len(s.Text)
	}
	require.Equal(t, len(blob), total)
}

func TestEmptyAndWhitespace(t *testing.T) {
	require.Empty(t, Chunker{Target: 100, Overlap: 10}.Split("", false))
	require.Empty(t, Chunker{Target: 100, Overlap: 10}.Split(" \n\n \t", true))
}
