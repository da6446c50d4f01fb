package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/penny-dev/penny/app/rag"
	"github.com/penny-dev/penny/storage"
)

func bindRAGAPI(g *echo.Group, h *handler) {
	g.POST("/rag/query", h.ragQuery, requireAuth)
}

type ragRequest struct {
	Question    string   `json:"question"`
	DocumentIDs []string `json:"documentIds"`
	Collection  string   `json:"collection"`
	Options     struct {
		Provider  string `json:"provider"`
		MaxChunks int    `json:"maxChunks"`
	} `json:"options"`
}

func (h *handler) ragQuery(c echo.Context) error {
	var in ragRequest
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	a, err := h.app.RAG.Answer(c.Request().Context(), rag.Query{
		UserID: me(c).UserID, RequestID: requestID(c), Service: storage.ServiceRAG,
		Question: in.Question, DocumentIDs: in.DocumentIDs, Collection: in.Collection, Provider: in.Options.Provider, MaxChunks: in.Options.MaxChunks,
	}, nil)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}
