package documents

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/app/documents/pdftest"
)

// shared pdfium: it takes seconds to start.
var pdf = &Pdfium{}

func newExtractor() *Service {
	return New(nil, nil, nil, Options{PDF: pdf, Limits: Limits{MaxPages: 50, MaxUnpackedBytes: 1 << 20}})
}

func code(t *testing.T, err error) string {
	t.Helper()
	e, ok := apperr.As(err)
	require.True(t, ok, "%v", err)
	return e.Code
}

func TestPDFPagesAndNeedsOCR(t *testing.T) {
	s := newExtractor()
	ctx := context.Background()
	ex, err := s.extract(ctx, "birds.pdf", pdftest.Make("Grey herons nest in heronries.\nThey eat fish.", "Page two is about migration in winter."))
	require.NoError(t, err)
	require.Contains(t, ex.Text, "Grey herons nest in heronries.")
	require.Len(t, ex.PageStarts, 2)
	require.Equal(t, 1, ex.PageAt(0))
	off := strings.Index(ex.Text, "migration")
	require.Equal(t, 2, ex.PageAt(off), "page numbers are kept for every offset")

	_, err = s.extract(ctx, "scan.pdf", pdftest.Make("", ""))
	require.Equal(t, "needs_ocr", code(t, err), "a PDF without a text layer is reported, not indexed empty")

	many := make([]string, 51)
	for i := range many {
		many[i] = "page text"
	}
	_, err = s.extract(ctx, "long.pdf", pdftest.Make(many...))
	require.Equal(t, "too_many_pages", code(t, err))

	_, err = s.extract(ctx, "broken.pdf", []byte("%PDF-1.4\nthis is not a pdf at all"))
	require.Equal(t, "unreadable_pdf", code(t, err))
}

// TestRealPDF reads a real manual from Debian's libtasn1-doc when CI has
// installed it (PENNY_TEST_PDF names the file).
func TestRealPDF(t *testing.T) {
	path := os.Getenv("PENNY_TEST_PDF")
	if path == "" {
		t.Skip("set PENNY_TEST_PDF to a real PDF (.ci/run uses /usr/share/doc/libtasn1-doc/libtasn1.pdf)")
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	ex, err := newExtractor().extract(context.Background(), "libtasn1.pdf", data)
	require.NoError(t, err)
	require.Len(t, ex.PageStarts, 36)
	require.Contains(t, ex.Text, "Abstract Syntax Notation One")
	require.Contains(t, ex.Text, "manipulation", "soft hyphens are joined")
	require.NotContains(t, ex.Text, "\r")
}

func TestLyingTypes(t *testing.T) {
	s := newExtractor()
	ctx := context.Background()
	for name, data := range map[string][]byte{
		"notes.txt":  pdftest.Make("hidden"),     // a PDF named .txt
		"report.pdf": []byte("plain text"),       // text named .pdf
		"memo.docx":  []byte("plain text"),       // not a zip
		"page.html":  []byte("PK\x03\x04binary"), // a zip named .html
		"tool.exe":   []byte("MZ"),
	} {
		_, err := s.extract(ctx, name, data)
		require.Equal(t, "unsupported_file_type", code(t, err), name)
	}
}

func TestHTMLKeepsMainContent(t *testing.T) {
	page := `<html><head><title>Heron facts</title><script>alert(1)</script></head><body>
<nav><a href="/">Home</a> <a href="/shop">Shop</a> Navigation menu here</nav>
<header>Site header banner</header>
<main><article><h1>Grey herons</h1>
<p>The grey heron is a long-legged wading bird of the heron family. It is common across Europe and Asia and parts of Africa, and it nests in colonies called heronries, usually high in trees near water.</p>
<h2>Feeding</h2>
<p>Herons hunt fish, frogs and small mammals in shallow water, standing motionless before striking with their long bills. They often feed alone at dawn and dusk.</p>
<ul><li>Fish</li><li>Frogs</li></ul></article></main>
<footer>Copyright footer, privacy policy, cookie settings</footer></body></html>`
	ex, err := newExtractor().extract(context.Background(), "herons.html", []byte(page))
	require.NoError(t, err)
	require.Equal(t, "Heron facts", ex.Title)
	require.Contains(t, ex.Text, "nests in colonies called heronries")
	require.Contains(t, ex.Text, "## Feeding")
	for _, junk := range []string{"Navigation menu", "Copyright footer", "alert(1)", "Site header"} {
		require.NotContains(t, ex.Text, junk)
	}
	require.True(t, ex.Markdown)
}

func docx(t *testing.T, xmlBody string, extra map[string][]byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("word/document.xml")
	require.NoError(t, err)
	_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` + xmlBody + `</w:body></w:document>`))
	for name, data := range extra {
		w, err := zw.Create(name)
		require.NoError(t, err)
		_, _ = w.Write(data)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestDOCX(t *testing.T) {
	body := `<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Herons</w:t></w:r></w:p>` +
		`<w:p><w:r><w:t xml:space="preserve">Grey herons nest </w:t></w:r><w:r><w:t>in heronries.</w:t></w:r></w:p>` +
		`<w:p><w:pPr><w:pStyle w:val="Heading2"/></w:pPr><w:r><w:t>Food</w:t></w:r></w:p><w:p><w:r><w:t>Fish</w:t><w:tab/><w:t>frogs</w:t></w:r></w:p>`
	ex, err := newExtractor().extract(context.Background(), "herons.docx", docx(t, body, nil))
	require.NoError(t, err)
	require.Equal(t, "# Herons\n\nGrey herons nest in heronries.\n\n## Food\n\nFish\tfrogs", ex.Text)

	// A zip bomb: a small archive that unpacks past the limit is refused
	// before it is read.
	bomb := docx(t, `<w:p><w:r><w:t>x</w:t></w:r></w:p>`, map[string][]byte{"word/media/zeros.bin": make([]byte, 4<<20)})
	require.Less(t, len(bomb), 64<<10, "compresses well")
	_, err = newExtractor().extract(context.Background(), "bomb.docx", bomb)
	require.Equal(t, "file_too_large", code(t, err))
}

func TestCSVAndJSON(t *testing.T) {
	s := newExtractor()
	ex, err := s.extract(context.Background(), "birds.csv", []byte("name,habitat,diet\nGrey heron,rivers,fish\nRobin,gardens,\"worms, insects\"\n"))
	require.NoError(t, err)
	require.Equal(t, "name: Grey heron; habitat: rivers; diet: fish\nname: Robin; habitat: gardens; diet: worms, insects\n", ex.Text)
	ex, err = s.extract(context.Background(), "bird.json", []byte(`{"name":"Grey heron","size":{"cm":95},"eats":["fish","frogs"],"extinct":false}`))
	require.NoError(t, err)
	require.Equal(t, "eats[0]: fish\neats[1]: frogs\nextinct: false\nname: Grey heron\nsize.cm: 95\n", ex.Text)
	_, err = s.extract(context.Background(), "bad.json", []byte(`{"name":`))
	require.Equal(t, "invalid_request", code(t, err))
}
