// Package apperr is the error that capability packages return for things
// a caller did wrong or may not do. The HTTP layer turns it into
// {"error":{"code","message"}} with Status; any other error is a 500.
package apperr

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Error is a user-facing error: a stable machine code, a sentence for
// people, and the HTTP status that fits.
type Error struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with status, code and a formatted message.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid is a 400 for input that fails validation.
func Invalid(format string, args ...any) *Error {
	return New(http.StatusBadRequest, "invalid_request", format, args...)
}

// NotFound is a 404 that does not reveal whether the thing exists for
// someone else.
func NotFound(what string) *Error {
	return New(http.StatusNotFound, "not_found", "%s not found", what)
}

// Unauthorized is a 401.
func Unauthorized(format string, args ...any) *Error {
	return New(http.StatusUnauthorized, "unauthorized", format, args...)
}

// Forbidden is a 403.
func Forbidden(format string, args ...any) *Error {
	return New(http.StatusForbidden, "forbidden", format, args...)
}

// Wrap records the cause (for logs) and returns e.
func (e *Error) Wrap(err error) *Error { e.Err = err; return e }

// As returns the *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
