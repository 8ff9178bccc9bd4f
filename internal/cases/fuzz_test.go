package cases_test

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/cases"
	"github.com/probity-dev/probity/internal/fault"
)

// FuzzParseNumber checks that any input is either refused as invalid, with
// a message, or parsed to a number that parses to itself, fits the format
// and names its component.
func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"CBP-2026-0142", " cbp-2026-0142 ", "USSS-2099-999999", "CBP-2026-0000", "CBP--2026-0142", "-", "", "ſbp-2026-0142", "CBP-２０２６-0142", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := cases.ParseNumber(s)
		if err != nil {
			if fault.CodeOf(err) != fault.Invalid || !strings.HasPrefix(fault.MessageOf(err), "case number ") {
				t.Fatalf("ParseNumber(%q) = %v: not an Invalid fault", s, err)
			}
			if len(s) > 2*cases.MaxNumber && strings.Contains(fault.MessageOf(err), s) {
				t.Fatalf("the refusal repeats a long input: %q", fault.MessageOf(err))
			}
			return
		}
		if again, err := cases.ParseNumber(n); err != nil || again != n {
			t.Fatalf("ParseNumber(%q) = %q, but ParseNumber(%q) = %q, %v", s, n, n, again, err)
		}
		if len(n) > cases.MaxNumber || strings.Count(n, "-") != 2 || strings.ToUpper(n) != n {
			t.Fatalf("ParseNumber(%q) = %q: not in the format", s, n)
		}
		comp := cases.ComponentOf(n)
		if len(comp) < 2 || !strings.HasPrefix(n, comp+"-") {
			t.Fatalf("ComponentOf(%q) = %q", n, comp)
		}
		for _, r := range n {
			if r > unicode.MaxASCII {
				t.Fatalf("ParseNumber(%q) = %q holds non-ASCII", s, n)
			}
		}
	})
}

// FuzzCaseValidate checks that a case's text fields are either refused as
// invalid, naming each field at fault, or accepted only when they are
// bounded, printable one-line text.
func FuzzCaseValidate(f *testing.F) {
	f.Add("CBP-2026-0142", "Title", "8 U.S.C. 1324", "Twenty characters or more of predicate.", "5:26-mj-00142", "2026-02-01", "")
	f.Add("ice-2026-0001", "", "\t", "short", "", "2026-13-01", "2026-01-01")
	f.Add("CBP-2026-0142", "a\u202eb", "x", strings.Repeat("p", 4001), "r\n", "2026-02-01", "2026-01-31")
	f.Fuzz(func(t *testing.T, number, title, authority, predicate, ref, issued, expires string) {
		c := cases.Case{Number: number, Title: title, LegalAuthority: authority, Predicate: predicate}
		issuedOn, err1 := cases.ParseDate("issued_on", issued)
		expiresOn, err2 := cases.ParseDate("expires_on", expires)
		for _, err := range []error{err1, err2} {
			if err != nil && fault.CodeOf(err) != fault.Invalid {
				t.Fatalf("ParseDate: %v", err)
			}
		}
		c.LegalProcess = []cases.LegalProcess{{Kind: cases.Warrant, Reference: ref, IssuedOn: issuedOn, ExpiresOn: expiresOn}}
		c.Normalize()
		err := c.Validate(now)
		if err != nil {
			if fault.CodeOf(err) != fault.Invalid || !strings.HasPrefix(fault.MessageOf(err), "the case is not valid: ") {
				t.Fatalf("Validate = %v: not an Invalid fault", err)
			}
			return
		}
		if _, err := cases.ParseNumber(c.Number); err != nil {
			t.Fatalf("a valid case has the number %q: %v", c.Number, err)
		}
		for name, s := range map[string]string{"title": c.Title, "legal_authority": c.LegalAuthority, "predicate": c.Predicate, "reference": c.LegalProcess[0].Reference} {
			if !utf8.ValidString(s) || strings.TrimSpace(s) == "" || utf8.RuneCountInString(s) > cases.MaxPredicate {
				t.Fatalf("a valid case has the %s %q", name, s)
			}
			for _, r := range s {
				if unicode.IsControl(r) {
					t.Fatalf("a valid case's %s holds a control character: %q", name, s)
				}
			}
		}
		lp := c.LegalProcess[0]
		if lp.IssuedOn.IsZero() || lp.IssuedOn.After(now) || (!lp.ExpiresOn.IsZero() && lp.ExpiresOn.Before(lp.IssuedOn)) {
			t.Fatalf("a valid case has the legal process %+v", lp)
		}
		if !lp.InForce(lp.IssuedOn) {
			t.Fatalf("legal process %+v is not in force on the day it was issued", lp)
		}
	})
}

// FuzzParseDate checks that a day is either refused as invalid or is a
// whole day that formats back to what was given.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-02-01", "", "2026-02-30", " 2026-02-01", "1899-12-31", "+2026-01-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := cases.ParseDate("issued_on", s)
		if err != nil {
			if fault.CodeOf(err) != fault.Invalid || !strings.Contains(fault.MessageOf(err), "issued_on must be a day") {
				t.Fatalf("ParseDate(%q) = %v", s, err)
			}
			return
		}
		if d.IsZero() {
			if strings.TrimSpace(s) != "" {
				t.Fatalf("ParseDate(%q) = no day", s)
			}
			return
		}
		if !cases.Day(d).Equal(d) || d.Location() != time.UTC || d.Format(time.DateOnly) != strings.TrimSpace(s) {
			t.Fatalf("ParseDate(%q) = %v", s, d)
		}
	})
}
