package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/storage"
)

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func errTooLarge(limit int64) *apperr.Error {
	return apperr.New(http.StatusRequestEntityTooLarge, "payload_too_large", "the request body is larger than %d bytes", limit)
}

// classify maps any error to status, code and message.
func classify(err error) (int, string, string) {
	var mbe *http.MaxBytesError
	var he *echo.HTTPError
	if e, ok := apperr.As(err); ok {
		return e.Status, e.Code, e.Message
	}
	switch {
	case errors.As(err, &mbe):
		e := errTooLarge(mbe.Limit)
		return e.Status, e.Code, e.Message
	case errors.As(err, &he):
		msg := http.StatusText(he.Code)
		if s, ok := he.Message.(string); ok {
			msg = s
		}
		code := map[int]string{
			http.StatusNotFound: "not_found", http.StatusMethodNotAllowed: "method_not_allowed",
			http.StatusRequestEntityTooLarge: "payload_too_large", http.StatusUnauthorized: "unauthorized",
			http.StatusForbidden: "forbidden", http.StatusUnsupportedMediaType: "unsupported_media_type",
			http.StatusTooManyRequests: "rate_limited",
		}[he.Code]
		if code == "" && he.Code < 500 {
			code = "invalid_request"
		} else if code == "" {
			code = "internal_error"
		}
		return he.Code, code, msg
	case errors.Is(err, storage.ErrNotFound):
		return http.StatusNotFound, "not_found", "not found"
	case storage.DiskFull(err):
		return http.StatusInsufficientStorage, "disk_full", "penny's disk is full, so this was not saved; ask the operator to free space (penny doctor shows how much is left)"
	}
	return http.StatusInternalServerError, "internal_error", "something went wrong on our side"
}

// handleError is echo's one error handler: every error becomes
// {"error":{"code","message"}}; 5xx are logged at Error, 4xx at Warn.
func (h *handler) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		if !errors.Is(err, context.Canceled) {
			h.log.Warn("error after the response started", slog.String("request_id", requestID(c)), slog.Any("error", err))
		}
		return
	}
	status, code, msg := classify(err)
	if status >= 500 {
		msg += " (request " + requestID(c) + ")"
		h.log.Error("request failed", slog.String("request_id", requestID(c)), slog.Int("status", status), slog.Any("error", err))
	} else {
		h.log.Warn("request refused", slog.String("request_id", requestID(c)), slog.Int("status", status), slog.String("code", code))
	}
	if e, ok := apperr.As(err); ok && e.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds()+0.999)))
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	if strings.HasPrefix(c.Request().URL.Path, "/v1/") {
		_ = c.JSON(status, openAIErrorBody(status, code, msg))
		return
	}
	var body errorBody
	body.Error.Code, body.Error.Message = code, msg
	_ = c.JSON(status, body)
}

// bindJSON decodes the request body into v: one JSON object, nothing
// after it. Errors name the field and the expected type.
func bindJSON(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.Is(err, io.EOF):
			return apperr.Invalid("the request body is empty; send a JSON object")
		case errors.As(err, &te):
			if te.Field != "" {
				return apperr.Invalid("field %q must be of type %s", te.Field, te.Type.String())
			}
			return apperr.Invalid("the request body must be a JSON object")
		case errors.As(err, &se):
			return apperr.Invalid("the request body is not valid JSON (at byte %d)", se.Offset)
		}
		return apperr.Invalid("the request body is not valid JSON: %v", err)
	}
	if dec.More() {
		return apperr.Invalid("the request body must hold one JSON object only")
	}
	if _, err := dec.Token(); err != io.EOF {
		return apperr.Invalid("unexpected data after the JSON object")
	}
	return nil
}
