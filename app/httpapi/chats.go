package httpapi

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/penny-dev/penny/app/chat"
)

func bindChatsAPI(g *echo.Group, h *handler) {
	g.POST("/chats", h.createChat, requireAuth)
	g.GET("/chats", h.listChats, requireAuth)
	g.GET("/chats/:id/messages", h.listMessages, requireAuth)
	g.POST("/chats/:id/messages", h.sendMessage, requireAuth)
}

func (h *handler) createChat(c echo.Context) error {
	var in struct {
		Title string `json:"title"`
	}
	if c.Request().ContentLength != 0 {
		if err := bindJSON(c, &in); err != nil {
			return err
		}
	}
	ch, err := h.app.Chat.Create(c.Request().Context(), me(c).UserID, in.Title)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, ch)
}

func (h *handler) listChats(c echo.Context) error {
	chats, err := h.app.Chat.List(c.Request().Context(), me(c).UserID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"chats": chats})
}

func (h *handler) listMessages(c echo.Context) error {
	msgs, err := h.app.Chat.Messages(c.Request().Context(), me(c).UserID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"messages": msgs})
}

// sendMessage answers as JSON, or as Server-Sent Events when the client
// accepts text/event-stream: "delta" events with pieces of the answer, then
// one "done" event with the stored reply, or an "error" event. Errors found
// before the first piece (bad input, unknown chat) are ordinary JSON errors.
func (h *handler) sendMessage(c echo.Context) error {
	var in struct {
		Content     string   `json:"content"`
		DocumentIDs []string `json:"documentIds"`
		Provider    string   `json:"provider"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	send := chat.Send{UserID: me(c).UserID, RequestID: requestID(c), ChatID: c.Param("id"),
		Content: in.Content, DocumentIDs: in.DocumentIDs, Provider: in.Provider}
	if !strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "text/event-stream") {
		reply, err := h.app.Chat.Send(c.Request().Context(), send, nil)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, reply)
	}
	sse := &sseWriter{c: c}
	reply, err := h.app.Chat.Send(c.Request().Context(), send, func(d string) error {
		return sse.event("delta", map[string]string{"text": d})
	})
	if err != nil {
		if !sse.started {
			return err
		}
		status, code, msg := classify(err)
		if status >= 500 {
			h.log.Error("stream failed after it started", slog.String("request_id", requestID(c)), slog.Any("error", err))
		}
		return sse.event("error", map[string]any{"error": map[string]string{"code": code, "message": msg}})
	}
	return sse.event("done", reply)
}

// sseWriter starts the event stream on the first event.
type sseWriter struct {
	c       echo.Context
	started bool
}

func (s *sseWriter) event(name string, v any) error {
	w := s.c.Response()
	if !s.started {
		s.started = true
		w.Header().Set(echo.HeaderContentType, "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data); err != nil {
		return err
	}
	w.Flush()
	return nil
}
