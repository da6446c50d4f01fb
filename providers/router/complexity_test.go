package router_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/router"
)

// TestComplexityAccuracy measures the analyzer on 150 hand-labelled
// prompts (testdata/complexity.jsonl) and reports the accuracy; the goal
// is 90 %.
func TestComplexityAccuracy(t *testing.T) {
	f, err := os.Open("testdata/complexity.jsonl")
	require.NoError(t, err)
	defer f.Close()
	total, right := 0, 0
	confusion := map[string]map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var row struct{ Prompt, Tier string }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &row))
		got, _ := router.Classify(providers.ChatRequest{Messages: []providers.Message{{Role: "user", Content: row.Prompt}}})
		total++
		if got == row.Tier {
			right++
		} else if testing.Verbose() {
			t.Logf("want %s got %s: %.80q", row.Tier, got, row.Prompt)
		}
		if confusion[row.Tier] == nil {
			confusion[row.Tier] = map[string]int{}
		}
		confusion[row.Tier][got]++
	}
	require.NoError(t, sc.Err())
	require.GreaterOrEqual(t, total, 150)
	acc := float64(right) / float64(total)
	t.Logf("complexity accuracy: %d/%d = %.1f%%; confusion (label → got): %v", right, total, 100*acc, confusion)
	require.GreaterOrEqual(t, acc, 0.90, fmt.Sprintf("confusion: %v", confusion))
}

func TestClassifyReasons(t *testing.T) {
	tier, why := router.Classify(providers.ChatRequest{Messages: []providers.Message{{Role: "user", Content: "Hi"}}})
	require.Equal(t, router.TierSmall, tier)
	require.Contains(t, why[0], "tier small")
	tier, why = router.Classify(providers.ChatRequest{Messages: []providers.Message{{Role: "user", Content: "Prove the theorem step by step and explain why."}}})
	require.Equal(t, router.TierLarge, tier)
	require.Contains(t, fmt.Sprint(why), "math")
	require.Contains(t, fmt.Sprint(why), "multi-step reasoning")
}
