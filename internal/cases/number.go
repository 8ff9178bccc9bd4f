package cases

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/probity-dev/probity/internal/fault"
)

// Case numbers are COMPONENT-YEAR-SEQUENCE, e.g. CBP-2026-0142:
//
//   - COMPONENT is the code of the component that owns the case: 2 to 16
//     uppercase letters or digits, starting with a letter;
//   - YEAR is the year the case was opened, four digits from 2000 to
//     2099;
//   - SEQUENCE is the component's number for the case within the year:
//     4 to 6 digits, not all zeros.
//
// The number comes from the agency's case management; Probity checks its
// shape and that it names the case's own component, so that a case number
// says whose case it is and never collides with another component's.
// Letters may be given in lowercase and surrounding spaces are ignored:
// the number is kept upper-cased.
const (
	// NumberExample is a well-formed case number, for messages.
	NumberExample = "CBP-2026-0142"
	// MaxNumber is the longest case number.
	MaxNumber = 16 + 1 + 4 + 1 + 6
)

// ParseNumber returns s as a case number, upper-cased and trimmed, or a
// [fault.Invalid] error that says what is wrong with it.
func ParseNumber(s string) (string, error) {
	n := normalizeNumber(s)
	if msg := numberProblem(n); msg != "" {
		return "", fault.New(fault.Invalid, "case number %s", msg)
	}
	return n, nil
}

// ComponentOf returns the component code a case number starts with ("" if
// it has none).
func ComponentOf(number string) string {
	c, _, ok := strings.Cut(number, "-")
	if !ok {
		return ""
	}
	return c
}

func normalizeNumber(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// numberProblem says what is wrong with a normalized case number, "" if
// nothing. The message follows "case number" or the field's name.
func numberProblem(n string) string {
	const shape = "must be COMPONENT-YEAR-SEQUENCE, e.g. " + NumberExample + ": the owning component's code, the year the case was opened, and a 4- to 6-digit sequence number"
	switch {
	case n == "":
		return "is required, e.g. " + NumberExample
	case len(n) > MaxNumber:
		return fmt.Sprintf("must be at most %d characters", MaxNumber)
	}
	parts := strings.Split(n, "-")
	if len(parts) != 3 {
		return fmt.Sprintf("%q %s", n, shape)
	}
	comp, year, seq := parts[0], parts[1], parts[2]
	if !isComponentCode(comp) {
		return fmt.Sprintf("%q must start with the owning component's code (2 to 16 letters or digits, starting with a letter), not %q", n, comp)
	}
	if len(year) != 4 || !allDigits(year) {
		return fmt.Sprintf("%q must give the year the case was opened as four digits after the component, not %q", n, year)
	}
	if y, _ := strconv.Atoi(year); y < 2000 || y > 2099 {
		return fmt.Sprintf("%q has the year %s: a case number's year is from 2000 to 2099", n, year)
	}
	if len(seq) < 4 || len(seq) > 6 || !allDigits(seq) {
		return fmt.Sprintf("%q must end with a sequence number of 4 to 6 digits, not %q", n, seq)
	}
	if strings.Trim(seq, "0") == "" {
		return fmt.Sprintf("%q has the sequence number %s: sequence numbers start at 1 (0001)", n, seq)
	}
	return ""
}

func isComponentCode(s string) bool {
	if len(s) < 2 || len(s) > 16 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
