package slipway

import (
	"errors"
	"fmt"
)

// Error codes. Each edge renders them its own way: the ARM API as Azure's
// JSON error, Kudu as its status codes, the CLI as a message and a hint.
const (
	ECONFLICT     = "conflict"     // the resource exists, or an operation is under way
	EINTERNAL     = "internal"     // a bug or an unexpected failure; details go to the log
	EINVALID      = "invalid"      // the request is malformed or names bad values
	ENOTFOUND     = "not_found"    // the named resource does not exist
	EUNAUTHORIZED = "unauthorized" // no or bad credentials
	EFORBIDDEN    = "forbidden"    // credentials are good but not for this
	EUNAVAILABLE  = "unavailable"  // a dependency (an app instance, a tool) cannot serve now
)

// Error is an error a user can act on: a code the edges map to a status and
// a message that says what is wrong and what to do.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("slipway error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of the first *Error in err's
// chain, and a generic message for any other error (its details are for the
// log, not the user).
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "An internal error occurred."
}
