package program

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/probity-dev/probity/internal/fault"
)

// The exchange file carries audit reports and their recommendations
// between installations, and from people's editors into Probity:
//
//	{
//	  "format": "probity.recommendations/v1",
//	  "reports": [{
//	    "issuer": "inspector_general", "number": "OIG-23-61",
//	    "title": "…", "issued_on": "2023-09-26", "url": "https://…",
//	    "recommendations": [{
//	      "number": "1", "text": "…",
//	      "owner_component": "CBP", "owner": "cbp-privacy",
//	      "target_on": "2024-07-31", "status": "resolved",
//	      "links": [{"kind": "evidence", "ref": "…", "note": "…"}],
//	      "resolution": {"on": "2024-06-28", "note": "…"},
//	      "closure": {"on": "…", "note": "…"}
//	    }]
//	  }]
//	}
//
// Owners are named by employee ID, so that a file means the same on any
// installation; "owner_component" is omitted for the department's own
// recommendations. [Parse] reports every problem it finds (up to a limit)
// with its line, column and field.

// Format names the exchange format and its version.
const Format = "probity.recommendations/v1"

// Limits on an exchange file.
const (
	MaxFileSize       = 1 << 20 // bytes
	maxReports        = 200
	maxRecsPerReport  = 500
	maxProblems       = 20
	maxEmployeeIDSize = 64
)

// An Exchange is the content of an exchange file.
type Exchange struct {
	Reports []ExchangeReport
}

// An ExchangeReport is a report with its recommendations.
type ExchangeReport struct {
	Report
	Recommendations []ExchangeRecommendation
	src             source
}

// An ExchangeRecommendation is a recommendation as a file states it: its
// owner by employee ID (Recommendation.OwnerID is not set), its links, and
// for a resolved or closed one the steps that got it there.
type ExchangeRecommendation struct {
	Recommendation
	Owner string // employee ID
	Links []ExchangeLink
	src   source
}

// An ExchangeLink is a link as a file states it.
type ExchangeLink struct {
	Link
	src source
}

// A source is where a record is in a parsed file.
type source struct {
	path      string // e.g. reports[0].recommendations[2]
	line, col int
	fields    map[string][2]int // field name → line, column of its value
}

// locate returns err as a [FileError] about the record at s (or the
// field of it err names, under prefix). Errors that are not the file's
// fault — an unavailable database, a bug — stay as they are, and so does
// an error of a record that was not parsed from a file.
func (s source) locate(prefix string, err error) error {
	if err == nil || s.path == "" {
		return err
	}
	if _, ok := errors.AsType[*FileError](err); ok {
		return err
	}
	code := fault.CodeOf(err)
	if _, ok := errors.AsType[*fault.Error](err); !ok || code == fault.Internal || code == fault.Unavailable {
		return err
	}
	p := Problem{Field: s.path, Line: s.line, Column: s.col, Message: fault.MessageOf(err)}
	if f := FieldOf(err); f != "" {
		if prefix != "" {
			f = prefix + "." + f
		}
		p.Field = s.path + "." + f
		if at, ok := s.fields[f]; ok {
			p.Line, p.Column = at[0], at[1]
		} else if at, ok := s.fields[prefix]; ok && prefix != "" {
			p.Line, p.Column = at[0], at[1]
		}
	}
	return &FileError{Problems: []Problem{p}, code: code, cause: err}
}

// Locate returns err located at the report in its file.
func (r ExchangeReport) Locate(err error) error { return r.src.locate("", err) }

// Locate returns err located at the recommendation in its file.
func (r ExchangeRecommendation) Locate(err error) error { return r.src.locate("", err) }

// LocateResolution returns err, about the recommendation's resolution
// step, located in its file.
func (r ExchangeRecommendation) LocateResolution(err error) error {
	return r.src.locate("resolution", err)
}

// LocateClosure returns err, about the recommendation's closure step,
// located in its file.
func (r ExchangeRecommendation) LocateClosure(err error) error {
	return r.src.locate("closure", err)
}

// Locate returns err located at the link in its file.
func (l ExchangeLink) Locate(err error) error { return l.src.locate("", err) }

// A Problem is one thing wrong with an exchange file, and where.
type Problem struct {
	Line, Column int    // 0 when the problem is with the file as a whole
	Field        string // e.g. reports[0].recommendations[2].target_on
	Message      string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d, column %d: ", p.Line, p.Column)
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// A FileError is what is wrong with an exchange file: the problems found
// when reading it, or the one that stopped applying it. Its message is
// safe to show; it carries a [fault.Code] (Invalid, unless applying found
// a conflict or a refusal).
type FileError struct {
	Problems []Problem
	// More reports that there were more problems than listed.
	More  bool
	code  fault.Code
	cause error
}

func (e *FileError) Error() string {
	if len(e.Problems) == 1 && !e.More {
		return e.Problems[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the file has %d problems", len(e.Problems))
	if e.More {
		fmt.Fprintf(&b, " (only the first %d are listed)", len(e.Problems))
	}
	b.WriteString(":")
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// Unwrap gives the error's code and message to [fault.CodeOf] and
// [fault.MessageOf].
func (e *FileError) Unwrap() error {
	code := e.code
	if code == "" {
		code = fault.Invalid
	}
	return &fault.Error{Code: code, Message: e.Error(), Err: e.cause}
}

// A reader maps a tree into an Exchange, collecting problems.
type reader struct {
	lines    *lineIndex
	problems []Problem
	more     bool
}

func (r *reader) at(off int) [2]int {
	l, c := r.lines.position(off)
	return [2]int{l, c}
}

func (r *reader) problem(off int, path, format string, args ...any) {
	if len(r.problems) >= maxProblems {
		r.more = true
		return
	}
	p := Problem{Field: path, Message: fmt.Sprintf(format, args...)}
	if off >= 0 {
		p.Line, p.Column = r.lines.position(off)
	}
	r.problems = append(r.problems, p)
}

// fromErr records a validation error of the record at src.
func (r *reader) fromErr(src source, err error) {
	fe, ok := errors.AsType[*FileError](src.locate("", err))
	if !ok {
		r.problem(-1, src.path, "%s", fault.MessageOf(err))
		return
	}
	for _, p := range fe.Problems {
		if len(r.problems) >= maxProblems {
			r.more = true
			return
		}
		r.problems = append(r.problems, p)
	}
}

// An object is a JSON object being read as a record.
type object struct {
	r    *reader
	n    *node
	path string
	// bad holds the fields already reported, whose values validation
	// would only complain about again.
	bad map[string]bool
}

// object returns n as a record with the given fields, reporting any other
// field; nil when n is not an object.
func (r *reader) object(n *node, path, what string, fields ...string) *object {
	if n.kind != kObject {
		r.problem(n.off, path, "%s must be an object, not %s", what, n.kind)
		return nil
	}
	for i, k := range n.keys {
		if !slices.Contains(fields, k) {
			r.problem(n.keyOffs[i], join(path, k), "unknown field %q; %s has the fields %s", k, what, strings.Join(fields, ", "))
		}
	}
	return &object{r: r, n: n, path: path, bad: map[string]bool{}}
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// source returns the record's source, with where each of its fields'
// values start.
func (o *object) source() source {
	s := source{path: o.path, fields: map[string][2]int{}}
	s.line, s.col = o.r.lines.position(o.n.off)
	for i, k := range o.n.keys {
		s.fields[k] = o.r.at(o.n.vals[i].off)
	}
	return s
}

// str returns a string field; a missing required one is a problem.
func (o *object) str(name string, required bool) string {
	v, _ := o.n.field(name)
	switch {
	case v == nil && required:
		o.r.problem(o.n.off, join(o.path, name), "the field %q is missing", name)
	case v == nil:
		return ""
	case v.kind != kString:
		o.r.problem(v.off, join(o.path, name), "must be a string, not %s", v.kind)
	default:
		return v.str
	}
	o.bad[name] = true
	return ""
}

// date returns a date field.
func (o *object) date(name string, required bool) Date {
	v, _ := o.n.field(name)
	s := o.str(name, required)
	if s == "" {
		if v != nil && v.kind == kString && required {
			o.r.problem(v.off, join(o.path, name), "the date is empty")
			o.bad[name] = true
		}
		return Date{}
	}
	d, err := ParseDate(s)
	if err != nil {
		o.r.problem(v.off, join(o.path, name), "%v", err)
		o.bad[name] = true
	}
	return d
}

// array returns an array field's elements, at most max of them.
func (o *object) array(name string, required bool, max int, what string) []*node {
	v, _ := o.n.field(name)
	switch {
	case v == nil && required:
		o.r.problem(o.n.off, join(o.path, name), "the field %q is missing", name)
	case v == nil:
		return nil
	case v.kind != kArray:
		o.r.problem(v.off, join(o.path, name), "must be an array, not %s", v.kind)
	case len(v.vals) > max:
		o.r.problem(v.off, join(o.path, name), "there are %d %s; the limit is %d", len(v.vals), what, max)
	default:
		return v.vals
	}
	o.bad[name] = true
	return nil
}

// check records the problems of a record's fields, but for those already
// reported.
func (o *object) check(src source, errs []error) {
	for _, err := range errs {
		if err != nil && !o.bad[FieldOf(err)] {
			o.r.fromErr(src, err)
		}
	}
}

// Parse reads an exchange file. It checks everything the file alone can
// show — JSON syntax, fields and their types, each record's validity,
// duplicates — and reports every problem with its line, column and field
// in a [*FileError]. Whether owners and components exist, and whether
// each step is allowed, is checked when the file is applied.
func Parse(b []byte) (Exchange, error) {
	var x Exchange
	if len(b) > MaxFileSize {
		return x, &FileError{Problems: []Problem{{Message: fmt.Sprintf("the file is %d bytes; the limit is %d (1 MiB)", len(b), MaxFileSize)}}, code: fault.TooLarge}
	}
	b = withoutBOM(b)
	lines := newLineIndex(b)
	root, serr := readTree(b)
	if serr != nil {
		l, c := lines.position(serr.off)
		return x, &FileError{Problems: []Problem{{Line: l, Column: c, Message: serr.msg}}}
	}
	r := &reader{lines: lines}
	x = r.exchange(root)
	if len(r.problems) > 0 {
		slices.SortStableFunc(r.problems, func(a, b Problem) int { return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column)) })
		return Exchange{}, &FileError{Problems: r.problems, More: r.more}
	}
	return x, nil
}

func (r *reader) exchange(root *node) Exchange {
	var x Exchange
	o := r.object(root, "", "the file", "format", "reports")
	if o == nil {
		return x
	}
	if f := o.str("format", true); f != "" && f != Format {
		v, _ := root.field("format")
		r.problem(v.off, "format", "the format is %q; this program reads %q", f, Format)
	}
	reports := o.array("reports", true, maxReports, "reports")
	if v, _ := root.field("reports"); v != nil && v.kind == kArray && len(v.vals) == 0 {
		r.problem(v.off, "reports", "the file has no reports")
	}
	type key struct {
		issuer Issuer
		number string
	}
	seen := map[key]int{}
	for i, n := range reports {
		rep, ok := r.report(n, fmt.Sprintf("reports[%d]", i))
		if !ok {
			continue
		}
		k := key{rep.Issuer, strings.ToUpper(rep.Number)}
		if first, dup := seen[k]; dup {
			v, _ := n.field("number")
			r.problem(v.off, rep.src.path+".number", "report %s of the %s appears twice in the file (also at line %d)", rep.Number, rep.Issuer.Title(), first)
			continue
		}
		seen[k] = rep.src.line
		x.Reports = append(x.Reports, rep)
	}
	return x
}

func (r *reader) report(n *node, path string) (ExchangeReport, bool) {
	var rep ExchangeReport
	o := r.object(n, path, "a report", "issuer", "number", "title", "issued_on", "url", "recommendations")
	if o == nil {
		return rep, false
	}
	before := len(r.problems)
	rep.src = o.source()
	rep.Issuer = Issuer(o.str("issuer", true))
	rep.Number = o.str("number", true)
	rep.Title = o.str("title", true)
	rep.Issued = o.date("issued_on", true)
	rep.URL = o.str("url", false)
	rep.Normalize()
	o.check(rep.src, rep.problems())
	seen := map[string]int{}
	for i, rn := range o.array("recommendations", false, maxRecsPerReport, "recommendations") {
		rec, ok := r.recommendation(rn, fmt.Sprintf("%s.recommendations[%d]", path, i))
		if !ok {
			continue
		}
		k := strings.ToUpper(rec.Number)
		if first, dup := seen[k]; dup {
			v, _ := rn.field("number")
			r.problem(v.off, rec.src.path+".number", "recommendation %s appears twice in report %s (also at line %d)", rec.Number, rep.Number, first)
			continue
		}
		seen[k] = rec.src.line
		rec.Report = rep.Report
		rep.Recommendations = append(rep.Recommendations, rec)
	}
	return rep, len(r.problems) == before
}

func (r *reader) recommendation(n *node, path string) (ExchangeRecommendation, bool) {
	var rec ExchangeRecommendation
	o := r.object(n, path, "a recommendation", "number", "text", "owner_component", "owner", "target_on", "status", "links", "resolution", "closure")
	if o == nil {
		return rec, false
	}
	before := len(r.problems)
	rec.src = o.source()
	rec.Number = o.str("number", true)
	rec.Text = o.str("text", true)
	rec.OwnerComponent = o.str("owner_component", false)
	rec.Owner = strings.TrimSpace(o.str("owner", true))
	rec.Target = o.date("target_on", false)
	rec.Status = Status(o.str("status", false))
	if rec.Status == "" {
		rec.Status = Open
	}
	rec.Normalize()
	if v, _ := n.field("owner"); v != nil && v.kind == kString && (rec.Owner == "" || len(rec.Owner) > maxEmployeeIDSize) {
		r.problem(v.off, path+".owner", "name the owner by employee ID (up to %d characters)", maxEmployeeIDSize)
	}
	o.check(rec.src, rec.problems())
	if rec.Status.valid() {
		rec.Resolution = r.step(o, "resolution", rec.Status == Resolved || rec.Status == Closed, rec.Status)
		rec.Closure = r.step(o, "closure", rec.Status == Closed, rec.Status)
	}
	type key struct {
		kind LinkKind
		ref  string
	}
	seen := map[key]bool{}
	for i, ln := range o.array("links", false, MaxLinks, "links") {
		lpath := fmt.Sprintf("%s.links[%d]", path, i)
		lo := r.object(ln, lpath, "a link", "kind", "ref", "note")
		if lo == nil {
			continue
		}
		lb := len(r.problems)
		l := ExchangeLink{src: lo.source()}
		l.Kind = LinkKind(lo.str("kind", true))
		l.Ref = lo.str("ref", true)
		l.Note = lo.str("note", false)
		l.Normalize()
		lo.check(l.src, l.problems())
		if len(r.problems) > lb {
			continue
		}
		if seen[key{l.Kind, l.Ref}] {
			v, _ := ln.field("ref")
			r.problem(v.off, lpath+".ref", "the recommendation already links %s %s", l.Kind, l.Ref)
			continue
		}
		seen[key{l.Kind, l.Ref}] = true
		rec.Links = append(rec.Links, l)
	}
	return rec, len(r.problems) == before
}

// step reads a resolution or closure, which must be there when want and
// must not be otherwise.
func (r *reader) step(o *object, name string, want bool, status Status) Step {
	v, koff := o.n.field(name)
	switch {
	case v == nil && want:
		r.problem(o.n.off, join(o.path, name), "%s %s recommendation needs its %s: {\"on\": \"YYYY-MM-DD\", \"note\": \"…\"}", article(string(status)), status, name)
		return Step{}
	case v == nil:
		return Step{}
	case !want:
		r.problem(koff, join(o.path, name), "%s %s recommendation has no %s; remove it or change the status", article(string(status)), status, name)
		return Step{}
	}
	so := r.object(v, join(o.path, name), "the "+name, "on", "note")
	if so == nil {
		return Step{}
	}
	s := Step{On: so.date("on", false), Note: strings.TrimSpace(so.str("note", true))}
	if nv, _ := v.field("note"); nv != nil && nv.kind == kString {
		if err := checkText("note", name+" note", s.Note, MaxNote, true); err != nil {
			r.problem(nv.off, join(o.path, name+".note"), "%s", fault.MessageOf(err))
		}
	}
	return s
}

// article returns "a" or "an" for word.
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// ExchangeOf returns reports and their recommendations (each with its
// owner's employee ID and its links) as an exchange. Recommendations whose
// report is not among reports are left out.
func ExchangeOf(reports []Report, recs []Recommendation) Exchange {
	var x Exchange
	index := map[int64]int{}
	for _, r := range reports {
		index[r.ID] = len(x.Reports)
		x.Reports = append(x.Reports, ExchangeReport{Report: r})
	}
	for _, rec := range recs {
		i, ok := index[rec.ReportID]
		if !ok {
			continue
		}
		er := ExchangeRecommendation{Recommendation: rec, Owner: rec.OwnerEmpID}
		for _, l := range rec.Links {
			er.Links = append(er.Links, ExchangeLink{Link: l})
		}
		er.Recommendation.Links = nil
		x.Reports[i].Recommendations = append(x.Reports[i].Recommendations, er)
	}
	for i := range x.Reports {
		slices.SortStableFunc(x.Reports[i].Recommendations, func(a, b ExchangeRecommendation) int {
			return compareNumbers(a.Number, b.Number)
		})
	}
	return x
}

// compareNumbers orders recommendation numbers as people do: "2" before
// "10", then "2a" after "2".
func compareNumbers(a, b string) int {
	na, ra := leadingInt(a)
	nb, rb := leadingInt(b)
	return cmp.Or(cmp.Compare(na, nb), cmp.Compare(ra, rb))
}

func leadingInt(s string) (int, string) {
	n, i := 0, 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9' && i < 9; i++ {
		n = n*10 + int(s[i]-'0')
	}
	if i == 0 {
		return 1 << 30, s
	}
	return n, s[i:]
}

// The file's shape, for writing.
type (
	fileJSON struct {
		Format  string       `json:"format"`
		Reports []reportJSON `json:"reports"`
	}
	reportJSON struct {
		Issuer          Issuer    `json:"issuer"`
		Number          string    `json:"number"`
		Title           string    `json:"title"`
		IssuedOn        string    `json:"issued_on"`
		URL             string    `json:"url,omitempty"`
		Recommendations []recJSON `json:"recommendations"`
	}
	recJSON struct {
		Number         string     `json:"number"`
		Text           string     `json:"text"`
		OwnerComponent string     `json:"owner_component,omitempty"`
		Owner          string     `json:"owner"`
		TargetOn       string     `json:"target_on,omitempty"`
		Status         Status     `json:"status"`
		Links          []linkJSON `json:"links,omitempty"`
		Resolution     *stepJSON  `json:"resolution,omitempty"`
		Closure        *stepJSON  `json:"closure,omitempty"`
	}
	linkJSON struct {
		Kind LinkKind `json:"kind"`
		Ref  string   `json:"ref"`
		Note string   `json:"note,omitempty"`
	}
	stepJSON struct {
		On   string `json:"on"`
		Note string `json:"note"`
	}
)

func stepOf(s Step) *stepJSON { return &stepJSON{On: s.On.String(), Note: s.Note} }

// Marshal writes x as an exchange file, indented, which [Parse] reads
// back.
func Marshal(x Exchange) ([]byte, error) {
	f := fileJSON{Format: Format, Reports: []reportJSON{}}
	for _, r := range x.Reports {
		rj := reportJSON{Issuer: r.Issuer, Number: r.Number, Title: r.Title, IssuedOn: r.Issued.String(), URL: r.URL, Recommendations: []recJSON{}}
		for _, rec := range r.Recommendations {
			j := recJSON{Number: rec.Number, Text: rec.Text, OwnerComponent: rec.OwnerComponent, Owner: rec.Owner, TargetOn: rec.Target.String(), Status: rec.Status}
			for _, l := range rec.Links {
				j.Links = append(j.Links, linkJSON{Kind: l.Kind, Ref: l.Ref, Note: l.Note})
			}
			if rec.Status == Resolved || rec.Status == Closed {
				j.Resolution = stepOf(rec.Resolution)
			}
			if rec.Status == Closed {
				j.Closure = stepOf(rec.Closure)
			}
			rj.Recommendations = append(rj.Recommendations, j)
		}
		f.Reports = append(f.Reports, rj)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("write exchange file: %w", err)
	}
	return buf.Bytes(), nil
}
