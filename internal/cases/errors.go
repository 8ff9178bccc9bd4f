package cases

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/fault"
)

// A FieldError says what is wrong with one field of a case or a request.
type FieldError struct {
	// Field is the field's JSON name, e.g. "title" or
	// "legal_process[1].expires_on".
	Field   string `json:"field"`
	Message string `json:"message"`
}

// A ValidationError lists every field that is wrong. It is the internal
// cause of a [fault.Invalid] error whose message names them all.
type ValidationError struct {
	What   string // e.g. "the case is not valid"
	Fields []FieldError
}

// Error names the fields only: the message of the [fault.Error] that wraps
// e says what is wrong with each.
func (e *ValidationError) Error() string {
	names := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		names[i] = f.Field
	}
	return "invalid fields: " + strings.Join(names, ", ")
}

// Errors collects field errors.
type Errors []FieldError

// Add adds what is wrong with a field.
func (e *Errors) Add(field, msg string) { *e = append(*e, FieldError{Field: field, Message: msg}) }

// text checks a one-line text field.
func (e *Errors) text(field, s string, minLen, maxLen int) {
	if msg := checkText(s, minLen, maxLen); msg != "" {
		e.Add(field, msg)
	}
}

// Err returns nil when no field is wrong, else a [fault.Invalid] error
// wrapping a [*ValidationError]; what says what was being checked.
func (e Errors) Err(what string) error {
	if len(e) == 0 {
		return nil
	}
	parts := make([]string, len(e))
	for i, f := range e {
		parts[i] = f.Field + " " + f.Message
	}
	return &fault.Error{Code: fault.Invalid, Message: what + ": " + strings.Join(parts, "; "), Err: &ValidationError{What: what, Fields: e}}
}

// checkText reports what is wrong with a one-line text field, "" if
// nothing: it must be valid UTF-8, minLen to maxLen characters, and hold
// no control or invisible characters (a line break included).
func checkText(s string, minLen, maxLen int) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8 text"
	}
	if minLen > 0 && strings.TrimSpace(s) == "" {
		return "is required"
	}
	n := utf8.RuneCountInString(s)
	if n < minLen {
		return fmt.Sprintf("must be at least %d characters", minLen)
	}
	if n > maxLen {
		return fmt.Sprintf("must be at most %d characters", maxLen)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			return "must not contain control or invisible characters (line breaks included)"
		}
	}
	return ""
}

// ValidateReason checks the reason given for a change of status or of an
// evidence hold: 1 to 1,000 characters on one line.
func ValidateReason(reason string) error {
	var errs Errors
	errs.text("reason", reason, 1, MaxReason)
	return errs.Err("the request is not valid")
}
