package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
)

// ledgerRoutes are the auditor's ledger explorer: the entries, newest
// first, searched by actor, event type, subject, component and date, as
// a page and as CSV; an entry with its inclusion proof and receipt; and
// verification of the whole ledger on the server and of an entry's proof
// in the browser. They need the permission the API's entries need.
func (w *Web) ledgerRoutes() []Route {
	w.verifications = newVerifications()
	return []Route{
		{Method: "GET", Pattern: "/ledger", Perm: auth.LedgerEntriesRead, Handler: w.ledgerList},
		{Method: "GET", Pattern: "/ledger.csv", Perm: auth.LedgerEntriesRead, Handler: w.ledgerCSV},
		{Method: "GET", Pattern: "/ledger/{index}", Perm: auth.LedgerEntriesRead, Handler: w.ledgerEntry},
		{Method: "GET", Pattern: "/ledger/receipts/{index}", Perm: auth.LedgerEntriesRead, Handler: w.ledgerReceipt},
		{Method: "GET", Pattern: "/ledger/verify", Perm: auth.LedgerEntriesRead, Handler: w.ledgerVerifyPage},
		{Method: "POST", Pattern: "/ledger/verify", Perm: auth.LedgerEntriesRead, Handler: w.ledgerVerifyStart},
		{Method: "GET", Pattern: "/ledger/verify/status", Perm: auth.LedgerEntriesRead, Handler: w.ledgerVerifyStatus},
		{Method: "GET", Pattern: "/ledger/verify/entry", Perm: auth.LedgerEntriesRead, Handler: w.ledgerGoToEntry},
	}
}

// wholeLedger refuses a principal who may read entries only in some
// components: entries record every component's activity, so reading
// them needs a department-wide grant, as in the API.
func wholeLedger(p auth.Principal) error {
	if !p.CanIn(auth.LedgerEntriesRead, "") {
		return fault.New(fault.Forbidden, "ledger entries record every component's activity; reading them needs a department-wide auditor")
	}
	return nil
}

// ledgerPageSize is the number of entries a page of the list shows.
const ledgerPageSize = 50

// A page of a search stops reading when it is full, or when it has read
// ledgerScanBudget entries, or, once it has read ledgerWindow entries,
// when it has taken ledgerScanTime: a search for something rare would
// otherwise read the whole ledger before answering. The page says which
// entries it searched and links on from there.
const (
	ledgerScanBudget = 250_000
	ledgerScanTime   = 50 * time.Millisecond
)

// ledgerWindow is the most records a search reads at a time; it starts
// with a page's worth and doubles while it finds too little.
const ledgerWindow = 2048

// timeSlack widens the range of indexes a date search reads: entries are
// in index order, and their times (each its transaction's start) increase
// with the index but for transactions that overlapped, which are never
// minutes apart. Every entry read is still matched on its own time.
const timeSlack = 2 * time.Minute

// A ledgerFilter is a search of the ledger, as typed into the form.
type ledgerFilter struct {
	Actor, Type, Subject, Component string
	From, To                        string // YYYY-MM-DD (or YYYY-MM-DDTHH:MM), UTC

	// from and to are the parsed bounds, as [ledger.TimeFormat] strings,
	// which sort as the times do: an entry matches when from ≤ time < to.
	from, to string
	// Needles an entry's bytes must contain, in canonical JSON.
	needles [][]byte
}

// maxFilterValue bounds each field of a search, as entries bound theirs.
const maxFilterValue = 512

// parseLedgerFilter reads a search from a query string.
func parseLedgerFilter(q url.Values) (ledgerFilter, *formProblem) {
	f := ledgerFilter{
		Actor: strings.TrimSpace(q.Get("actor")), Type: strings.TrimSpace(q.Get("type")),
		Subject: strings.TrimSpace(q.Get("subject")), Component: strings.TrimSpace(q.Get("component")),
		From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")),
	}
	for _, fv := range []struct{ field, v string }{{"actor", f.Actor}, {"type", f.Type}, {"subject", f.Subject}, {"component", f.Component}, {"from", f.From}, {"to", f.To}} {
		if !utf8.ValidString(fv.v) {
			return f, &formProblem{fv.field, fv.field + ": the text is not valid UTF-8"}
		}
		if len(fv.v) > maxFilterValue {
			return f, &formProblem{fv.field, fmt.Sprintf("%s: at most %d bytes", fv.field, maxFilterValue)}
		}
	}
	when := func(field, v string, end bool) (string, *formProblem) {
		if v == "" {
			return "", nil
		}
		if t, err := time.ParseInLocation("2006-01-02", v, time.UTC); err == nil {
			if end {
				t = t.AddDate(0, 0, 1)
			}
			return t.Format(ledger.TimeFormat), nil
		}
		if t, err := time.ParseInLocation(dateTimeLocal, v, time.UTC); err == nil {
			if end {
				t = t.Add(time.Minute)
			}
			return t.Format(ledger.TimeFormat), nil
		}
		return "", &formProblem{field, fmt.Sprintf("%s: %q is not a date; give it as YYYY-MM-DD (UTC)", field, clipValue(v))}
	}
	var bad *formProblem
	if f.from, bad = when("from", f.From, false); bad != nil {
		return f, bad
	}
	if f.to, bad = when("to", f.To, true); bad != nil {
		return f, bad
	}
	if f.from != "" && f.to != "" && f.from >= f.to {
		return f, &formProblem{"to", "to: the end date is before the start date"}
	}
	for _, s := range []string{f.Actor, f.Component, f.Subject} {
		if s != "" {
			f.needles = append(f.needles, canonicalText(s))
		}
	}
	if f.Type != "" {
		f.needles = append(f.needles, canonicalText(f.Type))
	}
	return f, nil
}

// canonicalText returns s as it appears inside a string of an entry's
// canonical JSON (RFC 8785): escaping is character by character, so s
// is in a string exactly when its escaped form is in the escaped string.
func canonicalText(s string) []byte {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, fmt.Sprintf(`\u%04x`, c)...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// filtered reports whether the search looks at entries' contents.
func (f ledgerFilter) filtered() bool {
	return f.Actor != "" || f.Type != "" || f.Subject != "" || f.Component != "" || f.from != "" || f.to != ""
}

// values returns the search as a query string's values.
func (f ledgerFilter) values() url.Values {
	v := url.Values{}
	for _, kv := range [][2]string{{"actor", f.Actor}, {"type", f.Type}, {"subject", f.Subject}, {"component", f.Component}, {"from", f.From}, {"to", f.To}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	return v
}

// candidate reports whether an entry's bytes may match: a quick test
// before decoding, which never refuses an entry that matches. An entry
// with \u escapes may write a character another way than canonical JSON
// does, so it is always decoded.
func (f ledgerFilter) candidate(raw []byte) bool {
	if bytes.Contains(raw, []byte(`\u`)) {
		return true
	}
	for _, n := range f.needles {
		if !bytes.Contains(raw, n) {
			return false
		}
	}
	return true
}

// match reports whether an entry matches: the actor's ID and the
// component exactly, the subject containing the text, the type exactly
// or as a dotted prefix ("query" finds "query.run"), the time in range.
func (f ledgerFilter) match(en ledger.Entry) bool {
	switch {
	case f.Actor != "" && en.Actor.ID != f.Actor,
		f.Component != "" && en.Component != f.Component,
		f.Subject != "" && !strings.Contains(en.Subject, f.Subject),
		f.Type != "" && en.Type != f.Type && !strings.HasPrefix(en.Type, strings.TrimSuffix(f.Type, ".")+"."),
		f.from != "" && en.Time < f.from,
		f.to != "" && en.Time >= f.to:
		return false
	}
	return true
}

// A ledgerHit is an entry a search found, or a record that does not
// decode (shown only when nothing is searched for: it matches nothing).
type ledgerHit struct {
	index int64
	raw   []byte
	entry ledger.Entry
	bad   error
}

// A ledgerSearch is one page of a search: the hits in index order and
// the range of indexes it read, [lo, hi).
type ledgerSearch struct {
	hits   []ledgerHit
	lo, hi int64
	// more reports whether there may be matches beyond what was read in
	// the direction of the search.
	more bool
}

// bounds returns the range of indexes a search may find entries in:
// from the date range, found by binary search on the entries' times.
func (w *Web) bounds(ctx context.Context, f ledgerFilter, size int64) (int64, int64, error) {
	lo, hi := int64(0), size
	var err error
	if f.from != "" {
		t, _ := time.Parse(ledger.TimeFormat, f.from)
		if lo, err = w.firstAtOrAfter(ctx, 0, size, t.Add(-timeSlack).Format(ledger.TimeFormat)); err != nil {
			return 0, 0, err
		}
	}
	if f.to != "" {
		t, _ := time.Parse(ledger.TimeFormat, f.to)
		if hi, err = w.firstAtOrAfter(ctx, lo, size, t.Add(timeSlack).Format(ledger.TimeFormat)); err != nil {
			return 0, 0, err
		}
	}
	return lo, hi, nil
}

// firstAtOrAfter returns the first index in [lo, hi) whose entry's time
// is at or after t, or hi.
func (w *Web) firstAtOrAfter(ctx context.Context, lo, hi int64, t string) (int64, error) {
	for lo < hi {
		mid := lo + (hi-lo)/2
		raw, err := w.deps.Ledger.Entry(ctx, mid)
		if err != nil {
			return 0, err
		}
		en, err := ledger.Decode(raw)
		if err != nil {
			return 0, fault.Wrap(err, fault.Tampered, "ledger entry %d does not decode, so entries cannot be found by date; verify the ledger", mid)
		}
		if en.Time < t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// search reads one page of entries matching f in [lo, hi): newest first
// from hi or, ascending, oldest first from lo. It stops when the page is
// full, when it has read budget entries, or when it is past deadline
// (but never before reading a first full window, so that small ledgers
// page the same whatever the machine's load). The result's [lo, hi) is
// the range it covered.
func (w *Web) search(ctx context.Context, f ledgerFilter, lo, hi int64, ascending bool, limit int, budget int64, deadline time.Time) (ledgerSearch, error) {
	var s ledgerSearch
	window := int64(limit)
	// pos is where reading goes on: newest first, [pos, hi) is covered;
	// oldest first, [lo, pos).
	pos := hi
	if ascending {
		pos = lo
	}
	for read := int64(0); len(s.hits) < limit && read < budget; {
		if read >= ledgerWindow && !deadline.IsZero() && time.Now().After(deadline) {
			break
		}
		n := min(window, budget-read)
		var from, to int64
		if ascending {
			if pos >= hi {
				break
			}
			from, to = pos, min(hi, pos+n)
		} else {
			if pos <= lo {
				break
			}
			from, to = max(lo, pos-n), pos
		}
		found, err := w.readHits(ctx, f, from, to)
		if err != nil {
			return s, err
		}
		read += to - from
		window = min(2*window, ledgerWindow)
		if ascending {
			pos = to
			for _, h := range found {
				if len(s.hits) == limit {
					pos = h.index
					break
				}
				s.hits = append(s.hits, h)
			}
		} else {
			pos = from
			for i := len(found) - 1; i >= 0; i-- {
				if len(s.hits) == limit {
					pos = found[i].index + 1
					break
				}
				s.hits = append(s.hits, found[i])
			}
		}
	}
	if ascending {
		s.lo, s.hi, s.more = lo, pos, pos < hi
	} else {
		s.lo, s.hi, s.more = pos, hi, pos > lo
	}
	return s, nil
}

// readHits returns the entries in [from, to) that match f, in index
// order.
func (w *Web) readHits(ctx context.Context, f ledgerFilter, from, to int64) ([]ledgerHit, error) {
	var found []ledgerHit
	next := from
	for r, err := range w.deps.Ledger.Rows(ctx, from, to) {
		if err != nil {
			return nil, err
		}
		if r.Index != next {
			break
		}
		next++
		if f.filtered() && !f.candidate(r.Entry) {
			continue
		}
		en, err := ledger.Decode(r.Entry)
		switch {
		case err != nil && !f.filtered():
			found = append(found, ledgerHit{index: r.Index, raw: r.Entry, bad: err})
		case err == nil && f.match(en):
			found = append(found, ledgerHit{index: r.Index, raw: r.Entry, entry: en})
		}
	}
	if next != to {
		return nil, fault.New(fault.Tampered, "ledger entry %d is missing from the database; verify the ledger", next)
	}
	return found, nil
}

// The list.

type ledgerRow struct {
	Index                                 int64
	Time, Type, Actor, Component, Subject string
	Problem                               string
}

type ledgerListData struct {
	ledgerFilter
	Size           int64
	CheckpointSize int64
	Signed         bool
	Rows           []ledgerRow
	// Problem is why the search was not run; Field the field it is about.
	Problem, Field string
	// Newer and Older link to the neighbouring pages; Newest to the first.
	Newer, Older, Newest string
	// Searched says which entries a search read, when it did not find a
	// full page.
	Searched string
	CSV      string
	Filtered bool
}

// Bad reports whether the problem is about the field with this id.
func (d ledgerListData) Bad(field string) bool { return d.Problem != "" && d.Field == field }

// cursor reads a page's position: before (newest first, below that
// index) or after (above it).
func cursor(q url.Values, name string) (int64, bool, error) {
	s := q.Get(name)
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false, fault.New(fault.Invalid, "%s must be an entry number, not %q", name, clipValue(s))
	}
	return n, true, nil
}

func (w *Web) ledgerList(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := wholeLedger(p); err != nil {
		return err
	}
	ctx := r.Context()
	q := r.URL.Query()
	f, bad := parseLedgerFilter(q)
	d := ledgerListData{ledgerFilter: f, Filtered: f.filtered()}
	size, err := w.deps.Ledger.Size(ctx)
	if err != nil {
		return err
	}
	d.Size = size
	if cp, msg, err := w.deps.Ledger.Latest(ctx); err == nil {
		d.CheckpointSize, d.Signed = cp.Size, msg != nil
	} else if !fault.Is(err, fault.NotFound) {
		return err
	}
	page := func(status int) error {
		return w.render(rw, status, "ledger", view{Title: "Ledger", Person: w.person(r, p), Data: d})
	}
	if bad != nil {
		d.Problem, d.Field = bad.msg, bad.field
		return page(http.StatusBadRequest)
	}
	before, hasBefore, err := cursor(q, "before")
	if err != nil {
		return err
	}
	after, hasAfter, err := cursor(q, "after")
	if err != nil {
		return err
	}
	boundLo, boundHi, err := w.bounds(ctx, f, size)
	if err != nil {
		return err
	}
	lo, hi, ascending := boundLo, boundHi, false
	switch {
	case hasBefore:
		hi = min(hi, before)
	case hasAfter:
		lo, ascending = max(lo, min(after, size)+1), true
	}
	hi = max(hi, lo)
	s, err := w.search(ctx, f, lo, hi, ascending, ledgerPageSize, ledgerScanBudget, time.Now().Add(ledgerScanTime))
	if err != nil {
		return err
	}
	if ascending {
		slices.Reverse(s.hits)
	}
	for _, h := range s.hits {
		d.Rows = append(d.Rows, rowOf(h))
	}
	link := func(name string, n int64) string {
		v := f.values()
		v.Set(name, strconv.FormatInt(n, 10))
		return "/ledger?" + v.Encode()
	}
	if s.hi < boundHi {
		d.Newer = link("after", s.hi-1)
		d.Newest = "/ledger"
		if v := f.values().Encode(); v != "" {
			d.Newest += "?" + v
		}
	}
	if s.lo > boundLo {
		d.Older = link("before", s.lo)
	}
	if f.filtered() && len(d.Rows) < ledgerPageSize && s.hi > s.lo {
		d.Searched = fmt.Sprintf("Searched entries %d to %d.", s.lo, s.hi-1)
	}
	csv := "/ledger.csv"
	if v := f.values().Encode(); v != "" {
		csv += "?" + v
	}
	d.CSV = csv
	return page(http.StatusOK)
}

func rowOf(h ledgerHit) ledgerRow {
	if h.bad != nil {
		return ledgerRow{Index: h.index, Problem: "this entry does not decode: verify the ledger"}
	}
	en := h.entry
	return ledgerRow{Index: h.index, Time: entryTime(en.Time), Type: en.Type, Actor: actorText(en.Actor), Component: en.Component, Subject: en.Subject}
}

func actorText(a ledger.Actor) string {
	if a.Kind == ledger.ActorUser {
		return a.ID
	}
	return a.ID + " (" + a.Kind + ")"
}

// entryTime shows an entry's time to the second.
func entryTime(s string) string {
	t, err := time.Parse(ledger.TimeFormat, s)
	if err != nil {
		return s
	}
	return timeText(t)
}

// An entry.

type dataItem struct {
	Key, Value string
	Block      bool // a nested value, shown as indented JSON
}

type ledgerEntryData struct {
	Index                            int64
	Raw                              string // the canonical JSON, exactly as hashed
	Problem                          string // why the entry does not decode
	Type, Actor, ActorKind, ActorID  string
	Component, Subject, Time, Digest string
	Data                             []dataItem
	RecordHash, RecordHashHex        string
	TreeSize                         int64
	Root, Origin, Note               string
	Proof                            []string
	Keys                             []string
	ActorLink, SubjectLink, TypeLink string
}

func ledgerIndex(r *http.Request) (int64, error) {
	s := r.PathValue("index")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fault.New(fault.NotFound, "there is no ledger entry %q", clipValue(s))
	}
	return n, nil
}

// proved returns an entry with its inclusion proof against the latest
// signed checkpoint, publishing one first when none covers the entry, as
// the API does.
func (w *Web) proved(ctx context.Context, index int64) (ledger.Receipt, ledger.Checkpoint, error) {
	raw, err := w.deps.Ledger.Entry(ctx, index)
	if err != nil {
		return ledger.Receipt{}, ledger.Checkpoint{}, err
	}
	cp, msg, err := w.deps.Ledger.Latest(ctx)
	if (err != nil && fault.Is(err, fault.NotFound)) || (err == nil && cp.Size <= index) {
		cp, msg, err = w.deps.Ledger.Publish(ctx)
	}
	if err != nil {
		return ledger.Receipt{}, cp, err
	}
	proof, err := w.deps.Ledger.InclusionProof(ctx, index, cp.Size)
	if err != nil {
		return ledger.Receipt{}, cp, err
	}
	return ledger.Receipt{Index: index, Entry: raw, Checkpoint: string(msg), Proof: proof}, cp, nil
}

func (w *Web) ledgerEntry(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := wholeLedger(p); err != nil {
		return err
	}
	index, err := ledgerIndex(r)
	if err != nil {
		return err
	}
	rc, cp, err := w.proved(r.Context(), index)
	if err != nil {
		return err
	}
	h := tlog.RecordHash(rc.Entry)
	d := ledgerEntryData{Index: index, Raw: string(rc.Entry), RecordHash: base64.StdEncoding.EncodeToString(h[:]), RecordHashHex: hex.EncodeToString(h[:]),
		TreeSize: cp.Size, Root: base64.StdEncoding.EncodeToString(cp.Hash[:]), Origin: cp.Origin, Note: rc.Checkpoint, Keys: w.deps.Ledger.KnownKeys()}
	for _, x := range rc.Proof {
		d.Proof = append(d.Proof, base64.StdEncoding.EncodeToString(x[:]))
	}
	en, err := ledger.Decode(rc.Entry)
	if err != nil {
		d.Problem = err.Error()
	} else {
		d.Type, d.ActorKind, d.ActorID, d.Component, d.Subject, d.Time, d.Digest = en.Type, en.Actor.Kind, en.Actor.ID, en.Component, en.Subject, en.Time, en.Digest
		d.Actor = actorText(en.Actor)
		d.Data = dataItems(en.Data)
		d.ActorLink = "/ledger?" + url.Values{"actor": {en.Actor.ID}}.Encode()
		d.TypeLink = "/ledger?" + url.Values{"type": {en.Type}}.Encode()
		if en.Subject != "" {
			d.SubjectLink = "/ledger?" + url.Values{"subject": {en.Subject}}.Encode()
		}
	}
	return w.render(rw, http.StatusOK, "ledger_entry", view{Title: fmt.Sprintf("Ledger entry %d", index), Person: w.person(r, p), Data: d})
}

// dataItems lists an entry's data attributes by name: scalars as text,
// arrays and objects as indented JSON.
func dataItems(data map[string]any) []dataItem {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	items := make([]dataItem, 0, len(keys))
	for _, k := range keys {
		switch v := data[k].(type) {
		case string:
			items = append(items, dataItem{Key: k, Value: v})
		case json.Number:
			items = append(items, dataItem{Key: k, Value: v.String()})
		case bool:
			items = append(items, dataItem{Key: k, Value: strconv.FormatBool(v)})
		case nil:
			items = append(items, dataItem{Key: k, Value: "null"})
		default:
			b, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				b = []byte(fmt.Sprint(v))
			}
			items = append(items, dataItem{Key: k, Value: string(b), Block: true})
		}
	}
	return items
}

// ledgerGoToEntry sends the form that asks for an entry by number to
// the entry's page.
func (w *Web) ledgerGoToEntry(rw http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	s := strings.TrimSpace(r.URL.Query().Get("index"))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return fault.New(fault.Invalid, "%q is not an entry number: give a whole number, 0 or more", clipValue(s))
	}
	http.Redirect(rw, r, "/ledger/"+strconv.FormatInt(n, 10), http.StatusSeeOther)
	return nil
}

// ledgerReceipt serves an entry's receipt, the file `probity ledger
// verify -receipt` checks.
func (w *Web) ledgerReceipt(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := wholeLedger(p); err != nil {
		return err
	}
	index, err := ledgerIndex(r)
	if err != nil {
		return err
	}
	rc, _, err := w.proved(r.Context(), index)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(rc, "", "  ")
	if err != nil {
		return fmt.Errorf("encode receipt: %w", err)
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="probity-ledger-%d-receipt.json"`, index))
	_, err = rw.Write(append(b, '\n'))
	return err
}
