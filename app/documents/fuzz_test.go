package documents

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/app/documents/pdftest"
)

// Fuzz targets for every parser of untrusted uploads and for the chunker.
// `make fuzz` runs each for a few seconds (CI does); crashers found land in
// testdata/fuzz and run with the ordinary tests from then on.

func FuzzChunker(f *testing.F) {
	f.Add("# Title\n\nSome text. More text.\n\n## Part\n\nBody.", true, 20, 5)
	f.Add("```\n# not a heading\n```\ntext", true, 8, 2)
	f.Add(strings.Repeat("word ", 500), false, 50, 10)
	f.Fuzz(func(t *testing.T, text string, markdown bool, target, overlap int) {
		if target < 1 || target > 2000 || overlap < 0 || overlap >= target {
			return
		}
		c := Chunker{Target: target, Overlap: overlap}
		for _, s := range c.Split(text, markdown) {
			if s.Start < 0 || s.End > len(text) || s.Start > s.End {
				t.Fatalf("span [%d,%d) outside the text (%d bytes)", s.Start, s.End, len(text))
			}
			if s.Text != text[s.Start:s.End] {
				t.Fatalf("span text is not text[start:end]")
			}
			if utf8.ValidString(text) && !utf8.ValidString(s.Text) {
				t.Fatalf("a span cut a UTF-8 character: %q", s.Text)
			}
		}
	})
}

func FuzzHTMLText(f *testing.F) {
	f.Add("<html><head><title>T</title></head><body><nav>menu</nav><main><h1>H</h1><p>text</p></main></body></html>")
	f.Add("<p>unclosed <b>bold <script>alert(1)</script>")
	f.Fuzz(func(t *testing.T, src string) {
		text, _ := htmlText(src)
		if strings.Contains(strings.ToLower(text), "<script") && !strings.Contains(strings.ToLower(src), "&lt;script") {
			t.Fatalf("a script element survived as text: %q", text)
		}
	})
}

func FuzzCSVText(f *testing.F) {
	f.Add("name,age\nada,36\n\"quoted, comma\",1\n")
	f.Add("a\n\"unterminated")
	f.Fuzz(func(t *testing.T, src string) { _, _ = csvText(src) })
}

func FuzzJSONText(f *testing.F) {
	f.Add([]byte(`{"a": {"b": [1, "two", null, true]}}`))
	f.Add([]byte(`[[[[[[[[[[]]]]]]]]]]`))
	f.Fuzz(func(t *testing.T, data []byte) { _, _ = jsonText(data) })
}

func FuzzDOCXText(f *testing.F) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("word/document.xml")
	_, _ = w.Write([]byte(`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Hello</w:t></w:r></w:p></w:body></w:document>`))
	_ = zw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("PK\x03\x04 not really a zip"))
	f.Fuzz(func(t *testing.T, data []byte) {
		text, err := docxText(data, 1<<20)
		if err == nil && len(text) > 1<<20 {
			t.Fatalf("%d bytes of text from a document limited to 1 MiB unpacked", len(text))
		}
	})
}

func FuzzPDFText(f *testing.F) {
	f.Add(pdftest.Make("Grey herons nest in heronries.", "They eat fish."))
	f.Add(pdftest.Make(""))
	f.Add([]byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF"))
	s := newExtractor()
	f.Fuzz(func(t *testing.T, data []byte) {
		ex, err := s.extract(t.Context(), "fuzz.pdf", data)
		if err != nil {
			if _, ok := apperr.As(err); !ok {
				t.Fatalf("an error without a code for the user: %v", err)
			}
			return
		}
		if len(ex.PageStarts) > 50 {
			t.Fatalf("%d pages from a reader limited to 50", len(ex.PageStarts))
		}
	})
}
