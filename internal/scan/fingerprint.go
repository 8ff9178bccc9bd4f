package scan

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// NewFingerprint returns the fingerprint of a finding identified by parts
// in a report of format f: the hex SHA-256 of the format and each part,
// every one length-prefixed so that ("ab", "c") and ("a", "bc") differ.
//
// Importers pass only what names the issue itself — a rule and where it
// is, or a vulnerability and the component it affects — and never what
// changes from run to run (timestamps, result GUIDs, run IDs), so the
// same issue in a re-scan has the same fingerprint.
func NewFingerprint(f Format, parts ...string) string {
	h := sha256.New()
	var n [8]byte
	write := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	write(string(f))
	for _, p := range parts {
		write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// NormalizeText returns s with leading and trailing space removed and
// every run of white space inside made one space, so that a snippet or
// message re-indented or re-wrapped by a newer tool version still
// fingerprints the same.
func NormalizeText(s string) string {
	if isNormal(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isNormal reports whether s has no leading or trailing white space and
// no white space but single spaces.
func isNormal(s string) bool {
	prevSpace := true // so that leading space fails
	for _, r := range s {
		switch {
		case r == ' ':
			if prevSpace {
				return false
			}
			prevSpace = true
		case unicode.IsSpace(r):
			return false
		default:
			prevSpace = false
		}
	}
	return !prevSpace || s == ""
}

// Disambiguate gives every finding after the first that shares a
// fingerprint a fingerprint of its own, derived from the shared one and
// its ordinal among the duplicates (2, 3, …), so that a report that
// names the same issue twice still has one row per finding. The nth
// duplicate keeps its fingerprint across re-scans as long as the tool
// lists the duplicates in the same order.
func Disambiguate(findings []Finding) {
	seen := make(map[string]int, len(findings))
	for i := range findings {
		fp := findings[i].Fingerprint
		seen[fp]++
		if k := seen[fp]; k > 1 {
			findings[i].Fingerprint = NewFingerprint("duplicate", fp, strconv.Itoa(k))
		}
	}
}

var cweRef = regexp.MustCompile(`(?i)\bcwe[-_/ ]?0*(\d{1,6})\b`)

// AppendCWEs appends to list each CWE named in text ("CWE-79",
// "external/cwe/cwe-079", "CWE-532: Insertion of …") as "CWE-n", once.
func AppendCWEs(list []string, text string) []string {
	if len(text) < 4 {
		return list
	}
	for _, m := range cweRef.FindAllStringSubmatch(text, -1) {
		if id := "CWE-" + m[1]; !slices.Contains(list, id) {
			list = append(list, id)
		}
	}
	return list
}
