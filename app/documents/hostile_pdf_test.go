package documents

import (
	"bytes"
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/documents/pdftest"
)

// Hostile PDFs: each gives its text or a clear error code — never a hang,
// a crash, or an allocation sized by a number written in the file.
func TestHostilePDFs(t *testing.T) {
	good := pdftest.Make("Grey herons nest in heronries.", "They eat fish.")
	const text = "Grey herons nest in heronries.\n\nThey eat fish."
	for _, tc := range []struct {
		name string
		data []byte
		text string // the text it must give, or
		code string // the error code
	}{
		{"page count says 2^31-1", bytes.Replace(good, []byte("/Count 2"), []byte("/Count 2147483647"), 1), text, ""},
		{"page tree points at itself", bytes.Replace(good, []byte("/Kids [4 0 R 6 0 R]"), []byte("/Kids [2 0 R 4 0 R 2 0 R]"), 1), "", "unreadable_pdf"},
		{"page tree 100 levels deep", deepPageTree(100), "Herons nest deep down the tree.", ""},
		{"page tree 5,000 levels deep", deepPageTree(5000), "", "unreadable_pdf"},
		{"startxref points past the end", regexp.MustCompile(`startxref\n\d+`).ReplaceAll(good, []byte("startxref\n999999")), text, ""},
		{"every xref offset wrong", regexp.MustCompile(`(?m)^\d{10} 00000 n`).ReplaceAll(good, []byte("0000000003 00000 n")), text, ""},
		{"no xref or trailer", good[:bytes.Index(good, []byte("xref"))], "", "unreadable_pdf"},
		{"cut in half", good[:len(good)/2], "", "unreadable_pdf"},
		{"catalog names object 2^31-2", bytes.Replace(good, []byte("/Pages 2 0 R"), []byte("/Pages 2147483646 0 R"), 1), "", "unreadable_pdf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex, err := newExtractor().extract(t.Context(), "hostile.pdf", tc.data)
			if tc.code != "" {
				require.Error(t, err)
				require.Equal(t, tc.code, code(t, err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.text, ex.Text)
		})
	}
}

// deepPageTree is a PDF whose one page sits under depth nested page-tree
// nodes.
func deepPageTree(depth int) []byte {
	// Objects: 1 catalog, 2 font, 3 contents, 4..4+depth-1 tree nodes, then the page.
	objs := []string{"<< /Type /Catalog /Pages 4 0 R >>", pdftest.Font, pdftest.Contents("Herons nest deep down the tree.")}
	page := 4 + depth
	for i := range depth {
		n, kid := 4+i, 5+i
		parent := ""
		if i > 0 {
			parent = fmt.Sprintf(" /Parent %d 0 R", n-1)
		}
		objs = append(objs, fmt.Sprintf("<< /Type /Pages%s /Kids [%d 0 R] /Count 1 >>", parent, kid))
	}
	return pdftest.Raw(append(objs, pdftest.Page(page-1, 2, 3))...)
}
