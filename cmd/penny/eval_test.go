package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEvalCommandOnATinyDataset(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
	}
	write("corpus.jsonl", `{"_id":"d1","title":"Herons","text":"Grey herons nest in colonies called heronries in tall trees."}
{"_id":"d2","title":"Revenue","text":"Quarterly revenue grew by twelve percent thanks to exports."}
{"_id":"d3","title":"Robins","text":"Robins sing at dawn and eat worms in gardens."}
`)
	write("queries.jsonl", `{"_id":"q1","text":"Where do herons nest?","split":"test"}
{"_id":"q2","text":"How much did revenue grow?","split":"test"}
{"_id":"q3","text":"unjudged query","split":"test"}
`)
	write("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
	code, out, errOut := runCmd(t, "", map[string]string{"PENNY_OLLAMA_URL": "off"}, "eval", "--dataset", dir)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "3 documents")
	require.Contains(t, out, "2 queries")
	require.Contains(t, out, "| keyword | 1.000 | 1.000 |")
	require.Contains(t, out, "| hybrid | 1.000 | 1.000 |")
	code, _, errOut = runCmd(t, "", nil, "eval")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "--dataset")
}
