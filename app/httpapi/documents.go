package httpapi

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/app/documents"
)

func bindDocumentsAPI(g *echo.Group, h *handler) {
	g.POST("/documents", h.uploadDocuments, requireAuth)
	g.GET("/documents", h.listDocuments, requireAuth)
	g.GET("/documents/:id", h.getDocument, requireAuth)
	g.DELETE("/documents/:id", h.deleteDocument, requireAuth)
	g.GET("/documents/:id/chunks/:chunkId", h.getChunk, requireAuth)
	g.PUT("/documents/:id/sharing", h.shareDocument, requireAuth)
}

// uploadDocuments reads every "file" part of a multipart body (each at
// most MaxFileBytes) and stores them all or none.
func (h *handler) uploadDocuments(c echo.Context) error {
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if mt != "multipart/form-data" {
		return apperr.New(http.StatusUnsupportedMediaType, "unsupported_media_type", "send multipart/form-data with one or more files in the field \"file\"")
	}
	mr, err := c.Request().MultipartReader()
	if err != nil {
		return apperr.Invalid("unreadable multipart body: %v", err)
	}
	limit := h.app.Config.MaxFileBytes
	var files []documents.File
	collection := ""
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return err
			}
			return apperr.Invalid("unreadable multipart body: %v", err)
		}
		if part.FormName() == "collection" {
			raw, err := io.ReadAll(io.LimitReader(part, 256))
			_ = part.Close()
			if err != nil {
				return apperr.Invalid("unreadable collection field: %v", err)
			}
			collection = strings.TrimSpace(string(raw))
			continue
		}
		if part.FormName() != "file" {
			_ = part.Close()
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, limit+1))
		_ = part.Close()
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return err
			}
			return apperr.Invalid("unreadable file %q: %v", part.FileName(), err)
		}
		if int64(len(data)) > limit {
			return apperr.New(http.StatusRequestEntityTooLarge, "file_too_large", "%s is larger than %d bytes", part.FileName(), limit)
		}
		files = append(files, documents.File{Name: part.FileName(), Data: data})
	}
	docs, err := h.app.Documents.Upload(c.Request().Context(), me(c).UserID, requestID(c), collection, files)
	if err != nil {
		return err
	}
	if c.QueryParam("wait") != "true" {
		return c.JSON(http.StatusAccepted, map[string]any{"documents": docs})
	}
	// ?wait=true: answer once every document is ready or failed (scripts).
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Minute)
	defer cancel()
	final, err := h.app.Documents.Wait(ctx, me(c).UserID, ids)
	if err != nil {
		return err
	}
	for i := range final {
		final[i].Duplicate = docs[i].Duplicate
	}
	return c.JSON(http.StatusCreated, map[string]any{"documents": final})
}

// listDocuments lists the documents the caller can read: all of them, or
// with q (search), offset and limit a page of them, newest first.
func (h *handler) listDocuments(c echo.Context) error {
	q := documents.ListQuery{Collection: c.QueryParam("collection"), Search: c.QueryParam("q")}
	for name, dst := range map[string]*int{"offset": &q.Offset, "limit": &q.Limit} {
		if v := c.QueryParam(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return apperr.Invalid("%s must be a whole number", name)
			}
			*dst = n
		}
	}
	page, err := h.app.Documents.ListPage(c.Request().Context(), me(c).UserID, q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (h *handler) getDocument(c echo.Context) error {
	d, err := h.app.Documents.Get(c.Request().Context(), me(c).UserID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (h *handler) deleteDocument(c echo.Context) error {
	if err := h.app.Documents.Delete(c.Request().Context(), me(c).UserID, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *handler) getChunk(c echo.Context) error {
	ch, err := h.app.Documents.Chunk(c.Request().Context(), me(c).UserID, c.Param("id"), c.Param("chunkId"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ch)
}

// shareDocument sets who besides the owner may read a document.
func (h *handler) shareDocument(c echo.Context) error {
	var in struct {
		Users    []string `json:"users"`
		Everyone bool     `json:"everyone"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	d, err := h.app.Documents.Share(c.Request().Context(), me(c).UserID, c.Param("id"), in.Users, in.Everyone)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}
