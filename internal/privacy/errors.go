package privacy

import (
	"strings"

	"github.com/probity-dev/probity/internal/fault"
)

// A FieldError says what is wrong with one field of a document or form.
type FieldError struct {
	// Field is the field's JSON path, e.g. "overview" or
	// "risks[2].mitigation".
	Field   string `json:"field"`
	Message string `json:"message"`
}

// A ValidationError lists every field that is wrong. It is the internal
// cause of a [fault.Invalid] error whose message names them all.
type ValidationError struct {
	What   string // e.g. "the PIA is incomplete"
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

func (e *ValidationError) list() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + " " + f.Message
	}
	return strings.Join(parts, "; ")
}

// Errors collects field errors.
type Errors []FieldError

func (e *Errors) add(field, msg string) { *e = append(*e, FieldError{Field: field, Message: msg}) }

// text checks a one-line text field.
func (e *Errors) text(field, s string, minLen, maxLen int) {
	if msg := checkText(s, minLen, maxLen, false); msg != "" {
		e.add(field, msg)
	}
}

// Err returns nil when no field is wrong, else a [fault.Invalid] error
// wrapping a [*ValidationError]; what says what was being checked.
func (e Errors) Err(what string) error {
	if len(e) == 0 {
		return nil
	}
	ve := &ValidationError{What: what, Fields: e}
	return &fault.Error{Code: fault.Invalid, Message: what + ": " + ve.list(), Err: ve}
}
