// Package fault is Probity's error type: a code that callers and the HTTP
// layer act on, a message that is safe to show to the person who made the
// request, and the internal cause, which is logged but never shown.
package fault

import (
	"errors"
	"fmt"
)

// A Code classifies an error for callers and for the HTTP status it maps to.
type Code string

// Codes.
const (
	Invalid         Code = "invalid"          // the request is malformed or breaks a rule
	NotFound        Code = "not_found"        // the thing asked for does not exist
	Conflict        Code = "conflict"         // the request conflicts with the current state
	Unauthenticated Code = "unauthenticated"  // no valid credential
	Forbidden       Code = "forbidden"        // the credential is valid but not allowed
	TooLarge        Code = "too_large"        // the request body or upload is too large
	Unavailable     Code = "unavailable"      // a dependency is down; try again later
	Internal        Code = "internal"         // a bug or an unexpected failure
	RateLimited     Code = "rate_limited"     // too many attempts
	Precondition    Code = "precondition"     // something must be done first
	NotImplemented  Code = "not_implemented"  // not available in this configuration
	Tampered        Code = "ledger_tampered"  // the ledger's stored state is not what this writer wrote
	Timeout         Code = "timeout"          // a deadline passed
	Unsupported     Code = "unsupported_type" // the request's media type is not accepted
)

// An Error carries a code, a message safe to show users, and a cause.
type Error struct {
	Code    Code
	Message string // safe to show to the requester
	Err     error  // internal cause; logged, never shown
}

func (e *Error) Error() string {
	switch {
	case e.Err == nil:
		return e.Message
	case e.Message == "":
		return e.Err.Error()
	default:
		return e.Message + ": " + e.Err.Error()
	}
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with the given code and a user-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with the given code and user-safe message that
// wraps an internal cause.
func Wrap(err error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// CodeOf returns the code of the first [*Error] in err's chain, or
// [Internal] when there is none.
func CodeOf(err error) Code {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return Internal
}

// MessageOf returns the user-safe message of the first [*Error] in err's
// chain, or a generic message when there is none: an error without a code
// may hold details that must not be shown.
func MessageOf(err error) string {
	if e, ok := errors.AsType[*Error](err); ok && e.Message != "" {
		return e.Message
	}
	return "internal error"
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool {
	return CodeOf(err) == code
}
