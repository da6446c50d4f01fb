package documents

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	readability "codeberg.org/readeck/go-readability/v2"
	"golang.org/x/net/html"

	"github.com/penny-dev/penny/app/apperr"
)

// Extracted is a file's text as penny indexes it.
type Extracted struct {
	Text string
	// Markdown: headings ("# …") drive chunking.
	Markdown    bool
	Title       string
	ContentType string
	// PageStarts[i] is the byte offset in Text where page i+1 begins
	// (PDFs only).
	PageStarts []int
}

// PageAt returns the 1-based page of byte offset off, 0 without pages.
func (e Extracted) PageAt(off int) int {
	if len(e.PageStarts) == 0 {
		return 0
	}
	return sort.Search(len(e.PageStarts), func(i int) bool { return e.PageStarts[i] > off })
}

// PDFReader extracts the text layer of a PDF, one string per page.
type PDFReader interface {
	Pages(ctx context.Context, data []byte, maxPages int) ([]string, error)
}

// Limits bound what extraction accepts.
type Limits struct {
	// MaxPages caps a PDF's pages. Default 2000.
	MaxPages int
	// MaxUnpackedBytes caps what a DOCX unpacks to (zip bombs). Default 200 MiB.
	MaxUnpackedBytes int64
}

// Formats lists the supported extensions and their content types.
var Formats = map[string]string{
	".txt": "text/plain", ".text": "text/plain", ".md": "text/markdown", ".markdown": "text/markdown",
	".pdf": "application/pdf", ".html": "text/html", ".htm": "text/html",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".csv":  "text/csv", ".json": "application/json",
}

func unsupported(name, why string) error {
	return apperr.New(http.StatusUnsupportedMediaType, "unsupported_file_type", "%s: %s", name, why)
}

// errTooManyPages is returned by PDF readers over the page limit.
var errTooManyPages = errors.New("too many pages")

// extract turns an upload into text, by its extension, checking that the
// content is what the extension claims (a renamed binary is refused).
func (s *Service) extract(ctx context.Context, name string, data []byte) (Extracted, error) {
	ext := strings.ToLower(filepath.Ext(name))
	ctype, ok := Formats[ext]
	if !ok {
		return Extracted{}, unsupported(name, "supported formats are .txt, .md, .pdf, .html, .docx, .csv and .json")
	}
	isPDF, isZip := bytes.HasPrefix(data, []byte("%PDF-")), bytes.HasPrefix(data, []byte("PK\x03\x04"))
	out := Extracted{ContentType: ctype}
	switch ext {
	case ".pdf":
		if !isPDF {
			return out, unsupported(name, "the file is not a PDF")
		}
		return s.extractPDF(ctx, name, data, out)
	case ".docx":
		if !isZip {
			return out, unsupported(name, "the file is not a DOCX document")
		}
		text, err := docxText(data, s.opts.Limits.MaxUnpackedBytes)
		if err != nil {
			return out, err
		}
		out.Text, out.Markdown = text, true
		return out, nil
	}
	if isPDF || isZip {
		return out, unsupported(name, "the content is binary, not "+ext)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return out, unsupported(name, "the file is not UTF-8 text")
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	switch ext {
	case ".md", ".markdown":
		out.Text, out.Markdown = text, true
	case ".html", ".htm":
		out.Text, out.Title = htmlText(text)
		out.Markdown = true
	case ".csv":
		t, err := csvText(text)
		if err != nil {
			return out, apperr.Invalid("%s is not readable CSV: %v", name, err)
		}
		out.Text = t
	case ".json":
		t, err := jsonText(data)
		if err != nil {
			return out, apperr.Invalid("%s is not valid JSON: %v", name, err)
		}
		out.Text = t
	default:
		out.Text = text
	}
	return out, nil
}

func (s *Service) extractPDF(ctx context.Context, name string, data []byte, out Extracted) (Extracted, error) {
	if s.pdf == nil {
		return out, unsupported(name, "PDF reading is not available")
	}
	pages, err := s.pdf.Pages(ctx, data, s.opts.Limits.MaxPages)
	switch {
	case errors.Is(err, errTooManyPages):
		return out, apperr.New(http.StatusRequestEntityTooLarge, "too_many_pages", "%s has more than %d pages", name, s.opts.Limits.MaxPages)
	case err != nil:
		return out, apperr.New(http.StatusUnprocessableEntity, "unreadable_pdf", "%s could not be read as a PDF: %v", name, err)
	}
	var b strings.Builder
	letters := 0
	for i, p := range pages {
		p = cleanPDFText(p)
		if i > 0 {
			b.WriteString("\n\n")
		}
		out.PageStarts = append(out.PageStarts, b.Len())
		b.WriteString(p)
		for _, r := range p {
			if unicode.IsLetter(r) {
				letters++
			}
		}
	}
	if letters < 10*max(1, len(pages)) {
		return out, apperr.New(http.StatusUnprocessableEntity, "needs_ocr",
			"%s has no text layer (a scanned PDF?): it needs OCR, which penny does not do; nothing was stored", name)
	}
	out.Text = b.String()
	return out, nil
}

var manyNewlines = regexp.MustCompile(`\n{3,}`)

// cleanPDFText normalises pdfium's text: CRLF to LF, soft hyphens (U+0002
// at a line end) joined, other control characters dropped.
func cleanPDFText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.ReplaceAll(s, "\x02\n", "")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			return r
		}
		return -1
	}, s)
	return strings.TrimSpace(manyNewlines.ReplaceAllString(s, "\n\n"))
}

// htmlText keeps an HTML page's main content (readability: no
// navigation, headers, footers or ads), as Markdown-ish text with its
// headings, and the page's title.
func htmlText(src string) (string, string) {
	art, err := readability.FromReader(strings.NewReader(src), nil)
	root := art.Node
	title := ""
	if err == nil {
		title = strings.TrimSpace(art.Title())
	}
	if root == nil {
		doc, err := html.Parse(strings.NewReader(src))
		if err != nil {
			return "", title
		}
		root = doc
	}
	var b strings.Builder
	var walk func(n *html.Node)
	block := func() {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n\n") {
			b.WriteString("\n\n")
		}
	}
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			t := strings.Join(strings.Fields(n.Data), " ")
			if t != "" {
				if s := b.String(); len(s) > 0 && !strings.HasSuffix(s, "\n") && !strings.HasSuffix(s, " ") {
					b.WriteByte(' ')
				}
				b.WriteString(t)
			}
			return
		case html.ElementNode:
			switch n.Data {
			case "script", "style", "nav", "header", "footer", "aside", "form", "noscript", "template":
				return
			case "h1", "h2", "h3", "h4", "h5", "h6":
				block()
				b.WriteString(strings.Repeat("#", int(n.Data[1]-'0')) + " ")
			case "p", "div", "section", "article", "table", "ul", "ol", "pre", "blockquote", "tr":
				block()
			case "li":
				block()
				b.WriteString("- ")
			case "br":
				b.WriteString("\n")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if n.Type == html.ElementNode {
			switch n.Data {
			case "h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "tr", "pre", "blockquote":
				block()
			}
		}
	}
	walk(root)
	return strings.TrimSpace(manyNewlines.ReplaceAllString(b.String(), "\n\n")), title
}

// docxText reads word/document.xml of a DOCX: paragraphs, with headings
// (Heading1…6 styles) as Markdown headings. The archive may unpack to at
// most maxUnpacked bytes, checked before and while reading (zip bombs).
// No well-kept pure-Go DOCX reader is available here, and this needs only
// archive/zip and encoding/xml.
func docxText(data []byte, maxUnpacked int64) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", unsupported("document", "not a readable DOCX (zip) file")
	}
	var total uint64
	var doc *zip.File
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if f.Name == "word/document.xml" {
			doc = f
		}
	}
	tooBig := apperr.New(http.StatusRequestEntityTooLarge, "file_too_large", "the DOCX unpacks to more than %d bytes", maxUnpacked)
	if total > uint64(maxUnpacked) {
		return "", tooBig
	}
	if doc == nil {
		return "", unsupported("document", "the DOCX has no word/document.xml")
	}
	rc, err := doc.Open()
	if err != nil {
		return "", unsupported("document", "the DOCX is damaged")
	}
	defer rc.Close()
	lr := &io.LimitedReader{R: rc, N: maxUnpacked + 1}
	dec := xml.NewDecoder(lr)
	var b, para strings.Builder
	heading := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if lr.N <= 0 {
			return "", tooBig
		}
		if err != nil {
			return "", unsupported("document", "the DOCX text is damaged")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "p":
				para.Reset()
				heading = 0
			case "pStyle":
				for _, a := range t.Attr {
					if a.Name.Local == "val" && strings.HasPrefix(strings.ToLower(a.Value), "heading") {
						fmt.Sscanf(a.Value[len("heading"):], "%d", &heading)
					}
				}
			case "tab":
				para.WriteByte('\t')
			case "br", "cr":
				para.WriteByte('\n')
			case "t":
				var text string
				if err := dec.DecodeElement(&text, &t); err != nil {
					return "", unsupported("document", "the DOCX text is damaged")
				}
				para.WriteString(text)
			}
		case xml.EndElement:
			if t.Name.Local == "p" {
				line := strings.TrimSpace(para.String())
				if line == "" {
					continue
				}
				if heading >= 1 && heading <= 6 {
					line = strings.Repeat("#", heading) + " " + line
				}
				b.WriteString(line + "\n\n")
			}
		}
	}
	return strings.TrimSpace(b.String()), nil
}

// csvText writes each row as "header: value; …" on its own line.
func csvText(src string) (string, error) {
	r := csv.NewReader(strings.NewReader(src))
	r.FieldsPerRecord, r.LazyQuotes = -1, true
	rows, err := r.ReadAll()
	if err != nil {
		return "", err
	}
	if len(rows) == 0 {
		return "", nil
	}
	header := rows[0]
	var b strings.Builder
	for _, row := range rows[1:] {
		var cells []string
		for i, v := range row {
			if v = strings.TrimSpace(v); v == "" {
				continue
			}
			if i < len(header) && strings.TrimSpace(header[i]) != "" {
				cells = append(cells, strings.TrimSpace(header[i])+": "+v)
			} else {
				cells = append(cells, v)
			}
		}
		if len(cells) > 0 {
			b.WriteString(strings.Join(cells, "; ") + "\n")
		}
	}
	if len(rows) == 1 {
		return strings.Join(header, "; "), nil
	}
	return b.String(), nil
}

// jsonText flattens JSON to "path: value" lines.
func jsonText(data []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	var b strings.Builder
	var walk func(path string, v any, depth int)
	walk = func(path string, v any, depth int) {
		if depth > 64 {
			return
		}
		switch t := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(p, t[k], depth+1)
			}
		case []any:
			for i, x := range t {
				walk(fmt.Sprintf("%s[%d]", path, i), x, depth+1)
			}
		case nil:
		default:
			if path == "" {
				path = "value"
			}
			fmt.Fprintf(&b, "%s: %v\n", path, t)
		}
	}
	walk("", v, 0)
	return b.String(), nil
}
