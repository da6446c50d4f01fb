package httpapi_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/apptest"
	"github.com/penny-dev/penny/app/httpapi"
)

var echoParam = regexp.MustCompile(`:(\w+)`)

// TestOpenAPIMatchesRoutes: the description served at /api/openapi.json
// names exactly the operations of the route table, so it cannot drift.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	ta := apptest.New(t, nil)
	r := ta.Do("GET", "/api/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, r.Status)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)

	var described []string
	for path, ops := range doc.Paths {
		for method := range ops {
			described = append(described, strings.ToUpper(method)+" "+path)
		}
	}
	var routed []string
	for _, rt := range httpapi.New(ta.App).Routes() {
		if rt.Path == "/*" || strings.HasPrefix(rt.Method, "echo_") { // the embedded UI; echo's not-found handlers
			continue
		}
		routed = append(routed, rt.Method+" "+echoParam.ReplaceAllString(rt.Path, "{$1}"))
	}
	sort.Strings(described)
	sort.Strings(routed)
	require.Equal(t, routed, described, "update docs/openapi.py and run make openapi")
}
