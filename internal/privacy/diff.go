package privacy

import (
	"fmt"
	"strings"
)

// A LineOp is one line of a line diff: kept (" "), removed ("-") or
// added ("+").
type LineOp struct {
	Op   string `json:"op"`
	Text string `json:"text"`
}

// A Change is how one field differs between two versions.
type Change struct {
	// Field is the field's JSON path, e.g. "notice" or "risks[1].mitigation".
	Field string `json:"field"`
	// Kind is "changed", "added" or "removed".
	Kind string `json:"kind"`
	// Lines is the line diff of a text field or list.
	Lines []LineOp `json:"lines"`
}

// Diff returns how b differs from a, field by field, in template order;
// nothing when they are equal. Text sections and the list of legal
// authorities get a line diff; risks are compared position by position.
func Diff(a, b Document) []Change {
	var out []Change
	text := func(field, x, y string) {
		if x == y {
			return
		}
		kind := "changed"
		switch {
		case x == "":
			kind = "added"
		case y == "":
			kind = "removed"
		}
		out = append(out, Change{Field: field, Kind: kind, Lines: DiffLines(splitLines(x), splitLines(y))})
	}
	text("overview", a.Overview, b.Overview)
	if !equalStrings(a.LegalAuthorities, b.LegalAuthorities) {
		out = append(out, Change{Field: "legal_authorities", Kind: "changed", Lines: DiffLines(a.LegalAuthorities, b.LegalAuthorities)})
	}
	for _, s := range Sections()[1:] {
		text(s.Key, *a.section(s.Key), *b.section(s.Key))
	}
	for i := range max(len(a.Risks), len(b.Risks)) {
		field := fmt.Sprintf("risks[%d]", i)
		switch {
		case i >= len(a.Risks):
			out = append(out, Change{Field: field, Kind: "added", Lines: DiffLines(nil, riskLines(b.Risks[i]))})
		case i >= len(b.Risks):
			out = append(out, Change{Field: field, Kind: "removed", Lines: DiffLines(riskLines(a.Risks[i]), nil)})
		default:
			x, y := a.Risks[i], b.Risks[i]
			text(field+".section", x.Section, y.Section)
			text(field+".description", x.Description, y.Description)
			text(field+".mitigation", x.Mitigation, y.Mitigation)
			text(field+".residual", string(x.Residual), string(y.Residual))
		}
	}
	return out
}

func riskLines(r Risk) []string {
	out := []string{"section: " + r.Section}
	for _, l := range splitLines(r.Description) {
		out = append(out, "description: "+l)
	}
	for _, l := range splitLines(r.Mitigation) {
		out = append(out, "mitigation: "+l)
	}
	return append(out, "residual: "+string(r.Residual))
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// maxDiffCells bounds the work of one line diff: beyond it, the middle
// part that differs is shown as removed and then added, which is a correct
// diff, only not the shortest.
const maxDiffCells = 4 << 20

// DiffLines returns a shortest line diff turning a into b: the longest
// common subsequence of lines is kept, the rest removed or added (a
// removal before an addition where either would do).
func DiffLines(a, b []string) []LineOp {
	out := []LineOp{}
	// The common prefix and suffix cost nothing.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	for _, l := range a[:pre] {
		out = append(out, LineOp{" ", l})
	}
	x, y := a[pre:len(a)-suf], b[pre:len(b)-suf]
	if n, m := len(x), len(y); n > 0 && m > 0 && n*m <= maxDiffCells {
		out = append(out, lcsDiff(x, y)...)
	} else {
		for _, l := range x {
			out = append(out, LineOp{"-", l})
		}
		for _, l := range y {
			out = append(out, LineOp{"+", l})
		}
	}
	for _, l := range a[len(a)-suf:] {
		out = append(out, LineOp{" ", l})
	}
	return out
}

// lcsDiff diffs x and y by dynamic programming over the suffixes'
// longest common subsequence lengths.
func lcsDiff(x, y []string) []LineOp {
	n, m := len(x), len(y)
	// l[i*(m+1)+j] is the LCS length of x[i:] and y[j:].
	l := make([]int32, (n+1)*(m+1))
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			switch {
			case x[i] == y[j]:
				l[i*(m+1)+j] = l[(i+1)*(m+1)+j+1] + 1
			case l[(i+1)*(m+1)+j] >= l[i*(m+1)+j+1]:
				l[i*(m+1)+j] = l[(i+1)*(m+1)+j]
			default:
				l[i*(m+1)+j] = l[i*(m+1)+j+1]
			}
		}
	}
	out := make([]LineOp, 0, n+m)
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case x[i] == y[j]:
			out = append(out, LineOp{" ", x[i]})
			i++
			j++
		case l[(i+1)*(m+1)+j] >= l[i*(m+1)+j+1]:
			out = append(out, LineOp{"-", x[i]})
			i++
		default:
			out = append(out, LineOp{"+", y[j]})
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, LineOp{"-", x[i]})
	}
	for ; j < m; j++ {
		out = append(out, LineOp{"+", y[j]})
	}
	return out
}

// Apply rebuilds both sides of a line diff: the lines kept and removed are
// the old text, the lines kept and added the new. Tests and fuzzers check
// every diff with it.
func Apply(ops []LineOp) (old, new []string) {
	for _, o := range ops {
		switch o.Op {
		case " ":
			old, new = append(old, o.Text), append(new, o.Text)
		case "-":
			old = append(old, o.Text)
		case "+":
			new = append(new, o.Text)
		}
	}
	return old, new
}
