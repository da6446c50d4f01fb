package metrics

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

var (
	metricName = regexp.MustCompile(`\bpenny_[a-z_]+`)
	heading    = regexp.MustCompile(`(?m)^#+ (.+)$`)
)

// slug is GitHub's anchor of a Markdown heading.
func slug(h string) string {
	h = strings.ToLower(h)
	var b strings.Builder
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// TestAlertRulesNameRealMetrics: docs/prometheus-rules.yml parses, every
// rule has a summary and a runbook link to a real section of
// docs/operations.md, and every penny_* metric it uses is one penny
// exports — so the rules cannot drift from the code.
func TestAlertRulesNameRealMetrics(t *testing.T) {
	src, err := os.ReadFile("metrics.go")
	require.NoError(t, err)
	exported := map[string]bool{}
	for _, m := range regexp.MustCompile(`"(penny_[a-z_]+)"`).FindAllStringSubmatch(string(src), -1) {
		exported[m[1]] = true
	}
	require.NotEmpty(t, exported)

	ops, err := os.ReadFile("../../docs/operations.md")
	require.NoError(t, err)
	anchors := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(string(ops), -1) {
		anchors[slug(m[1])] = true
	}

	raw, err := os.ReadFile("../../docs/prometheus-rules.yml")
	require.NoError(t, err)
	var doc struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert       string
				Expr        string
				Annotations map[string]string
			}
		}
	}
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	require.NotEmpty(t, doc.Groups)
	rules := 0
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			rules++
			require.NotEmpty(t, r.Alert)
			require.NotEmpty(t, r.Expr, r.Alert)
			require.NotEmpty(t, r.Annotations["summary"], r.Alert)
			path, anchor, ok := strings.Cut(r.Annotations["runbook"], "#")
			require.True(t, ok && path == "docs/operations.md", "%s: runbook must point into docs/operations.md", r.Alert)
			require.True(t, anchors[anchor], "%s: docs/operations.md has no section #%s", r.Alert, anchor)
			for _, name := range metricName.FindAllString(r.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
				require.True(t, exported[base], "%s uses %s, which penny does not export", r.Alert, name)
			}
		}
	}
	require.GreaterOrEqual(t, rules, 8)
}
