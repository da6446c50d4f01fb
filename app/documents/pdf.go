package documents

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/webassembly"
)

// Pdfium reads PDFs with PDFium compiled to WebAssembly (go-pdfium, run by
// wazero: no cgo, no system library). Measured here: ~3 s to start the
// first instance, then ~2 ms a page; so the pool starts at the first PDF,
// not at penny's start. Safe for concurrent use; Close releases it.
type Pdfium struct {
	once sync.Once
	pool pdfium.Pool
	err  error
}

// Pages returns the text of each page.
func (p *Pdfium) Pages(ctx context.Context, data []byte, maxPages int) ([]string, error) {
	p.once.Do(func() {
		p.pool, p.err = webassembly.Init(webassembly.Config{MinIdle: 1, MaxIdle: 2, MaxTotal: 2})
	})
	if p.err != nil {
		return nil, fmt.Errorf("start pdfium: %w", p.err)
	}
	inst, err := p.pool.GetInstance(time.Minute)
	if err != nil {
		return nil, err
	}
	defer inst.Close()
	doc, err := inst.OpenDocument(&requests.OpenDocument{File: &data})
	if err != nil {
		return nil, err
	}
	defer inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: doc.Document})
	count, err := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: doc.Document})
	if err != nil {
		return nil, err
	}
	if maxPages > 0 && count.PageCount > maxPages {
		return nil, errTooManyPages
	}
	pages := make([]string, count.PageCount)
	for i := range pages {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, err := inst.GetPageText(&requests.GetPageText{Page: requests.Page{ByIndex: &requests.PageByIndex{Document: doc.Document, Index: i}}})
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", i+1, err)
		}
		pages[i] = t.Text
	}
	return pages, nil
}

// Close stops the pool.
func (p *Pdfium) Close() error {
	if p.pool != nil {
		return p.pool.Close()
	}
	return nil
}

var _ PDFReader = (*Pdfium)(nil)
