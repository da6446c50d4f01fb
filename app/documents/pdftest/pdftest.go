// Package pdftest writes small valid PDFs for tests: one page per string,
// in Helvetica, or with no text at all (a "scanned" page).
package pdftest

import (
	"bytes"
	"fmt"
	"strings"
)

// Make returns a PDF whose pages show the given lines of text (an empty
// string gives a page without a text layer).
func Make(pages ...string) []byte {
	n := len(pages)
	// Objects: 1 catalog, 2 pages, 3 font, then per page: page, contents.
	kids := make([]string, n)
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", 4+2*i)
	}
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n),
		Font,
	}
	for i, text := range pages {
		objects = append(objects, Page(2, 3, 5+2*i), Contents(text))
	}
	return Raw(objects...)
}

// Font is a Helvetica font object.
const Font = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"

// Page is a page object under parent, in font, drawn by contents (object
// numbers).
func Page(parent, font, contents int) string {
	return fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>", parent, font, contents)
}

// Contents is a content stream showing text's lines (nothing when empty).
func Contents(text string) string {
	var content strings.Builder
	if text != "" {
		content.WriteString("BT /F1 11 Tf 14 TL 72 720 Td\n")
		for _, line := range strings.Split(text, "\n") {
			line = strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(line)
			fmt.Fprintf(&content, "(%s) Tj T*\n", line)
		}
		content.WriteString("ET")
	}
	return fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", content.Len(), content.String())
}

// Raw returns a PDF of the given objects, numbered from 1 (the first must
// be the catalog), with a correct cross-reference table.
func Raw(objects ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objects))
	for i, body := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, body)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}
